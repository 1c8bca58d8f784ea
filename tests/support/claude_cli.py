"""Run the real Claude Code CLI inside tmux (private socket, private HOME) for tests.

Typical use::

    from tests.support.claude_cli import ClaudeSession, require_claude
    from tests.support.fake_anthropic import FakeAnthropic

    binary = require_claude()                       # skips (or raises under PIKO_REQUIRE_CLAUDE=1)
    with FakeAnthropic() as api, ClaudeSession(project_dir, api.url, binary=binary) as cc:
        cc.wait_ready()
        cc.type_prompt("please [bash:touch /tmp/x] now")
        cc.wait_for("Do you want to proceed?")
        cc.choose("1")

The binary is the one ``scripts/install-claude-code.sh`` puts in
``${PIKO_CACHE_DIR:-$HOME/.cache/piko}/claude-code/<version>/node_modules/.bin/claude``
(version: ``$CLAUDE_CODE_VERSION``, default 2.1.328). ``$PIKO_CLAUDE_BIN`` overrides the path.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from re import Pattern
from typing import Any

DEFAULT_VERSION = "2.1.328"
DEFAULT_API_KEY = "sk-ant-api03-piko-test-key-0123456789abcdefghijklmnopqrstuvwxyz"

# The idle input box: an empty "❯" line (dialog options are indented: " ❯ 1. Yes") plus the footer.
READY_RE = re.compile(r"(?m)^❯\s*$")
READY_FOOTER = "for shortcuts"
PERMISSION_DIALOG = "Do you want to proceed?"
# Keys sent sooner than this after a dialog is drawn are dropped by Claude Code 2.1.328 (observed
# ~0.1-0.15 s); choose() waits this long after the dialog is visible before pressing.
DIALOG_SETTLE_S = 0.3

_ENV_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "SHELL", "TMPDIR", "TMUX_TMPDIR")


# --------------------------------------------------------------------------- finding the binary

def cache_root() -> Path:
    return Path(os.environ.get("PIKO_CACHE_DIR") or Path.home() / ".cache" / "piko")


def claude_version() -> str:
    return os.environ.get("CLAUDE_CODE_VERSION") or DEFAULT_VERSION


def claude_binary_path(version: str | None = None) -> Path:
    """Where scripts/install-claude-code.sh installs the binary (whether or not it is there)."""
    return cache_root() / "claude-code" / (version or claude_version()) / "node_modules" / ".bin" / "claude"


def claude_binary(version: str | None = None) -> str | None:
    """Path of the cached claude binary, or None when it is not installed."""
    override = os.environ.get("PIKO_CLAUDE_BIN")
    path = Path(override) if override else claude_binary_path(version)
    if path.exists() and os.access(path, os.X_OK):
        return str(path)
    return None


def _truthy(value: str | None) -> bool:
    return bool(value) and value.strip().lower() not in ("0", "false", "no", "off")


def require_claude(version: str | None = None) -> str:
    """The claude binary, for tests: skip when missing, unless ``$PIKO_REQUIRE_CLAUDE`` is set (then raise).

    Also checks that tmux is on PATH, with the same skip-or-raise rule.
    """
    problems = []
    binary = claude_binary(version)
    if binary is None:
        where = os.environ.get("PIKO_CLAUDE_BIN") or claude_binary_path(version)
        problems.append(f"Claude Code CLI not installed at {where} (run scripts/install-claude-code.sh)")
    if shutil.which("tmux") is None:
        problems.append("tmux not found on PATH")
    if problems:
        reason = "; ".join(problems)
        if _truthy(os.environ.get("PIKO_REQUIRE_CLAUDE")):
            raise RuntimeError(f"PIKO_REQUIRE_CLAUDE is set but: {reason}")
        import pytest

        pytest.skip(reason)
    assert binary is not None
    return binary


# --------------------------------------------------------------------------- private HOME

def write_claude_json(home: str | os.PathLike[str], project_dir: str | os.PathLike[str], api_key: str,
                      extra: Mapping[str, Any] | None = None) -> Path:
    """``<home>/.claude.json`` that skips onboarding, the API-key question and the trust dialog."""
    project = os.path.realpath(project_dir)
    data: dict[str, Any] = {
        "hasCompletedOnboarding": True,
        "customApiKeyResponses": {"approved": [api_key[-20:]], "rejected": []},
        "projects": {project: {"hasTrustDialogAccepted": True}},
    }
    if extra:
        data.update(extra)
    path = Path(home) / ".claude.json"
    path.write_text(json.dumps(data, indent=2))
    return path


# --------------------------------------------------------------------------- the session

class ClaudeSession:
    """The real ``claude`` running in its own tmux server (``tmux -L <socket_name>``).

    ``env`` adds to/overrides the environment of claude (and so of its hooks), e.g. PIKO_HOME,
    PIKO_URL, PATH. The project's ``.claude/settings.json`` must be written before ``start()``.
    Several sessions may share one ``socket_name`` (give each its own ``session_name``), but
    ``close()`` kills that whole tmux server.
    """

    def __init__(
        self,
        project_dir: str | os.PathLike[str],
        api_url: str,
        *,
        binary: str | None = None,
        api_key: str = DEFAULT_API_KEY,
        home: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        socket_name: str | None = None,
        session_name: str = "claude",
        width: int = 200,
        height: int = 50,
        args: Iterable[str] = ("--permission-mode", "default"),
        write_config: bool = True,
        claude_json_extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.project_dir = os.path.realpath(project_dir)
        self.api_url = api_url
        self.binary = binary or claude_binary()
        if self.binary is None:
            raise RuntimeError(f"claude binary not found (expected at {claude_binary_path()})")
        self.api_key = api_key
        self._own_home = home is None
        self.home = str(home) if home is not None else tempfile.mkdtemp(prefix="piko-claude-home-")
        self.extra_env = dict(env or {})
        self.socket_name = socket_name or f"piko-test-{uuid.uuid4().hex[:12]}"
        self.session_name = session_name
        self.width = width
        self.height = height
        self.args = list(args)
        self.write_config = write_config
        self.claude_json_extra = claude_json_extra
        self.pane_id: str | None = None
        self.pid: int | None = None  # claude's process id
        self.started_at: float | None = None
        self.key_resends = 0  # keys choose() had to send twice (dropped by a freshly drawn dialog)
        self._closed = False

    # -- lifecycle
    def environment(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in _ENV_PASSTHROUGH if k in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.setdefault("LANG", "C.UTF-8")
        env.update(
            {
                "TERM": "xterm-256color",
                "HOME": self.home,
                "ANTHROPIC_BASE_URL": self.api_url,
                "ANTHROPIC_API_KEY": self.api_key,
                "DISABLE_AUTOUPDATER": "1",
                "DISABLE_TELEMETRY": "1",
                "DISABLE_ERROR_REPORTING": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> ClaudeSession:
        if self.pane_id is not None:
            return self
        Path(self.home).mkdir(parents=True, exist_ok=True)
        if self.write_config:
            write_claude_json(self.home, self.project_dir, self.api_key, self.claude_json_extra)
        conf = Path(self.home) / ".piko-test-tmux.conf"
        # remain-on-exit keeps the last screen around when claude dies, for the error message.
        conf.write_text("set -g remain-on-exit on\nset -g history-limit 5000\nset -g status off\n")
        env = self.environment()
        env_args: list[str] = []
        for key, value in env.items():
            env_args += ["-e", f"{key}={value}"]
        out = self._run(
            ["-f", str(conf), "new-session", "-d", "-P", "-F", "#{pane_id}", "-s", self.session_name,
             "-x", str(self.width), "-y", str(self.height), "-c", self.project_dir, *env_args,
             "--", self.binary, *self.args],
            env=env,
        )
        self.pane_id = out.strip().splitlines()[-1]
        self.started_at = time.monotonic()
        try:
            self.pid = int(self.tmux("display-message", "-p", "-t", self.pane_id, "#{pane_pid}").strip())
        except (RuntimeError, ValueError):
            self.pid = None
        return self

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        socket_path = None
        if self.pane_id is not None:
            socket_path = self.tmux("display-message", "-p", "#{socket_path}", check=False).strip() or None
        subprocess.run(["tmux", "-L", self.socket_name, "kill-server"], capture_output=True, timeout=10)
        # claude still writes to its HOME while it exits (SIGHUP from tmux): wait for it before cleaning up.
        if self.pid is not None:
            deadline = time.monotonic() + 5
            while _pid_alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        if socket_path:
            try:
                os.unlink(socket_path)
            except OSError:
                pass
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> ClaudeSession:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- tmux plumbing
    def _run(self, args: list[str], env: Mapping[str, str] | None = None, check: bool = True,
             input: str | None = None) -> str:
        proc = subprocess.run(["tmux", "-u", "-L", self.socket_name, *args], capture_output=True, text=True,
                              env=dict(env) if env is not None else None, timeout=15, input=input)
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(map(shlex.quote, args))} failed: {proc.stderr.strip()}")
        return proc.stdout

    def tmux(self, *args: str, check: bool = True) -> str:
        """Run ``tmux -L <socket> ARGS`` and return stdout."""
        return self._run(list(args), check=check)

    @property
    def target(self) -> str:
        if self.pane_id is None:
            raise RuntimeError("session not started")
        return self.pane_id

    @property
    def socket_path(self) -> str:
        """The server socket (what ``$TMUX`` names inside the pane; use with ``tmux -S``)."""
        return self.tmux("display-message", "-p", "-t", self.target, "#{socket_path}").strip()

    def alive(self) -> bool:
        out = self.tmux("display-message", "-p", "-t", self.target, "#{pane_dead}", check=False).strip()
        return out == "0"

    # -- screen
    def capture(self, history: bool = False) -> str:
        """Visible text of the pane (with ``history``, scrollback too), trailing blanks stripped."""
        args = ["capture-pane", "-p", "-t", self.target]
        if history:
            args += ["-S", "-"]
        text = self.tmux(*args, check=False)
        return "\n".join(line.rstrip() for line in text.splitlines()).rstrip("\n")

    def wait_for(self, what: str | Pattern[str], timeout: float = 30.0, interval: float = 0.1,
                 history: bool = False) -> str | re.Match[str]:
        """Wait until the screen contains ``what`` (substring or compiled regex).

        Returns the substring or the match; raises TimeoutError with the last screen.
        """
        deadline = time.monotonic() + timeout
        screen = ""
        while True:
            screen = self.capture(history=history)
            found = self._find(what, screen)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
        raise TimeoutError(self._timeout_message(f"{_describe(what)} did not appear", timeout, screen))

    def wait_gone(self, what: str | Pattern[str], timeout: float = 30.0, interval: float = 0.1) -> None:
        """Wait until the screen no longer contains ``what``."""
        deadline = time.monotonic() + timeout
        screen = ""
        while True:
            screen = self.capture()
            if self._find(what, screen) is None:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(interval)
        raise TimeoutError(self._timeout_message(f"{_describe(what)} is still on screen", timeout, screen))

    def is_ready(self, screen: str | None = None) -> bool:
        screen = self.capture() if screen is None else screen
        return bool(READY_RE.search(screen)) and READY_FOOTER in screen

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait for the idle input box (empty ``❯`` line and the ``? for shortcuts`` footer)."""
        deadline = time.monotonic() + timeout
        screen = ""
        while True:
            screen = self.capture()
            if self.is_ready(screen):
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        raise TimeoutError(self._timeout_message("claude input prompt not ready", timeout, screen))

    # -- input
    def type_prompt(self, text: str, enter: bool = True, pause: float = 0.2) -> None:
        """Type ``text`` at the input box (literally; multi-line text is pasted bracketed), then Enter."""
        if "\n" in text:
            buf = f"piko-{uuid.uuid4().hex[:8]}"
            self._run(["load-buffer", "-b", buf, "-"], input=text)
            self.tmux("paste-buffer", "-p", "-d", "-b", buf, "-t", self.target)
        else:
            self.tmux("send-keys", "-t", self.target, "-l", "--", text)
        if enter:
            time.sleep(pause)
            self.tmux("send-keys", "-t", self.target, "Enter")

    def send_key(self, *keys: str) -> None:
        """``tmux send-keys`` with key names (``Enter``, ``Escape``, ``Down``, ``1`` ...)."""
        self.tmux("send-keys", "-t", self.target, *keys)

    def choose(self, key: str, dialog: str | Pattern[str] = PERMISSION_DIALOG, timeout: float = 30.0,
               settle: float = DIALOG_SETTLE_S) -> None:
        """Answer a dialog with a key: wait for it, let it settle, press, and wait for it to go away.

        Claude Code drops keys that arrive within ~0.1-0.15 s of a dialog being drawn; a key that was
        dropped is re-sent once after 2 s.
        """
        self.wait_for(dialog, timeout=timeout)
        time.sleep(settle)
        self.send_key(key)
        try:
            self.wait_gone(dialog, timeout=2.0)
        except TimeoutError:
            self.key_resends += 1
            self.send_key(key)
            self.wait_gone(dialog, timeout=timeout)

    # -- diagnostics
    def _find(self, what: str | Pattern[str], screen: str) -> str | re.Match[str] | None:
        if isinstance(what, str):
            return what if what in screen else None
        return what.search(screen)

    def _timeout_message(self, what: str, timeout: float, screen: str) -> str:
        state = "alive" if self.pane_id and self.alive() else "DEAD"
        return f"{what} within {timeout}s (claude pane {self.pane_id} {state}). Screen:\n{screen}"


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(what: str | Pattern[str]) -> str:
    return repr(what) if isinstance(what, str) else f"/{what.pattern}/"
