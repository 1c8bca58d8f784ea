"""Notify targets end to end: a real `piko server`, the real `piko notify-targets` command, and apprise
sending to a small HTTP listener on loopback (apprise's `json://` URL)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import hook_payload
from tests.support.hook import hook_env
from tests.support.server import PikoServer, recv_json

FAST = {"PIKO_NOTIFY_RATE_SECONDS": "1", "PIKO_NOTIFY_GATHER_SECONDS": "2", "PIKO_NOTIFY_BACKOFF_SECONDS": "0.3"}


class Listener:
    """An HTTP server on loopback keeping every JSON body posted to it, by path."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        got = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                got.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def messages(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.received if p == f"/{path}"]

    def wait(self, path: str, count: int = 1, timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.messages(path)) < count:
            assert time.monotonic() < deadline, f"{path} got {self.messages(path)}"
            time.sleep(0.05)
        return self.messages(path)


@pytest.fixture
def listener() -> Iterator[Listener]:
    one = Listener()
    yield one
    one.http.shutdown()


@pytest.fixture
def fast_server(piko_home: Path) -> Iterator[PikoServer]:
    srv = PikoServer(piko_home, env=FAST).start()
    yield srv
    srv.stop()


def piko(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "piko", *args], input=stdin, capture_output=True, text=True,
                          env=hook_env(home), timeout=60)


def add_target(server: PikoServer, url: str, **options: Any) -> dict[str, Any]:
    r = server.request("POST", "/api/notify-targets", json={"url": url, **options})
    assert r.status_code == 201, r.text
    return r.json()["target"]


def ask(server: PikoServer, project: str, env: str = "main", session: str = "", **fields: Any) -> dict[str, Any]:
    payload = {**hook_payload("PermissionRequest-Bash"), "project_name": project, "env_name": env,
               "session_id": session or f"session-{project}-{env}", **fields}
    record: dict[str, Any] = server.notify(**payload)["notification"]
    return record


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_target_is_told_where_claude_needs_you_after_its_delay(fast_server: PikoServer, listener: Listener):
    add_target(fast_server, listener.url("plain"), delay=2)
    ask(fast_server, "shop", "auth")
    time.sleep(1)
    assert listener.messages("plain") == []  # not before its delay
    [message] = listener.wait("plain")
    assert message["title"] == "Claude needs you" and message["message"] == "Claude needs you in shop/auth"
    assert "touch" not in json.dumps(message) and "Bash" not in json.dumps(message)  # no content asked for


def test_nothing_is_sent_about_a_request_answered_within_the_delay(fast_server: PikoServer, listener: Listener):
    add_target(fast_server, listener.url("late"), delay=2)
    first = ask(fast_server, "shop", "auth")
    r = fast_server.request("DELETE", f"/api/orchestra/notifications/{first['id']}")
    assert r.status_code == 200, r.text
    ask(fast_server, "web", "main")  # due after the first would have been: its message comes after it
    [message] = listener.wait("late")
    assert message["message"] == "Claude needs you in web/main"
    time.sleep(1.5)  # one more rate period: nothing else comes
    assert len(listener.messages("late")) == 1


def test_only_a_target_added_with_content_is_told_the_command(fast_server: PikoServer, listener: Listener):
    add_target(fast_server, listener.url("plain"))
    add_target(fast_server, listener.url("full"), content=True)
    ask(fast_server, "shop", "auth")
    [full] = listener.wait("full")
    [plain] = listener.wait("plain")
    assert full["message"] == "Claude needs you in shop/auth: Bash: touch /tmp/build-marker"
    assert plain["message"] == "Claude needs you in shop/auth"


def test_five_requests_at_once_make_one_summary(fast_server: PikoServer, listener: Listener):
    add_target(fast_server, listener.url("burst"))
    projects = ["shop", "web", "api", "docs", "infra"]
    threads = [threading.Thread(target=ask, args=(fast_server, p)) for p in projects]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [message] = listener.wait("burst")
    assert message["title"] == "5 agents need you"
    assert message["message"].startswith("5 agents need you: ")
    assert sorted(message["message"].split(": ", 1)[1].split(", ")) == sorted(f"{p}/main" for p in projects)
    time.sleep(1.5)
    assert len(listener.messages("burst")) == 1


def test_a_failing_target_is_retried_then_dropped_and_never_holds_the_server_up(
        fast_server: PikoServer, listener: Listener):
    dead = f"json://someone:hunter2-secret@127.0.0.1:{closed_port()}/gone"
    add_target(fast_server, dead)
    add_target(fast_server, listener.url("alive"))
    with fast_server.ws() as ws:
        assert recv_json(ws)["type"] == "snapshot"
        ask(fast_server, "shop", "auth")
        assert recv_json(ws)["type"] == "created"
        # While the dead target fails and waits to be tried again, requests are taken and announced.
        deadline = time.monotonic() + 20
        n = 0
        while "dropped a message" not in "".join(fast_server.output):
            assert time.monotonic() < deadline, "".join(fast_server.output)
            record = ask(fast_server, f"p{n}")
            assert recv_json(ws)["notification"]["id"] == record["id"]
            assert fast_server.request("GET", "/api/health").json()["ok"] is True
            n += 1
    listener.wait("alive")  # the other target was told all the same
    output = "".join(fast_server.output)
    for attempt in (1, 2, 3):
        assert f"sending failed (try {attempt} of 4)" in output
    assert "after 4 failed tries" in output
    assert "hunter2" not in output and "gone" not in output


def test_the_piko_command_adds_lists_tests_and_removes_targets(server: PikoServer, piko_home: Path,
                                                              listener: Listener):
    secret = listener.url("cli").replace("json://", "json://someone:hunter2-secret@")
    added = piko(piko_home, "notify-targets", "add", secret, "--delay", "30")
    assert added.returncode == 0, added.stderr
    assert "delay 30 s, without content" in added.stdout and "hunter2" not in added.stdout
    from_stdin = piko(piko_home, "notify-targets", "add", "-", "--content", stdin=listener.url("other") + "\n")
    assert from_stdin.returncode == 0 and "with the command" in from_stdin.stdout, from_stdin.stderr
    listed = json.loads(piko(piko_home, "notify-targets", "--json").stdout)["targets"]
    assert len(listed) == 2 and "hunter2" not in json.dumps(listed)
    first = listed[0]["id"]
    assert first in piko(piko_home, "notify-targets").stdout

    tested = piko(piko_home, "notify-targets", "test", first[:4])
    assert tested.returncode == 0 and f"{first}: sent" in tested.stdout, tested.stderr
    [message] = listener.wait("cli")
    assert "test message" in message["message"]
    assert piko(piko_home, "notify-targets", "test").returncode == 0
    listener.wait("other")

    dead = piko(piko_home, "notify-targets", "add", f"json://127.0.0.1:{closed_port()}/x")
    dead_id = dead.stdout.split()[1]
    failed = piko(piko_home, "notify-targets", "test", dead_id)
    assert failed.returncode == 1 and "did not take the test message" in failed.stderr

    for id in (first, listed[1]["id"], dead_id):
        removed = piko(piko_home, "notify-targets", "remove", id)
        assert removed.returncode == 0 and f"Removed notify target {id}" in removed.stdout, removed.stderr
    assert "No notify targets" in piko(piko_home, "notify-targets").stdout
    bad = piko(piko_home, "notify-targets", "add", "nope://x")
    assert bad.returncode == 1 and "apprise does not understand this URL" in bad.stderr

    # The URL is kept only in the owner-only store: not in the server's output, nor the hook's log.
    subprocess.run([sys.executable, "-m", "piko", "cc", "notify", "--debug"], timeout=30,
                   input=json.dumps(hook_payload("Notification-idle_prompt")), text=True, capture_output=True,
                   env=hook_env(piko_home))
    server.stop()
    assert "hunter2" not in "".join(server.output)
    log = (piko_home / "notify.log").read_text()
    assert "Notification" in log and "hunter2" not in log
    assert os.stat(piko_home / "state.db").st_mode & 0o077 == 0
