"""The README's first command, as a newcomer runs it: `scripts/server` sets up and serves."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def test_scripts_server_sets_up_and_serves(tmp_path: Path):
    env = {**os.environ, "PIKO_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([str(ROOT / "scripts" / "server"), "--port", "0"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120  # a first run installs
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "scripts/server ended:\n" + "".join(lines)
            lines.append(line)
            if line.startswith("Open in your browser: "):
                break
        url = lines[-1].split(": ", 1)[1].strip()
        base, code = url.split("/login#code=")
        token = (tmp_path / "home" / "token").read_text().strip()
        assert token not in url
        assert httpx.get(base + "/api/health").json()["ok"] is True
        r = httpx.get(base + "/api/orchestra/notifications", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json() == {"notifications": []}
        page = httpx.get(url)  # the fragment stays in the browser: this fetches /login
        assert page.status_code == 200 and "/static/login.js" in page.text
        session = httpx.post(base + "/api/auth/login", json={"code": code}).json()["session"]
        r = httpx.get(base + "/api/orchestra/notifications", headers={"Authorization": f"Bearer {session}"})
        assert r.status_code == 200 and r.json() == {"notifications": []}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(15) == 0


def fake_tools(tmp_path: Path, npm_version: str) -> dict[str, str]:
    """PATH with an `npm` that names `npm_version` as the newest Claude Code (no network), and a cache in
    which that version's `claude` is installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(f'#!/bin/sh\n[ "$1 $2 $3" = "view @anthropic-ai/claude-code version" ] && echo "{npm_version}"\n')
    npm.chmod(0o755)
    claude = tmp_path / "cache" / "claude-code" / npm_version / "node_modules" / ".bin" / "claude"
    claude.parent.mkdir(parents=True)
    claude.write_text(f'#!/bin/sh\necho "{npm_version} (Claude Code)"\n')
    claude.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PIKO_CACHE_DIR": str(tmp_path / "cache"),
            "CLAUDE_CODE_VERSION": "latest"}


def test_claude_code_latest_is_resolved_with_npm(tmp_path: Path):
    env = fake_tools(tmp_path, "9.8.7")
    script = ROOT / "scripts" / "install-claude-code.sh"
    resolved = subprocess.run(["bash", str(script), "--resolve"], env=env, capture_output=True, text=True, timeout=30)
    assert resolved.returncode == 0 and resolved.stdout.strip() == "9.8.7", resolved.stderr
    installed = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.strip().endswith("claude-code/9.8.7/node_modules/.bin/claude")


def test_claude_code_latest_without_an_answer_from_npm_is_an_error(tmp_path: Path):
    env = fake_tools(tmp_path, "")
    r = subprocess.run(["bash", str(ROOT / "scripts" / "install-claude-code.sh")], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "npm gave no version" in r.stderr
