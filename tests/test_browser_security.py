"""Only you can reach your agents, from the browser's side: one-time login links, browser sessions (no
cookie that another port of the host would receive), sign-out / revoke / token rotation, over HTTP and in a
real Chromium against a real `piko server`. The headers and policy that keep other pages out (framing,
credentials sent to another port): tests/test_browser_isolation.py."""

from __future__ import annotations

import hashlib
import hmac
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.browser import login_url, stored_session
from tests.support.server import PikoServer, recv_json

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None


# ---- helpers ---------------------------------------------------------------------------------------

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


# ---- in the browser --------------------------------------------------------------------------------

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
