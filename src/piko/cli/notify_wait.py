"""The PermissionRequest (and Elicitation) hook waiting for the person's decision, for `piko cc notify`.

Loaded only when a PermissionRequest or an Elicitation created a request. The hook then holds the agent's dialog open on
its side: it long-polls `POST /api/orchestra/notifications/{id}/wait` with the request's wait key (given to
it alone, in the notify answer), reads a heartbeat line about every 2 s, then one JSON line; it reconnects
while the server restarts, and gives up at a deadline. It watches the agent that started it the whole time,
so no hook is ever left behind when the agent goes.
"""

from __future__ import annotations

import posix  # not os: see lightos.py
import time

from piko import config, fastjson, lightos
from piko.client import ApiError, Client, Unreachable

TYPE_CHECKING = False  # not `from typing import ...`: typing imports re, which the hook cannot afford
if TYPE_CHECKING:
    from typing import Any

WAIT_SECONDS_DEFAULT = 3600.0
READ_TIMEOUT = 3.0  # the server sends a heartbeat line every ~2 s; silence longer than this = gone
CONNECT_TIMEOUT = 1.0
RETRY_PAUSE = 0.5

DECIDED, RESOLVED, AGENT_GONE, DEADLINE = "decided", "resolved", "the agent is gone", "deadline reached"


class ParentWatch:
    """Is the agent that started this hook still there? Its parent (the pid seen at start), and
    `$CLAUDE_PID` when Claude Code set it (the parent may be a shell that outlives it)."""

    def __init__(self, ppid: int) -> None:
        self.ppid = ppid
        claude = lightos.getenv("CLAUDE_PID") or ""
        self.claude_pid = int(claude) if claude.isdigit() else 0
        # Claude Code starts a hook through `sh -c`, a shell that outlives a killed Claude while it
        # waits for the hook: the shell's own parent (Claude) is watched too.
        self.grandparent = parent_of(ppid) if ppid > 1 else 0

    def alive(self) -> bool:
        if self.ppid == 1 and not self.claude_pid:
            return False  # orphaned before it even started: there is no agent to wait for
        if self.ppid > 1 and posix.getppid() != self.ppid:
            return False  # the parent died and this process was re-parented
        if self.grandparent > 1 and parent_of(self.ppid) not in (self.grandparent, 0):
            return False  # the parent's parent (Claude, above its `sh -c`) died
        for pid in (self.ppid, self.claude_pid):
            if pid > 1:
                try:
                    posix.kill(pid, 0)
                except ProcessLookupError:
                    return False
                except OSError:
                    pass  # exists, but is not ours to signal
        return True


def parent_of(pid: int) -> int:
    """The parent pid of `pid` from /proc; 0 when it cannot be read (no /proc, or no such process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def wait_seconds() -> float:
    """`$PIKO_HOOK_WAIT_SECONDS`, default 3600 (the PermissionRequest hook's timeout in settings)."""
    try:
        value = lightos.getenv("PIKO_HOOK_WAIT_SECONDS")
        return WAIT_SECONDS_DEFAULT if value is None else float(value)
    except ValueError:
        return WAIT_SECONDS_DEFAULT


def wait_for_decision(client: Client, request_id: str, wait_key: str, parent: ParentWatch,
                      home: str) -> tuple[str, dict[str, Any] | None]:
    """Wait until the request is decided or resolved; returns (outcome, the hook's output or None).

    Only a decision has an output; every other outcome means: end silently, and leave Claude Code's own
    dialog in charge.
    """
    deadline = time.monotonic() + wait_seconds()
    path = f"/api/orchestra/notifications/{request_id}/wait"
    while True:
        if not parent.alive():
            return AGENT_GONE, None
        if time.monotonic() >= deadline:
            return DEADLINE, None
        try:
            result = follow(client, path, wait_key, parent, deadline)
        except Unreachable:
            result = None
        except ApiError as e:
            if e.status == 401:
                client.token = config.read_token(home)  # the server may have made a new token
                result = None
            elif e.status < 500:
                return f"stopped waiting ({e.status} {e.code}: {e.message})", None
            else:
                result = None
        if result is not None:
            return result
        time.sleep(RETRY_PAUSE)


def follow(client: Client, path: str, wait_key: str, parent: ParentWatch,
           deadline: float) -> tuple[str, dict[str, Any] | None] | None:
    """Read one /wait answer. Returns (outcome, output) when it ended the wait, None to connect again."""
    for line in client.stream_lines("POST", path, {"wait_key": wait_key}, read_timeout=READ_TIMEOUT,
                                    connect_timeout=CONNECT_TIMEOUT):
        if not parent.alive():
            return AGENT_GONE, None
        if time.monotonic() >= deadline:
            return DEADLINE, None
        if not line.strip():
            continue  # heartbeat
        try:
            message = fastjson.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        if message.get("status") == DECIDED and isinstance(message.get("output"), dict):
            return DECIDED, message["output"]
        if message.get("status") == RESOLVED:
            return RESOLVED, None
    return None  # the answer ended without a final line: the server is restarting
