"""Stalled connections are dropped (issue 10): a crowd of raw sockets that send half a request line and stop
neither starves `/api/health` nor real clients, and each is closed after the header timeout. WebSockets and
a hook's long poll, which have sent their headers, are not cut."""

from __future__ import annotations

import json
import resource
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.support.hook import finish, waiting_hook
from tests.support.server import PikoServer, recv_json

HEADER_TIMEOUT = 1.5
STALLED = 1100  # more than the usual open-files limit of 1024


@pytest.fixture
def server(piko_home: Path):
    srv = PikoServer(piko_home, env={"PIKO_HEADER_TIMEOUT": str(HEADER_TIMEOUT)}).start()
    yield srv
    srv.stop()


def start_with_the_usual_limit(home: Path, **env: str) -> PikoServer:
    """A server started with the usual open-files soft limit (1024), as from a login shell."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))  # what the server inherits
    try:
        return PikoServer(home, env=env).start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def raise_own_open_files_limit(needed: int) -> None:
    """After the server started (it must not inherit this): room for the test's own sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"the open-files hard limit ({hard}) is below {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_half_sent_requests_starve_no_one(piko_home: Path):
    server = start_with_the_usual_limit(piko_home, PIKO_HEADER_TIMEOUT=str(HEADER_TIMEOUT))
    raise_own_open_files_limit(STALLED + 200)
    stalled = []
    try:
        for _ in range(STALLED):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"GET /api/hea")  # half a request line, then nothing
            stalled.append(sock)
        health = httpx.get(server.url + "/api/health", timeout=5)
        assert health.status_code == 200 and health.json()["ok"] is True
        assert server.pending() == []  # an authenticated request is answered too
        assert server.notify(hook_event_name="Stop", session_id="still-served")["action"] == "created"
        assert closed_by_peer(stalled[0], timeout=1)  # the oldest went first, over the bound
        assert closed_by_peer(stalled[-1], timeout=HEADER_TIMEOUT + 5)  # the newest: after the timeout
    finally:
        for sock in stalled:
            sock.close()
        server.stop()


def test_a_connection_that_never_finishes_its_headers_is_closed(server: PikoServer):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line: never complete
        assert closed_by_peer(sock, timeout=HEADER_TIMEOUT + 5)


def test_a_kept_alive_connection_is_timed_again_for_its_next_request(server: PikoServer):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        sock.settimeout(5)
        answer = b""
        while not answer.endswith(b"}"):  # the whole answer: headers, then the JSON body
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /api/hea")
        assert closed_by_peer(sock, timeout=HEADER_TIMEOUT + 5)


def test_websockets_and_long_polls_outlive_the_header_timeout(server: PikoServer, piko_home: Path):
    hook, record = waiting_hook(server, piko_home)  # its long poll has sent its headers
    with server.ws() as ws:
        assert recv_json(ws)["type"] == "snapshot"
        time.sleep(HEADER_TIMEOUT * 2)
        server.notify(hook_event_name="Stop", session_id="after-the-timeout")
        assert recv_json(ws)["notification"]["session_id"] == "after-the-timeout"
    answer = server.respond(notification_id=record["id"], decision="allow")
    assert answer.status_code == 200, answer.text
    assert json.loads(finish(hook))["hookSpecificOutput"]["decision"]["behavior"] == "allow"


def test_the_server_raises_its_open_files_limit_to_the_hard_limit(piko_home: Path):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    srv = start_with_the_usual_limit(piko_home)
    try:
        assert srv.proc is not None
        limits = Path(f"/proc/{srv.proc.pid}/limits").read_text()
        [line] = [entry for entry in limits.splitlines() if entry.startswith("Max open files")]
        assert line.split()[3:5] == [str(hard)] * 2, line
    finally:
        srv.stop()
