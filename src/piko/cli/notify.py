"""`piko cc notify`: the Claude Code hook. Reads one hook event on stdin and posts it to the server.

It runs inside the agent on every event, so it must never hurt it: it exits 0 whatever happens, within
about a second, and prints nothing on stdout (stdout is the hook's answer to Claude Code). What goes wrong
is written to `$PIKO_HOME/notify.log` (owner-only). When the server cannot be reached the event is spooled
under `$PIKO_HOME/spool/`, and the server ingests it when it starts: nothing is lost.

One exception to "prints nothing": for a `PermissionRequest` or an `Elicitation` (an MCP server asks the
person for input) that created a request, the hook stays and waits for the person's decision, then prints
it as the hook's JSON answer (notify_wait.py).

Start-up time matters (this runs on every event): standard library and piko's light modules only, and
even of those nothing that imports `re`, `enum` or `typing`; what only some runs need (the spool, the
tmux lookup in notify_tmux.py, the wait) is imported when needed. The tests check the module list.
"""

from __future__ import annotations

import posix  # not os: see lightos.py
import sys
import time

from piko import config, fastjson, lightos
from piko.client import Client, Unreachable

TYPE_CHECKING = False  # not `from typing import ...`: typing imports re, which the hook cannot afford
if TYPE_CHECKING:
    from typing import Any

STDIN_TIMEOUT = 0.25  # Claude writes the event and closes stdin at once; a stdin left open is not waited on
POST_BUDGET = 0.9  # from start to the server's answer; then spool, so the whole run stays about a second
MAX_STDIN = 8 * 1024 * 1024

WAIT_EVENTS = ("PermissionRequest", "Elicitation")  # their hook waits for the person's answer

# Events the server only uses to resolve a session's request (by session id): they run around every tool
# call, so they skip the one costly lookup (asking tmux for the session's name, a few milliseconds).
NO_TMUX_LOOKUP = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "UserPromptSubmit", "SessionEnd",
                            "ElicitationResult"})

LOG_FILE = config.LOG_FILE
LOG_MAX_BYTES = 1024 * 1024

USAGE = """usage: piko cc notify [--no-wait] [--debug]

The Claude Code hook (`piko cc init` installs it). Reads one hook event as JSON on stdin and posts it to
the Orchestra server ($PIKO_URL); spools it under $PIKO_HOME when the server is down. Always exits 0.

  --no-wait  never wait for a person's decision on a PermissionRequest or an Elicitation
  --debug    log every event, with its tool_input, to $PIKO_HOME/notify.log (also PIKO_DEBUG=1)
"""


def main(args: list[str]) -> int:
    """Run the hook. Always returns 0: a failing hook would show as an error in the agent."""
    started = time.monotonic()
    stamp = time.time_ns()
    ppid = posix.getppid()  # now, before the agent has any chance to go (see notify_wait.ParentWatch)
    if "-h" in args or "--help" in args:
        sys.stderr.write(USAGE)
        return 0
    debug = "--debug" in args or (lightos.getenv("PIKO_DEBUG") or "") not in ("", "0")
    hook = Hook(config.home_dir(), ppid, debug=debug, wait="--no-wait" not in args)
    try:
        hook.run(started, stamp)
    except config.UnsafeHome:
        pass  # a state folder others can change: nothing is read, written or said (not even a log line)
    except BaseException as e:  # noqa: BLE001 - nothing may escape into the agent
        try:
            hook.log(f"internal error: {type(e).__name__}: {e}")
        except BaseException:  # noqa: BLE001
            pass
    return 0


class Hook:
    """One run of the hook: the event, and what became of it (for the log)."""

    def __init__(self, home: str, ppid: int, *, debug: bool, wait: bool) -> None:
        self.home = home
        self.ppid = ppid
        self.debug = debug
        self.wait = wait
        self.event = "-"
        self.session = "-"
        self.tool_input: Any = None

    def run(self, started: float, stamp: int) -> None:
        config.check_home(self.home)  # before the token is read or anything is written
        raw = read_stdin(STDIN_TIMEOUT)
        if not raw.strip():
            self.log("empty stdin: nothing to send")
            return
        try:
            payload = fastjson.loads(raw)
        except ValueError as e:
            kept = self.keep(raw, stamp, rejected=f"malformed stdin ({e})")
            self.log(f"malformed stdin ({e}): nothing sent; kept in {kept}")
            return
        if not isinstance(payload, dict):
            kept = self.keep(raw, stamp, rejected="stdin is JSON but not an object")
            self.log(f"stdin is JSON but not an object: nothing sent; kept in {kept}")
            return
        self.event = str(payload.get("hook_event_name") or "-")
        place = locate(payload, lightos.environ(), ask_tmux=self.event not in NO_TMUX_LOOKUP)
        body = {**payload, **{k: v for k, v in place.items() if v is not None}}
        if not body.get("session_id") and lightos.getenv("CLAUDE_CODE_SESSION_ID"):
            body["session_id"] = lightos.getenv("CLAUDE_CODE_SESSION_ID")
        self.session = str(body.get("session_id") or "-")
        self.tool_input = payload.get("tool_input")
        # The idempotency key: the server ingests the event once, even if it is posted and then spooled.
        body[config.EVENT_KEY_FIELD] = f"{stamp:x}-{posix.getpid():x}-{posix.urandom(6).hex()}"
        data = fastjson.dumps(body).encode()

        budget = POST_BUDGET - (time.monotonic() - started)
        try:
            client = Client(home=self.home)
            response = client.request("POST", "/api/orchestra/notify", data, timeout=max(budget, 0.05))
        except (Unreachable, ValueError) as e:
            kept = self.keep(data, stamp)
            self.log(f"server unreachable ({e}): spooled {kept}")
            return
        if response.status in (400, 413):  # the event itself is refused: it would be refused again
            error = response.error()
            reason = f"refused by the server ({response.status} {error.code}: {error.message})"
            kept = self.keep(data, stamp, rejected=reason)
            self.log(f"{reason}; kept in {kept}")
            return
        if response.status >= 300:  # bad token, wrong host, server error: kept for the next start
            kept = self.keep(data, stamp)
            error = response.error()
            self.log(f"server answered {response.status} {error.code}: {error.message}; spooled {kept}")
            return
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        action = answer.get("action") if isinstance(answer, dict) else None
        request_id = answer.get("id") if isinstance(answer, dict) else None
        wait_key = answer.get("wait_key") if isinstance(answer, dict) else None
        if self.debug:
            self.log(f"posted: {action} {request_id or ''}".rstrip())
        if (self.wait and self.event in WAIT_EVENTS and action == "created"
                and isinstance(request_id, str) and request_id and isinstance(wait_key, str) and wait_key):
            self.wait_for_decision(client, request_id, wait_key)

    def keep(self, data: bytes, stamp: int, *, rejected: str | None = None) -> str:
        """Spool the event (or set it aside in spool/rejected/ with the reason `rejected`), keeping the
        spool under its caps. The spool module is loaded only here: most runs never need it."""
        from piko import spool

        kept = spool.write_bytes(self.home, data, rejected=rejected is not None, stamp_ns=stamp, reason=rejected)
        for line in spool.enforce_caps(self.home):
            self.log(line)
        return kept

    def wait_for_decision(self, client: Client, request_id: str, wait_key: str) -> None:
        """Hold the PermissionRequest (or Elicitation) hook open until the person decides (printed: the hook's answer to
        Claude Code) or the request is resolved another way (nothing printed)."""
        from piko.cli import notify_wait

        parent = notify_wait.ParentWatch(self.ppid)
        outcome, output = notify_wait.wait_for_decision(client, request_id, wait_key, parent, self.home)
        if output is not None:
            sys.stdout.write(fastjson.dumps(output) + "\n")
            sys.stdout.flush()
        if self.debug or (output is None and outcome not in (notify_wait.RESOLVED, notify_wait.AGENT_GONE)):
            self.log(f"waited for {request_id}: {outcome}")

    # ---- the log ---------------------------------------------------------------------------------

    def log(self, outcome: str) -> None:
        """One line in $PIKO_HOME/notify.log: time, event, session, outcome (tool_input only in debug)."""
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {self.event} session={self.session} {outcome}"
        if self.debug and self.tool_input is not None:
            line += f" tool_input={fastjson.dumps(self.tool_input)}"
        write_log(self.home, line.replace("\n", " ") + "\n")


def write_log(home: str, line: str) -> None:
    """Append to the log, owner-only (0600 in a 0700 folder); keep one older file past 1 MiB. A link or
    a file not ours is never followed or written (config.UnsafeHome)."""
    path = lightos.join(config.ensure_home_dir(home), LOG_FILE)
    try:
        if posix.lstat(path).st_size > LOG_MAX_BYTES:
            posix.replace(path, path + ".1")  # renames the entry itself: a link there is not followed
    except OSError:
        pass
    fd = config.open_private(path, posix.O_WRONLY | posix.O_APPEND | posix.O_CREAT)
    try:
        posix.write(fd, line.encode("utf-8", "replace"))
    finally:
        posix.close(fd)


# ---- reading the event ---------------------------------------------------------------------------

def read_stdin(timeout: float) -> bytes:
    """All of stdin, or what arrived within `timeout` (a terminal or a pipe left open is not waited on).

    Claude Code has written the event long before Python has started, so stdin is read without blocking
    and `select` (a module to load) is used only when the writer is slower than that.
    """
    try:
        if posix.isatty(0):
            return b""
        posix.set_blocking(0, False)
    except OSError:
        return b""
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + timeout
    try:
        while size < MAX_STDIN:
            try:
                data = posix.read(0, 65536)
            except BlockingIOError:
                import select

                wait = deadline - time.monotonic()
                if wait <= 0 or not select.select([0], [], [], wait)[0]:
                    break
                continue
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
            size += len(data)
    finally:
        try:
            posix.set_blocking(0, True)
        except OSError:
            pass
    return b"".join(chunks)


# ---- where the event came from -------------------------------------------------------------------

WORKTREES = "/.piko/worktrees/"


def locate(payload: dict[str, Any], environ: Any, *, ask_tmux: bool = True) -> dict[str, Any]:
    """project_name, env_name (and which of them were given: names_given) and the tmux pane (target,
    socket, session) of the agent.

    Without `ask_tmux` only what the environment tells is used: no session name, and no pane when
    `$TMUX_PANE` is missing.
    """
    cwd = payload.get("cwd")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        try:
            cwd = posix.getcwd()
        except OSError:
            cwd = "/"
    project = name_of(environ.get("PIKO_PROJECT") or "") or None
    env_name = environ.get("PIKO_ENV_NAME") or None
    # The names the person gave win over any Piko finds (the server is told, for the session it names).
    given = [name for name, value in (("project", project), ("env", env_name)) if value]
    if not (project and env_name):
        found = worktree_of(cwd)
        if found:
            project, env_name = project or found[0], env_name or found[1]
    tmux_env = environ.get("TMUX") or None
    pane = environ.get("TMUX_PANE") or None
    session = None
    if tmux_env and ask_tmux and not pane:
        # With $TMUX_PANE the server asks tmux for the session name itself, off the hook's clock.
        from piko.cli.notify_tmux import tmux_pane_session

        pane, session = tmux_pane_session(tmux_env.split(",", 1)[0])
        if session:
            from piko import names

            piko_names = names.from_session(session)
            if piko_names:  # a session Piko named piko/<project>/<env>
                project, env_name = project if "project" in given else piko_names[0], \
                    env_name if "env" in given else piko_names[1]
    return {
        # Outside git, the folder Claude was started in names the project (it is what the person
        # calls it), rather than no name at all.
        "project_name": project or git_root_name(cwd)
        or name_of(environ.get("CLAUDE_PROJECT_DIR") or cwd) or None,
        "env_name": env_name or session,
        "tmux_session": session,
        "tmux_target": pane,
        "tmux_socket": tmux_env,
        "names_given": given or None,
    }


def name_of(value: str) -> str:
    """A project given as a path is named by its last part."""
    return lightos.basename(value.rstrip("/")) if "/" in value else value


def worktree_of(cwd: str) -> tuple[str, str] | None:
    """(project, env) for a cwd under `<project>/.piko/worktrees/<env>/`."""
    i = cwd.find(WORKTREES)
    if i <= 0:
        return None
    project = lightos.basename(cwd[:i])
    env = cwd[i + len(WORKTREES):].split("/", 1)[0]
    return (project, env) if project and env else None


def git_root(cwd: str) -> str | None:
    """The git work tree holding `cwd` (found by its `.git`, without running git), or None."""
    path = lightos.abspath(cwd)
    while True:
        if lightos.exists(lightos.join(path, ".git")):
            return path
        parent = lightos.dirname(path)
        if parent == path:
            return None
        path = parent


def git_root_name(cwd: str) -> str | None:
    root = git_root(cwd)
    return (lightos.basename(root) or None) if root else None
