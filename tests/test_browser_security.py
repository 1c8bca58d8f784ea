"""Only you can reach your agents, from the browser's side: sessions bound to the origin (no cookie that
another port of the host would receive), one-time login links, sign-out / revoke / token rotation, and the
headers that stop other pages from framing the inbox. Real `piko server`, real Chromium, a real listener
on another loopback port standing in for any other local web page."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.browser import login, login_url
from tests.support.server import PikoServer, recv_json

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None


# ---- helpers ---------------------------------------------------------------------------------------

class Listener:
    """Another web server on 127.0.0.1 (any local dev server, or a hostile one): it records every request's
    headers and serves `page` as HTML."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.page = "<!doctype html><title>other</title><p>another local server</p>"
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.requests.append((self.path, dict(self.headers.items())))
                body = listener.page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    other = Listener()
    yield other
    other.close()


def piko(server: PikoServer, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIKO_HOME": str(server.home), "PIKO_URL": server.url}
    return subprocess.run([sys.executable, "-m", "piko", *args], env=env, capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)


def code_of(url: str) -> str:
    assert "/login#code=" in url, url
    return url.split("#code=", 1)[1]


def redeem(server: PikoServer, code: str) -> httpx.Response:
    return server.request("POST", "/api/auth/login", auth=False, json={"code": code})


def new_session(server: PikoServer) -> str:
    r = redeem(server, code_of(login_url(server)))
    assert r.status_code == 200, r.text
    return r.json()["session"]


def as_session(server: PikoServer, credential: str, method: str = "GET",
               path: str = "/api/orchestra/notifications") -> httpx.Response:
    return server.request(method, path, auth=False, headers={"Authorization": f"Bearer {credential}"})


def session_ws(server: PikoServer, credential: str):
    from websockets.sync.client import connect
    from websockets.typing import Subprotocol

    return connect(server.ws_url, subprotocols=[Subprotocol("piko.v1"), Subprotocol(f"piko.bearer.{credential}")],
                   open_timeout=5)


def expect_closed_4401(ws: Any) -> None:
    with pytest.raises(ConnectionClosed) as e:
        while True:
            ws.recv(timeout=5)
    assert e.value.rcvd is not None and e.value.rcvd.code == 4401, e.value


def stored_session(page: Any) -> str:
    return page.evaluate("() => localStorage.getItem('piko.orchestra.session')")


def expect_signed_out_page(page: Any) -> None:
    expect(page.locator("#login-help")).to_be_visible(timeout=3000)
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    expect(page.locator("#requests .request-card")).to_have_count(0)


@pytest.fixture
def short_links(piko_home):
    """A server whose login links last 2 seconds, so expiry is tested without waiting minutes."""
    srv = PikoServer(piko_home, env={"PIKO_LOGIN_LINK_SECONDS": "2"}).start()
    yield srv
    srv.stop()


# ---- over HTTP: the old ways in are closed ---------------------------------------------------------

def test_the_old_cookie_and_token_link_no_longer_open_anything(server):
    # What the browser held until now: a cookie derived from the token, valid for 30 days.
    old = hmac.new(server.token.encode(), b"piko-browser-session-v1", hashlib.sha256).hexdigest()
    replay = server.request("GET", "/api/orchestra/notifications", auth=False,
                            headers={"Cookie": f"piko_session_{server.port}={old}"})
    assert replay.status_code == 401 and replay.json()["code"] == "unauthorized"
    with httpx.Client(base_url=server.url) as browser:
        r = browser.get("/", params={"token": server.token})
        assert r.status_code == 200 and "set-cookie" not in r.headers and not browser.cookies
        assert server.token not in r.text
        assert browser.get("/api/orchestra/notifications").status_code == 401


def test_the_printed_link_holds_a_one_time_code_not_the_token(server):
    line = next(line for line in server.output if line.startswith("Open in your browser: "))
    url = line.split(": ", 1)[1].strip()
    assert url.startswith(server.url + "/login#code=")
    assert server.token not in "".join(server.output)
    first = redeem(server, code_of(url))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["session"].startswith("pikos_") and server.token not in body["session"]
    assert first.headers["cache-control"] == "no-store"
    again = redeem(server, code_of(url))
    assert again.status_code == 401 and again.json()["code"] == "link_used_or_expired"
    assert "piko login-url" in again.json()["error"]
    assert as_session(server, body["session"]).status_code == 200
    with session_ws(server, body["session"]) as ws:
        assert ws.subprotocol == "piko.v1"
        assert recv_json(ws)["type"] == "snapshot"


@pytest.mark.parametrize("body", [b"", b"[]", b'{"code": 5}', b'{"code": ""}', b"not json"])
def test_a_malformed_login_is_a_clear_400(server, body):
    r = server.request("POST", "/api/auth/login", auth=False, content=body)
    assert r.status_code == 400 and r.json()["error"]


@pytest.mark.parametrize("method,path", [
    ("DELETE", "/api/auth/session"), ("POST", "/api/auth/login-links"), ("GET", "/api/auth/sessions"),
    ("DELETE", "/api/auth/sessions"), ("DELETE", "/api/auth/sessions/abc"), ("POST", "/api/auth/token/rotate"),
])
def test_the_session_routes_need_a_credential(server, method, path):
    for headers in ({}, {"Authorization": "Bearer pikos_forged"}, {"Authorization": "Bearer wrong"}):
        r = server.request(method, path, auth=False, headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "unauthorized", (headers, r.text)


def test_a_login_link_expires(short_links):
    url = login_url(short_links)
    time.sleep(2.5)
    r = redeem(short_links, code_of(url))
    assert r.status_code == 401 and r.json()["code"] == "link_used_or_expired"


def test_a_browser_session_cannot_make_sessions_or_rotate_the_token(server):
    credential = new_session(server)
    for method, path in (("POST", "/api/auth/login-links"), ("GET", "/api/auth/sessions"),
                         ("DELETE", "/api/auth/sessions"), ("POST", "/api/auth/token/rotate")):
        r = as_session(server, credential, method, path)
        assert r.status_code == 403 and r.json()["code"] == "needs_token", (path, r.text)
    assert as_session(server, credential).status_code == 200


def test_cli_login_url_sessions_and_revoke(server):
    out = piko(server, "login-url")
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip()
    assert url.startswith(server.url + "/login#code=") and server.token not in out.stdout
    a = redeem(server, code_of(url)).json()
    b = new_session(server)
    listed = piko(server, "sessions")
    assert listed.returncode == 0 and a["id"] in listed.stdout, listed
    with session_ws(server, a["session"]) as ws_a, session_ws(server, b) as ws_b:
        assert recv_json(ws_a)["type"] == "snapshot" and recv_json(ws_b)["type"] == "snapshot"
        revoked = piko(server, "sessions", "revoke", a["id"][:6])
        assert revoked.returncode == 0 and a["id"] in revoked.stdout, revoked
        expect_closed_4401(ws_a)  # at once, not at its next reconnect
        assert as_session(server, a["session"]).status_code == 401
        ws_b.send('{"type":"ping"}')
        assert recv_json(ws_b) == {"type": "pong"}  # the other browser is untouched
        assert as_session(server, b).status_code == 200
        assert piko(server, "sessions", "revoke", "--all").returncode == 0
        expect_closed_4401(ws_b)
    assert as_session(server, b).status_code == 401
    assert "No browser is signed in" in piko(server, "sessions").stdout
    unknown = piko(server, "sessions", "revoke", "ffff")
    assert unknown.returncode == 1 and "no browser session" in unknown.stderr


def test_token_rotation_ends_every_session(server):
    old_token = server.token
    credential = new_session(server)
    with session_ws(server, credential) as ws:
        recv_json(ws)
        out = piko(server, "token", "rotate")
        assert out.returncode == 0 and "1 browser session(s) ended" in out.stdout, out
        expect_closed_4401(ws)
    assert server.token != old_token and (server.home / "token").stat().st_mode & 0o777 == 0o600
    assert as_session(server, credential).status_code == 401
    stale = server.request("GET", "/api/orchestra/notifications", auth=False,
                           headers={"Authorization": f"Bearer {old_token}"})
    assert stale.status_code == 401
    assert server.request("GET", "/api/orchestra/notifications").status_code == 200  # the new token
    assert piko(server, "respond", "--list").returncode == 0  # the CLI reads the new file


def test_sessions_survive_a_restart_but_not_a_token_changed_while_stopped(server):
    credential = new_session(server)
    server.restart()
    assert as_session(server, credential).status_code == 200
    server.stop()
    out = piko(server, "token", "rotate")
    assert out.returncode == 0 and "not running" in out.stdout, out
    server.start()
    assert as_session(server, credential).status_code == 401


def test_offline_rotation_refuses_while_a_server_holds_the_folder(server):
    token = server.token
    env = {**os.environ, "PIKO_HOME": str(server.home), "PIKO_URL": "http://127.0.0.1:9"}  # nothing there
    out = subprocess.run([sys.executable, "-m", "piko", "token", "rotate"], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 1 and "is running" in out.stderr, out
    assert server.token == token


SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize("path,auth,status", [
    ("/", False, 200), ("/login", False, 200), ("/static/app.js", False, 200), ("/static/login.js", False, 200),
    ("/static/style.css", False, 200), ("/static/nothing.js", False, 404), ("/api/health", False, 200),
    ("/api/orchestra/notifications", False, 401), ("/api/orchestra/notifications", True, 200),
    ("/api/orchestra/notifications/nope", True, 404), ("/nowhere", True, 404),
])
def test_every_response_carries_the_security_headers(server, path, auth, status):
    r = server.request("GET", path, auth=auth)
    assert r.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, (name, r.headers)
    csp = r.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
                      f"connect-src 'self' ws://127.0.0.1:{server.port}", "object-src 'none'"):
        assert directive in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    # Revalidated before reuse (no-cache) or never kept (no-store): no stale module after an upgrade.
    assert r.headers["cache-control"] in ("no-cache", "no-store"), r.headers


def test_refusals_carry_the_headers_too(server):
    r = server.request("GET", "/", auth=False, headers={"Host": "evil.example"})
    assert r.status_code == 421 and "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "evil.example" not in r.headers["content-security-policy"]


def test_the_pages_have_no_inline_script_or_handler():
    import re
    from pathlib import Path

    static = Path(__file__).resolve().parents[1] / "src" / "piko" / "server" / "static"
    for page in static.glob("*.html"):
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), page
        assert not re.search(r"\son[a-z]+\s*=", html), page
        assert not re.search(r"\sstyle\s*=", html), page


# ---- in the browser --------------------------------------------------------------------------------

@pytest.mark.browser
def test_no_piko_credential_reaches_another_port(server, listener, open_page):
    page = open_page(server)
    credential = stored_session(page)
    assert credential and credential.startswith("pikos_")
    other = page.context.new_page()
    other.goto(listener.url + "/visited")
    page.evaluate("url => fetch(url, {mode: 'no-cors', credentials: 'include'}).catch(() => null)",
                  listener.url + "/fetched")  # refused by our CSP anyway; nothing may leave even if not
    other.evaluate("url => fetch(url, {credentials: 'include'})", listener.url + "/from-other")
    assert [p for p, _ in listener.requests][:1] == ["/visited"] and len(listener.requests) >= 2
    for path, headers in listener.requests:
        text = "\n".join(f"{k}: {v}" for k, v in headers.items())
        assert "cookie" not in {k.lower() for k in headers}, (path, text)
        assert credential not in text and server.token not in text and "piko" not in text.lower(), (path, text)


@pytest.mark.browser
def test_a_page_on_another_port_cannot_frame_the_inbox(server, listener, open_page):
    page = open_page(server)  # signed in: the frame would open signed in too (same site, same storage)
    server.notify(hook_event_name="Notification", notification_type="idle_prompt", session_id="framed",
                  message="secret request")
    listener.page = (f'<!doctype html><title>clickjack</title><iframe id="f" src="{server.url}/" '
                     'width="800" height="600"></iframe>')
    attacker = page.context.new_page()
    console: list[str] = []
    attacker.on("console", lambda m: console.append(m.text))
    attacker.goto(listener.url + "/")
    attacker.wait_for_load_state("load")
    frames = [f for f in attacker.frames if f != attacker.main_frame]
    assert len(frames) == 1
    frame = frames[0]
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not any("frame-ancestors" in m for m in console):
        time.sleep(0.05)
    assert any("frame-ancestors" in m for m in console), console
    assert not frame.url.startswith(server.url), frame.url
    assert frame.locator("#requests").count() == 0
    assert "secret request" not in frame.content()


@pytest.mark.browser
def test_a_login_link_signs_in_once_and_leaves_no_secret_in_the_page(server, open_page, shot):
    url = login_url(server)
    page = open_page(server, signed_in=False)
    page.goto(url)
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "connected")
    assert page.url == server.url + "/"
    history = page.evaluate("() => [history.length, location.href]")
    assert "code=" not in history[1]
    html = page.content()
    assert server.token not in html and code_of(url) not in html
    credential = stored_session(page)
    assert credential not in html
    page.go_back()  # the history entry of the link no longer holds the code
    assert code_of(url) not in page.url

    again = open_page(server, signed_in=False)  # a fresh browser with the same link
    again.goto(url)
    expect(again.locator("#login-gone")).to_be_visible()
    expect(again.locator("#login-gone")).to_contain_text("piko login-url")
    assert again.url == server.url + "/login"
    assert stored_session(again) is None
    shot(again, "used")
    page.goto(url)  # the same browser, again
    expect(page.locator("#login-gone")).to_be_visible()
    page.goto(server.url + "/login")  # while signed in: on to the inbox
    expect(page).to_have_url(server.url + "/")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "connected")


@pytest.mark.browser
def test_an_expired_login_link_says_so(short_links, open_page):
    url = login_url(short_links)
    time.sleep(2.5)
    page = open_page(short_links, signed_in=False)
    page.goto(url)
    expect(page.locator("#login-gone")).to_be_visible()
    page.goto(short_links.url + "/")
    expect_signed_out_page(page)


@pytest.mark.browser
def test_sign_out_ends_the_session_at_once(server, open_page, shot):
    page = open_page(server)
    server.notify(hook_event_name="Notification", notification_type="idle_prompt", session_id="so",
                  message="waiting")
    second_tab = page.context.new_page()
    second_tab.goto(server.url + "/")
    expect(second_tab.locator("#requests .request-card")).to_have_count(1)
    credential = stored_session(page)
    page.locator("#sign-out").click()
    expect(page.locator("#login-signed-out")).to_be_visible()
    assert page.url == server.url + "/login"
    expect_signed_out_page(second_tab)  # its WebSocket was closed by the server
    shot(second_tab)
    assert stored_session(page) is None
    assert as_session(server, credential).status_code == 401
    assert piko(server, "sessions").stdout.strip() == "No browser is signed in."


@pytest.mark.browser
def test_a_revoked_browser_is_refused_at_once(server, open_page):
    kept = open_page(server)
    before = {s["id"] for s in server.request("GET", "/api/auth/sessions").json()["sessions"]}
    revoked = open_page(server)
    target, = {s["id"] for s in server.request("GET", "/api/auth/sessions").json()["sessions"]} - before
    server.notify(hook_event_name="Notification", notification_type="idle_prompt", session_id="rv",
                  message="waiting")
    expect(revoked.locator("#requests .request-card")).to_have_count(1)
    credential = stored_session(revoked)
    assert piko(server, "sessions", "revoke", target).returncode == 0
    expect_signed_out_page(revoked)
    assert as_session(server, credential).status_code == 401
    expect(kept.locator("#conn-status")).to_have_attribute("data-state", "connected")
    expect(kept.locator("#requests .request-card")).to_have_count(1)


@pytest.mark.browser
def test_rotating_the_token_signs_out_every_browser(server, open_page):
    pages = [open_page(server), open_page(server)]
    assert piko(server, "token", "rotate").returncode == 0
    for page in pages:
        expect_signed_out_page(page)
    fresh = open_page(server)  # a new link works with the new token
    expect(fresh.locator("#conn-status")).to_have_attribute("data-state", "connected")


@pytest.mark.browser
def test_the_pages_break_no_rule_of_their_policy(server, open_page):
    page = open_page(server, signed_in=False)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(server.url + "/login")
    login(page, server)
    server.notify(hook_event_name="PermissionRequest", session_id="csp", tool_name="Bash",
                  tool_input={"command": "ls"}, message="Claude needs your permission")
    expect(page.locator("#requests .request-card")).to_have_count(1)
    page.locator("#requests .request-card").first.click()
    expect(page.locator("#modal")).to_be_visible()
    page.keyboard.press("Escape")
    assert violations == []
