"""A real `piko server` process on a free loopback port, for tests."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


class PikoServer:
    def __init__(self, home: Path, port: int = 0, env: dict[str, str] | None = None,
                 verify: ssl.SSLContext | bool = True) -> None:
        self.home = home
        self.port = port
        self.env = env or {}
        self.verify = verify  # for an HTTPS server: the CA file (its self-signed certificate) to trust
        self.proc: subprocess.Popen | None = None
        self.output: list[str] = []
        self.url = ""

    # ---- process -----------------------------------------------------------------------------

    def start(self, extra_args: tuple[str, ...] = (), timeout: float = 15) -> PikoServer:
        env = {**os.environ, "PIKO_HOME": str(self.home), **self.env}
        env.pop("PIKO_URL", None)
        self.output = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "piko", "server", "--port", str(self.port), *extra_args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.output):
                if line.startswith(("Piko Orchestra http://", "Piko Orchestra https://")):
                    self.url = line.split()[2]
                    self.port = int(self.url.rsplit(":", 1)[1])
            if self.url:
                try:
                    if httpx.get(self.url + "/api/health", timeout=1, verify=self.verify).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            if self.proc.poll() is not None:
                raise RuntimeError("piko server exited:\n" + "".join(self.output))
            time.sleep(0.05)
        raise RuntimeError("piko server did not start:\n" + "".join(self.output))

    def _drain(self, proc: subprocess.Popen) -> None:
        assert proc.stdout
        for line in proc.stdout:
            self.output.append(line)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill9(self) -> None:
        assert self.proc
        self.proc.kill()
        self.proc.wait()

    def restart(self) -> PikoServer:
        self.stop()
        return self.start()

    @property
    def token(self) -> str:
        return (self.home / "token").read_text().strip()

    @property
    def ws_url(self) -> str:
        return self.url.replace("https://", "wss://").replace("http://", "ws://") + "/api/orchestra/ws"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    # ---- API ---------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> httpx.Response:
        headers = {**(self.auth if auth else {}), **kw.pop("headers", {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=15, verify=self.verify, **kw)

    def notify(self, **fields: Any) -> dict[str, Any]:
        r = self.request("POST", "/api/orchestra/notify", json=fields)
        assert r.status_code == 200, r.text
        return r.json()

    def pending(self) -> list[dict[str, Any]]:
        r = self.request("GET", "/api/orchestra/notifications")
        assert r.status_code == 200, r.text
        return r.json()["notifications"]

    def get(self, id: str) -> dict[str, Any]:
        r = self.request("GET", f"/api/orchestra/notifications/{id}")
        assert r.status_code == 200, r.text
        return r.json()

    def respond(self, **body: Any) -> httpx.Response:
        return self.request("POST", "/api/orchestra/respond", json=body)

    def ws(self, **kw: Any):
        """A real WebSocket client (websockets' sync client), authenticated with the token."""
        from websockets.sync.client import connect

        headers = {**self.auth, **kw.pop("additional_headers", {})}
        return connect(self.ws_url, additional_headers=headers, open_timeout=5, **kw)


def recv_json(ws: Any, timeout: float = 5) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))
