"""Running the real hook (`piko cc notify`) from tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import hook_payload
from tests.support.server import PikoServer

PIKO_SCRIPT = Path(sys.executable).parent / "piko"

# What the hook must never import: the server stack, the CLI's, and the standard library's slow modules.
HEAVY_MODULES = frozenset({
    "starlette", "uvicorn", "click", "questionary", "prompt_toolkit", "httpx", "http", "asyncio", "sqlite3",
    "piko.server", "re", "json", "typing", "enum", "socket", "subprocess", "pathlib", "msgspec"})


def heavy(modules: list[str]) -> list[str]:
    """The modules (or packages) among `modules` that the hook must not load."""
    return [m for m in modules if m in HEAVY_MODULES or m.split(".")[0] in HEAVY_MODULES]


def hook_env(home: Path, url: str = "", **extra: str) -> dict[str, str]:
    """The hook's environment: no tmux, no Claude, no Piko settings but the ones given. Without `url` the
    hook reaches the server on its Unix socket in `home` (its usual way); with one, over TCP."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "CLAUDE", "PIKO_"))}
    return {**env, "PIKO_HOME": str(home), **({"PIKO_URL": url} if url else {}), **extra}


def waiting_hook(server: PikoServer, home: Path, payload: str | dict[str, Any] = "PermissionRequest-Bash",
                 url: str = "") -> tuple[subprocess.Popen, dict]:
    """A real `piko cc notify` for a PermissionRequest (or an Elicitation), waiting for the person's answer;
    and its request. `payload` is a fixture's name or the event itself. It reaches the server on its Unix
    socket, or over TCP at `url`."""
    body = hook_payload(payload) if isinstance(payload, str) else payload
    hook = subprocess.Popen([sys.executable, "-m", "piko", "cc", "notify"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=hook_env(home, url))
    assert hook.stdin is not None
    hook.stdin.write(json.dumps(body).encode())
    hook.stdin.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        waiting = [n for n in server.pending() if n["hook_waiting"] and n["session_id"] == body.get("session_id")]
        if waiting:
            return hook, waiting[0]
        time.sleep(0.05)
    hook.kill()
    raise AssertionError("the hook never started waiting")


def notify(stdin: bytes | str | dict, env: dict[str, str], *args: str, script: bool = False,
           cwd: Path | None = None, timeout: float = 10) -> tuple[subprocess.CompletedProcess, float]:
    """Run `piko cc notify` (as `python -m piko`, or the installed `piko` script) on `stdin`: its result and
    how long it took."""
    data = (json.dumps(stdin).encode() if isinstance(stdin, dict)
            else stdin.encode() if isinstance(stdin, str) else stdin)
    command = [str(PIKO_SCRIPT)] if script else [sys.executable, "-m", "piko"]
    started = time.monotonic()
    result = subprocess.run([*command, "cc", "notify", *args], input=data, env=env, cwd=cwd,
                            capture_output=True, timeout=timeout)
    return result, time.monotonic() - started


def finish(hook: subprocess.Popen, timeout: float = 5) -> bytes:
    """What a waiting hook printed, once it has ended (with 0, within `timeout`; killed otherwise)."""
    try:
        assert hook.wait(timeout=timeout) == 0
        return hook.stdout.read()
    finally:
        if hook.poll() is None:
            hook.kill()
            hook.wait()
