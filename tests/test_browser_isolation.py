"""Other pages cannot reach the inbox: the security headers on every response (no framing, a strict
Content-Security-Policy that the pages themselves keep), and no Piko credential sent to another port of the
host. Real `piko server`, real Chromium, a real listener on another loopback port standing in for any other
local web page. Login links and browser sessions: tests/test_browser_security.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.browser import login, stored_session

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


# ---- over HTTP -------------------------------------------------------------------------------------

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
