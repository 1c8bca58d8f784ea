"""A real tmux server on a private socket (`tmux -L <unique>`), for tests."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

ECHO_LINES = Path(__file__).with_name("echo_lines.py")
FAKE_DIALOG = Path(__file__).with_name("fake_dialog.py")


class TmuxServer:
    def __init__(self) -> None:
        self.name = f"piko-test-{uuid.uuid4().hex[:10]}"
        self._socket_path: str | None = None

    def cmd(self, *args: str, check: bool = True) -> str:
        r = subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True, timeout=10)
        if check and r.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def new_session(self, command: list[str] | None = None, name: str | None = None,
                    cwd: str | None = None, width: int = 200, height: int = 50,
                    env: dict[str, str] | None = None) -> str:
        """Start a detached session running `command`; returns its pane id (%N)."""
        name = name or f"s{uuid.uuid4().hex[:6]}"
        args = ["new-session", "-d", "-P", "-F", "#{pane_id}", "-s", name, "-x", str(width), "-y", str(height)]
        if cwd:
            args += ["-c", cwd]
        for k, v in (env or {}).items():
            args += ["-e", f"{k}={v}"]
        if command:
            args += command
        return self.cmd(*args).strip()

    def echo_pane(self, name: str | None = None) -> str:
        """A pane running a program that prints every line it reads as GOT:<repr>."""
        pane = self.new_session([sys.executable, str(ECHO_LINES)], name=name)
        self.wait_for(pane, "READY")
        return pane

    def dialog_pane(self, screen: Path, width: int = 200, height: int = 50) -> str:
        """A pane showing a captured Claude Code dialog that takes one key (tests/support/fake_dialog.py)."""
        pane = self.new_session([sys.executable, str(FAKE_DIALOG), str(screen)], width=width, height=height)
        self.wait_for(pane, r"Esc to cancel")
        return pane

    @property
    def socket_path(self) -> str:
        if self._socket_path is None:
            self._socket_path = self.cmd("display-message", "-p", "#{socket_path}").strip()
        return self._socket_path

    def capture(self, pane: str, history: bool = False) -> str:
        """The pane's screen (with `history`, also the lines scrolled off its top)."""
        return self.cmd("capture-pane", "-p", "-J", *(["-S", "-"] if history else []), "-t", pane)

    def wait_for(self, pane: str, pattern: str, timeout: float = 10) -> str:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.capture(pane)
            if rx.search(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} did not appear in pane {pane} within {timeout}s:\n{screen}")

    def kill_pane(self, pane: str) -> None:
        self.cmd("kill-pane", "-t", pane)

    def kill(self) -> None:
        self.cmd("kill-server", check=False)
