"""Reaching the server from a phone, safely, with the real parts: `piko server --remote` over HTTPS (a
self-signed certificate made with openssl; a fake `tailscale` on PATH, since this machine has no tailnet),
plain HTTP refused beyond loopback, `piko pair` in a real tmux pane whose QR code (decoded with zxing-cpp)
pairs a second Chromium context once and never again, revoked devices refused at once, and answers that
record the device that gave them."""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.certs import fake_tailscale, self_signed
from tests.support.server import PikoServer, recv_json

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None

QR_CHARS = set("█▀▄ ")


@pytest.fixture
def certs(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path / "certs", ("box.tail1234.ts.net",))


@pytest.fixture
def tls_server(piko_home, certs):
    cert, key = certs
    trust = ssl.create_default_context(cafile=str(cert))
    srv = PikoServer(piko_home, verify=trust).start(("--remote", "--host", "127.0.0.1", "--cert", str(cert),
                                                     "--key", str(key)))
    yield srv
    srv.stop()


def piko(server: PikoServer, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """A piko command, reaching the server over its Unix socket (plain HTTP: it is owner-only)."""
    full = {**os.environ, "PIKO_HOME": str(server.home), **(env or {})}
    full.pop("PIKO_URL", None)
    return subprocess.run([sys.executable, "-m", "piko", *args], env=full, capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)


def pairing(server: PikoServer, name: str = "Pixel 8") -> str:
    r = server.request("POST", "/api/auth/pairings", json={"name": name})
    assert r.status_code == 200, r.text
    return r.json()["url"]


def redeem(server: PikoServer, url: str) -> httpx.Response:
    return server.request("POST", "/api/auth/login", auth=False, json={"code": url.split("#code=", 1)[1]})


def as_session(server: PikoServer, credential: str, method: str = "GET",
               path: str = "/api/orchestra/notifications") -> httpx.Response:
    return server.request(method, path, auth=False, headers={"Authorization": f"Bearer {credential}"})


def start_refused(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "piko", "server", "--port", "0", *args],
                          env={"PIKO_HOME": str(home), "PATH": "/usr/bin:/bin", **(env or {})},
                          capture_output=True, text=True, timeout=20)


# ---- refusals ---------------------------------------------------------------------------------------

def test_remote_without_tls_is_refused(piko_home):
    r = start_refused(piko_home, "--remote")  # no certificate, no tailscale on PATH
    assert r.returncode == 1 and "--remote serves HTTPS only" in r.stderr, r
    assert "--cert FILE --key FILE" in r.stderr and "tailscale" in r.stderr
    assert not (piko_home / "server.sock").exists()


def test_a_key_open_to_others_is_refused(piko_home, certs):
    cert, key = certs
    key.chmod(0o644)
    r = start_refused(piko_home, "--remote", "--cert", str(cert), "--key", str(key))
    assert r.returncode == 1 and "refusing the private key" in r.stderr and "chmod 600" in r.stderr, r


# ---- HTTPS ------------------------------------------------------------------------------------------

def test_the_tcp_listener_speaks_only_tls_and_the_unix_socket_stays_plain(tls_server, certs):
    srv = tls_server
    assert srv.url.startswith("https://127.0.0.1:")
    assert srv.request("GET", "/api/orchestra/notifications").status_code == 200
    with pytest.raises(httpx.HTTPError):
        httpx.get(srv.url.replace("https://", "http://") + "/api/health", timeout=5)
    r = srv.request("GET", "/", auth=False)
    assert f"connect-src 'self' wss://127.0.0.1:{srv.port};" in r.headers["content-security-policy"]
    origin = srv.url
    assert srv.request("GET", "/api/orchestra/notifications", headers={"Origin": origin}).status_code == 200
    r = srv.request("GET", "/api/orchestra/notifications", headers={"Origin": origin.replace("https", "http")})
    assert r.status_code == 403 and r.json()["code"] == "bad_origin"
    link = piko(srv, "login-url")  # over the Unix socket, in plain HTTP
    assert link.returncode == 0 and link.stdout.startswith(srv.url + "/login#code="), link
    from websockets.sync.client import connect

    tls = ssl.create_default_context(cafile=str(certs[0]))
    with connect(srv.ws_url, additional_headers=srv.auth, ssl=tls, open_timeout=5, origin=origin) as ws:
        assert recv_json(ws)["type"] == "snapshot"


def test_a_stalled_tls_handshake_is_dropped(piko_home, certs):
    cert, key = certs
    trust = ssl.create_default_context(cafile=str(cert))
    srv = PikoServer(piko_home, env={"PIKO_HEADER_TIMEOUT": "1"}, verify=trust).start(
        ("--cert", str(cert), "--key", str(key)))
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as stalled:
            stalled.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and then nothing
            assert stalled.recv(100) == b""  # closed by the server (the default would wait 60 s)
        assert srv.request("GET", "/api/health").status_code == 200
    finally:
        srv.stop()


@contextmanager
def tailnet_named_server(home: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`piko server --port 0 ARGS` whose banner names box.tail1234.ts.net (the test certificate's host);
    yields its port (bound before the banner is printed)."""
    proc = subprocess.Popen([sys.executable, "-m", "piko", "server", "--port", "0", *args],
                            env={**os.environ, "PIKO_HOME": str(home), **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.match(r"Piko Orchestra https://box\.tail1234\.ts\.net:(\d+) ", first)
        assert match, first + proc.stdout.read() if proc.poll() is not None else first
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(10)


def health_by_name(port: str, host: str, cert: Path) -> int:
    """GET /api/health at 127.0.0.1:port with the Host header `host`: its status."""
    trust = ssl.create_default_context(cafile=str(cert))
    return httpx.get(f"https://127.0.0.1:{port}/api/health", headers={"Host": host}, verify=trust).status_code


def test_remote_with_tailscale_uses_the_tailnet_address_and_certificate(piko_home, certs, tmp_path):
    env = fake_tailscale(tmp_path / "bin", *certs)
    with tailnet_named_server(piko_home, "--remote", env=env) as port:
        # The fake tailnet's address is 127.0.0.1: the server listens there, with tailscale's certificate.
        assert health_by_name(port, f"box.tail1234.ts.net:{port}", certs[0]) == 200
        assert health_by_name(port, "evil.example", certs[0]) == 421
        calls = (tmp_path / "bin" / "calls.log").read_text().splitlines()
        assert calls[:2] == ["ip -4", "status --json"] and calls[2].startswith("cert --cert-file ")
        assert calls[2].endswith(" box.tail1234.ts.net")


def test_beyond_loopback_links_name_the_certificates_host(piko_home, certs):
    """`--remote --cert` listens on every address; links then name the host the certificate is for (what a
    phone can reach), not 127.0.0.1; a Host header of another name is still refused."""
    cert, key = certs
    with tailnet_named_server(piko_home, "--remote", "--cert", str(cert), "--key", str(key)) as port:
        assert health_by_name(port, f"box.tail1234.ts.net:{port}", cert) == 200
        assert health_by_name(port, "evil.example", cert) == 421
        out = piko(PikoServer(piko_home), "pair", "--name", "Pixel 8")
        assert out.returncode == 0, out
        assert f"https://box.tail1234.ts.net:{port}/login#code=" in out.stdout and "loopback" not in out.stderr


# ---- pairing and devices ------------------------------------------------------------------------------

def test_pairing_needs_the_remote_server(server):
    r = server.request("POST", "/api/auth/pairings", json={})
    assert r.status_code == 409 and r.json()["code"] == "not_remote"
    out = subprocess.run([sys.executable, "-m", "piko", "pair"], capture_output=True, text=True, timeout=30,
                         env={**os.environ, "PIKO_HOME": str(server.home)})
    assert out.returncode == 1 and "piko server --remote" in out.stderr, out


def test_a_revoked_device_is_refused_at_once(tls_server, certs):
    srv = tls_server
    made = redeem(srv, pairing(srv)).json()
    assert (made["kind"], made["name"]) == ("device", "Pixel 8")
    listed = piko(srv, "devices")
    assert listed.returncode == 0 and re.search(rf"{made['id']}\s+device\s+Pixel 8", listed.stdout), listed
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect
    from websockets.typing import Subprotocol

    tls = ssl.create_default_context(cafile=str(certs[0]))
    protocols = [Subprotocol("piko.v1"), Subprotocol(f"piko.bearer.{made['session']}")]
    with connect(srv.ws_url, subprotocols=protocols, ssl=tls, open_timeout=5) as ws:
        assert recv_json(ws)["type"] == "snapshot"
        out = piko(srv, "devices", "revoke", made["id"][:5])
        assert out.returncode == 0 and made["id"] in out.stdout, out
        with pytest.raises(ConnectionClosed) as e:
            while True:
                ws.recv(timeout=5)
        assert e.value.rcvd is not None and e.value.rcvd.code == 4401
    assert as_session(srv, made["session"]).status_code == 401
    assert "No device is paired" in piko(srv, "devices").stdout


def qr_from_screen(screen: str) -> tuple[str, tuple[int, int]]:
    """Decode the QR code drawn in half blocks on a captured screen: (its text, (columns, rows of text))."""
    import zxingcpp
    from PIL import Image

    lines = [line for line in screen.split("\n") if set(line) <= QR_CHARS and set(line) & set("█▀▄")]
    width = max(len(line) for line in lines)
    image = Image.new("L", (width + 8, 2 * len(lines) + 8), 255)
    for y, line in enumerate(lines):
        for x, ch in enumerate(line.ljust(width)):
            top, bottom = ch in "█▀", ch in "█▄"  # a drawn half is a light module
            image.putpixel((x + 4, 2 * y + 4), 255 if top else 0)
            image.putpixel((x + 4, 2 * y + 5), 255 if bottom else 0)
    found = zxingcpp.read_barcodes(image.resize((image.width * 8, image.height * 8), Image.Resampling.NEAREST))
    assert len(found) == 1, f"no QR code in:\n{screen}"
    return found[0].text, (width, len(lines))


@pytest.mark.browser
def test_piko_pair_in_tmux_pairs_a_second_browser_once_and_answers_record_the_device(
        tls_server, tmux, open_page, shot):
    srv = tls_server
    laptop = open_page(srv, ignore_https_errors=True)
    env = {"PIKO_HOME": str(srv.home), "PATH": os.environ["PATH"]}
    pane = tmux.new_session([sys.executable, "-m", "piko", "pair", "--name", "Pixel 8"], width=100, height=60,
                            env=env, cwd=str(Path(__file__).parents[1]))
    tmux.cmd("set-option", "-t", pane, "remain-on-exit", "on")
    tmux.wait_for(pane, r"it pairs one device, once")
    # tmux may scroll the first line into its history even in a 60-row pane (seen in CI): read it too
    screen = tmux.capture(pane, history=True)
    url, (columns, rows) = qr_from_screen(screen)
    printed = next(line for line in screen.split("\n") if line.startswith("https://"))
    assert url == printed and url.startswith(srv.url + "/login#code=")
    assert (columns, rows) == (45, 23), screen  # a version 5 code (37 modules) and its 4-module quiet zone

    phone = open_page(None, ignore_https_errors=True, viewport={"width": 412, "height": 915})
    phone.goto(url)
    expect(phone.locator("#conn-status")).to_have_attribute("data-state", "connected")
    again = open_page(None, ignore_https_errors=True)  # the same code, in another browser: never again
    again.goto(url)
    expect(again.locator("#login-gone")).to_be_visible()

    echo = tmux.echo_pane()
    made = srv.notify(hook_event_name="Notification", notification_type="idle_prompt", session_id="ph",
                      message="Claude is waiting for your input", tmux_target=echo,
                      tmux_socket=tmux.socket_path)
    phone.locator("#requests .request-card").first.click()
    phone.locator("#response-text").fill("from the phone")
    phone.locator("#send").click()
    tmux.wait_for(echo, re.escape("GOT:'from the phone'"))
    device = next(d for d in srv.request("GET", "/api/auth/devices").json()["devices"] if d["kind"] == "device")
    assert srv.get(made["id"])["answered_by"] == {"kind": "device", "id": device["id"], "name": "Pixel 8"}
    shot(phone, "phone")

    laptop.locator("#devices-button").click()  # the laptop's browser revokes the phone
    row = laptop.locator(f".device-row[data-id='{device['id']}']")
    expect(row).to_contain_text("Pixel 8")
    expect(row).to_contain_text("paired device")
    expect(laptop.locator(".device-row[data-kind='browser']")).to_contain_text("(this one)")
    shot(laptop, "devices")
    row.get_by_role("button", name="Revoke Pixel 8").click()
    expect(row).to_have_count(0)
    expect(phone.locator("#login-help")).to_be_visible(timeout=3000)  # its WebSocket closed with 4401
    expect(phone.locator("#conn-status")).to_have_attribute("data-state", "offline")
    expect(phone.locator("#devices-button")).to_be_hidden()
    expect(laptop.locator("#conn-status")).to_have_attribute("data-state", "connected")
