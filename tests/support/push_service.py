"""A real Web Push service stand-in for tests: the npm package web-push-testing (installed by
scripts/setup --test into the cache, see scripts/install-web-push-testing.sh), run on a free loopback port.

It validates the VAPID signature (JWT and key) of every push and decrypts its payload (aes128gcm) with the
subscription's keys, as a browser vendor's push service and the browser together would; a push it cannot
verify or decrypt is refused (400), so the messages it hands back are proof of correct signing and encryption.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

VERSION = os.environ.get("WEB_PUSH_TESTING_VERSION", "1.2.2")
CACHE = Path(os.environ.get("PIKO_CACHE_DIR", Path.home() / ".cache" / "piko"))
SERVER_JS = CACHE / "web-push-testing" / VERSION / "node_modules" / "web-push-testing" / "src" / "bin" / "server.js"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PushService:
    def __init__(self) -> None:
        if not SERVER_JS.is_file():
            reason = f"web-push-testing is not installed at {SERVER_JS}: run scripts/setup --test"
            if os.environ.get("PIKO_REQUIRE_PUSH_SERVICE") or os.environ.get("PIKO_REQUIRE_BROWSER"):
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)
        self.port = _free_port()
        self.url = f"http://localhost:{self.port}"
        self.proc = subprocess.Popen(["node", str(SERVER_JS), str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.post(self.url + "/status", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("web-push-testing did not start")

    def subscribe(self, application_server_key: str) -> dict[str, Any]:
        """A subscription made with the server's VAPID public key, as PushManager.subscribe gives it
        (plus the stand-in's clientHash)."""
        r = httpx.post(self.url + "/subscribe",
                       json={"userVisibleOnly": "true", "applicationServerKey": application_server_key})
        assert r.status_code == 200, r.text
        return dict(r.json()["data"])

    def messages(self, client_hash: str) -> list[str]:
        r = httpx.post(self.url + "/get-notifications", json={"clientHash": client_hash})
        assert r.status_code == 200, r.text
        return list(r.json()["data"]["messages"])

    def expire(self, client_hash: str) -> None:
        assert httpx.post(f"{self.url}/expire-subscription/{client_hash}").status_code == 200

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
