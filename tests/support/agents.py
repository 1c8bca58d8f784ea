"""A rig for end-to-end tests: real `piko server`, real Claude Code CLI sessions in real tmux, hooks
installed by the real `piko cc init`, and the Messages API stand-in they talk to."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.support.claude_cli import ClaudeSession
from tests.support.fake_anthropic import FakeAnthropic
from tests.support.server import PikoServer

PIKO = Path(sys.executable).with_name("piko")  # the installed entry point, as a user runs it


def piko_command() -> list[str]:
    return [str(PIKO)] if PIKO.exists() else [sys.executable, "-m", "piko"]


class Rig:
    def __init__(self, root: Path, server: PikoServer, api: FakeAnthropic, claude_bin: str) -> None:
        self.root = root
        self.server = server
        self.api = api
        self.claude_bin = claude_bin
        self.socket_name = f"piko-e2e-{uuid.uuid4().hex[:8]}"
        self.sessions: list[ClaudeSession] = []

    def project(self, name: str, *init_args: str) -> Path:
        """A project folder with Orchestra's hooks installed by `piko cc init`."""
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PIKO_HOME": str(self.server.home), "PIKO_URL": self.server.url}
        r = subprocess.run([*piko_command(), "cc", "init", *init_args], cwd=path, env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return path

    def agent(self, project: Path, session_name: str = "agent", env_name: str | None = None,
              args: tuple[str, ...] = ("--permission-mode", "default"), ready: str | None = None) -> ClaudeSession:
        """The real Claude Code CLI, started in its own tmux session on the rig's tmux server (`args` for
        claude; `ready`: the text that shows it is ready, when not the usual idle footer)."""
        env = {"PIKO_HOME": str(self.server.home), "PIKO_URL": self.server.url}
        if env_name:
            env["PIKO_ENV_NAME"] = env_name
        session = ClaudeSession(project, self.api.url, binary=self.claude_bin, env=env,
                                socket_name=self.socket_name, session_name=session_name, args=args)
        self.sessions.append(session)
        session.start()
        if ready is None:
            session.wait_ready()
        else:
            session.wait_for(ready)
        return session

    def close(self) -> None:
        for session in reversed(self.sessions):
            session.close()

    # ---- waiting on the server -------------------------------------------------------------------

    def wait_request(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            seen = self.server.pending()
            for record in seen:
                if predicate(record):
                    return record
            time.sleep(0.05)
        raise AssertionError(f"no matching pending request within {timeout}s; pending: {seen}")

    def wait_status(self, id: str, status: str = "resolved", timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        record: dict[str, Any] = {}
        while time.monotonic() < deadline:
            record = self.server.get(id)
            if record["status"] == status:
                return record
            time.sleep(0.05)
        raise AssertionError(f"request {id} is {record.get('status')}, not {status}, after {timeout}s: {record}")

    def hook_processes(self) -> list[int]:
        """Pids of `piko cc notify` processes started for this rig (found by their PIKO_HOME)."""
        return hook_processes(self.server.home)

    def wait_no_hooks(self, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.hook_processes():
                return
            time.sleep(0.1)
        raise AssertionError(f"hook processes left behind: {self.hook_processes()}")


def hook_processes(piko_home: Path) -> list[int]:
    """Pids of `piko cc notify` processes whose PIKO_HOME is `piko_home`."""
    home = f"PIKO_HOME={piko_home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"cc\0notify" not in cmdline:
                continue
            if home in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@contextlib.contextmanager
def running_rig(tmp_path: Path, server: PikoServer, *, hooks_gone_while_running: bool = False) -> Iterator[Rig]:
    """A Rig on the real Claude Code CLI and a fresh Messages API stand-in; on the way out every agent is
    closed and no hook may be left (`hooks_gone_while_running`: none while Claude still runs, either)."""
    from tests.support.claude_cli import require_claude

    with FakeAnthropic() as api:
        rig = Rig(tmp_path, server, api, require_claude())
        try:
            yield rig
            if hooks_gone_while_running:
                rig.wait_no_hooks()  # every scenario ends with its hooks gone, Claude still running
        finally:
            rig.close()
            rig.wait_no_hooks()
