"""Every refusal: no token, wrong token, foreign Origin (CSRF / cross-site WebSocket), foreign Host
(DNS rebinding), oversized bodies. Browser sessions and login links: tests/test_browser_security.py."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import hook_payload
from tests.support.server import PikoServer, recv_json

ROUTES = [
    ("POST", "/api/orchestra/notify", {"hook_event_name": "Stop"}),
    ("GET", "/api/orchestra/notifications", None),
    ("GET", "/api/orchestra/notifications/abc", None),
    ("DELETE", "/api/orchestra/notifications/abc", None),
    ("GET", "/api/orchestra/notifications/abc/screen", None),
    ("GET", "/api/orchestra/sessions/abc/screen", None),
    ("GET", "/api/orchestra/notifications/abc/wait", None),
    ("POST", "/api/orchestra/respond", {"notification_id": "abc", "response": "x"}),
]


def test_token_file_is_created_owner_only(server):
    token = server.home / "token"
    assert token.stat().st_mode & 0o777 == 0o600
    assert len(server.token) >= 40


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_every_route_needs_the_token(server, method, path, body):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {server.token}"},
                    {"Cookie": f"piko_session_{server.port}={server.token}"}):
        r = server.request(method, path, auth=False, json=body, headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized", (headers, r.text)
    assert server.pending() == []


def test_websocket_without_token_is_closed_4401(server):
    from websockets.sync.client import connect

    with connect(server.ws_url, open_timeout=5) as ws, pytest.raises(ConnectionClosed) as e:
        ws.recv(timeout=5)
    assert e.value.rcvd.code == 4401 and e.value.rcvd.reason == "unauthorized"


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:1", "null",
                                    "https://127.0.0.1", "http://localhost.evil.example"])
def test_foreign_origin_is_refused_even_with_the_token(server, origin):
    r = server.request("POST", "/api/orchestra/notify", json=hook_payload("Stop"), headers={"Origin": origin})
    assert r.status_code == 403 and r.json()["code"] == "bad_origin"
    r = server.request("POST", "/api/orchestra/respond", json={"notification_id": "x", "response": "x"},
                       headers={"Origin": origin})
    assert r.status_code == 403
    with pytest.raises(InvalidStatus) as e, server.ws(origin=origin):
        pass
    assert e.value.response.status_code == 403


def test_own_origin_is_accepted(server):
    for host in ("127.0.0.1", "localhost"):
        r = server.request("GET", "/api/orchestra/notifications", headers={"Origin": f"http://{host}:{server.port}"})
        assert r.status_code == 200
    with server.ws(origin=f"http://127.0.0.1:{server.port}") as ws:
        assert recv_json(ws)["type"] == "snapshot"


def test_cross_site_fetch_metadata_is_refused(server):
    r = server.request("GET", "/api/orchestra/notifications", headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403


def raw_ws_handshake(port: int, host: str, extra: str = "") -> bytes:
    """A WebSocket upgrade request written by hand, so the Host header is exactly what we say."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall((f"GET /api/orchestra/ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    reply = sock.recv(200)
    sock.close()
    return reply


@pytest.mark.parametrize("host", ["evil.example", "evil.example:19876", "127.0.0.1:1", "attacker.localhost"])
def test_foreign_host_is_refused_dns_rebinding(server, host):
    r = server.request("GET", "/api/orchestra/notifications", headers={"Host": host})
    assert r.status_code == 421 and r.json()["code"] == "bad_host"
    r = server.request("GET", "/", auth=False, headers={"Host": host})
    assert r.status_code == 421
    reply = raw_ws_handshake(server.port, host, f"Authorization: Bearer {server.token}\r\n")
    assert reply.startswith(b"HTTP/1.1 403"), reply
    # The same handshake with the server's own Host is accepted:
    ok = raw_ws_handshake(server.port, f"127.0.0.1:{server.port}", f"Authorization: Bearer {server.token}\r\n")
    assert ok.startswith(b"HTTP/1.1 101"), ok


def test_oversized_body_is_refused(server):
    huge = {"hook_event_name": "Notification", "message": "x" * (2 * 1024 * 1024)}
    r = server.request("POST", "/api/orchestra/notify", json=huge)
    assert r.status_code == 413 and r.json()["code"] == "too_large"

    def chunks():  # no Content-Length: the cap holds for streamed bodies too
        for _ in range(40):
            yield b"x" * 65536

    r = server.request("POST", "/api/orchestra/notify", content=chunks())
    assert r.status_code == 413
    assert server.pending() == []


def test_non_loopback_bind_without_tls_is_refused(piko_home):
    for args in (("--host", "0.0.0.0"), ("--host", "::"), ("--host", "0.0.0.0", "--allow-host", "box.lan")):
        r = subprocess.run([sys.executable, "-m", "piko", "server", "--port", "0", *args],
                           env={"PIKO_HOME": str(piko_home), "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True, timeout=20)
        assert r.returncode != 0 and f"refusing to listen on {args[1]} without TLS" in r.stderr, (args, r)
        assert "--cert FILE --key FILE" in r.stderr
    srv = PikoServer(piko_home / "b").start()  # loopback: plain HTTP, no note
    try:
        assert not any("beyond this machine" in line for line in srv.output)
    finally:
        srv.stop()


def test_port_in_use_is_a_clear_error(server):
    r = subprocess.run([sys.executable, "-m", "piko", "server", "--port", str(server.port)],
                       env={"PIKO_HOME": str(server.home / "other"), "PATH": "/usr/bin:/bin"},
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "already in use" in r.stderr
