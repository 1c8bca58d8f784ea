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
