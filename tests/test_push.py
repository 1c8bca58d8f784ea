"""Web Push from a real `piko server` to a real push-service stand-in (web-push-testing, which checks each
push's VAPID signature and decrypts it with the subscription's keys): a push per new request, withdrawn when
the request is answered, held back while an inbox is visible, delayed, private unless opted in; the
subscription belongs to a browser session and goes with it; a subscription the service forgot is dropped."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.conftest import hook_payload
from tests.support.browser import login_url
from tests.support.hook import waiting_hook
from tests.support.push_service import PushService
from tests.support.server import PikoServer, recv_json


@pytest.fixture
def server(piko_home: Path) -> Iterator[PikoServer]:
    """A server that, for the local push service stand-in, accepts http endpoints on loopback."""
    srv = PikoServer(piko_home, env={"PIKO_PUSH_LOOPBACK_HTTP": "1"}).start()
    yield srv
    srv.stop()


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService()
    try:
        yield service
    finally:
        service.stop()


def browser_session(server: PikoServer) -> str:
    """A browser session's credential, got the way a browser gets one (a one-time login link)."""
    code = login_url(server).split("#code=", 1)[1]
    r = httpx.post(server.url + "/api/auth/login", json={"code": code})
    assert r.status_code == 200, r.text
    return str(r.json()["session"])


def as_session(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def subscribe(server: PikoServer, service: PushService, credential: str, **options) -> str:
    """Subscribe the stand-in with the server's key, register it for this session; its clientHash."""
    key = server.request("GET", "/api/push/key", auth=False, headers=as_session(credential))
    assert key.status_code == 200, key.text
    sub = service.subscribe(key.json()["public_key"])
    body = {"subscription": {"endpoint": sub["endpoint"], "keys": sub["keys"]}, **options}
    r = server.request("POST", "/api/push/subscription", auth=False, headers=as_session(credential), json=body)
    assert r.status_code == 200, r.text
    return str(sub["clientHash"])


def wait_messages(service: PushService, client_hash: str, count: int, timeout: float = 10) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = service.messages(client_hash)
        if len(got) >= count:
            return [json.loads(m) for m in got]
        time.sleep(0.05)
    raise AssertionError(f"expected {count} pushes, got {service.messages(client_hash)}")


def new_request(server: PikoServer, session: str = "s-1") -> str:
    body = {**hook_payload("PermissionRequest-Bash"), "session_id": session}
    return str(server.notify(**body)["id"])


def test_a_new_request_is_pushed_signed_and_encrypted_and_withdrawn_when_answered(server, piko_home,
                                                                                   push_service):
    credential = browser_session(server)
    client = subscribe(server, push_service, credential)
    hook, record = waiting_hook(server, piko_home)
    [pushed] = wait_messages(push_service, client, 1)
    assert pushed["type"] == "request" and pushed["id"] == record["id"]
    assert pushed["tag"] == f"piko-{record['id']}"
    assert pushed["title"] == "Claude needs you in myapp"
    assert pushed["body"] == ""  # no content unless opted in
    assert "touch" not in json.dumps(pushed)
    assert pushed["actions"] == ["allow", "deny", "open"]

    r = server.request("POST", "/api/orchestra/respond", auth=False, headers=as_session(credential),
                       json={"notification_id": record["id"], "decision": "allow"})
    assert r.status_code == 200, r.text
    assert hook.wait(10) == 0
    withdrawn = wait_messages(push_service, client, 2)[1]
    assert withdrawn == {"type": "resolved", "id": record["id"], "tag": f"piko-{record['id']}"}

    key_file = piko_home / "vapid.pem"  # made on first use, owner-only
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_content_only_when_opted_in(server, push_service):
    client = subscribe(server, push_service, browser_session(server), show_content=True)
    new_request(server)
    [pushed] = wait_messages(push_service, client, 1)
    assert pushed["body"] == "Bash: touch /tmp/build-marker"


def test_no_push_while_an_inbox_is_visible(server, push_service):
    credential = browser_session(server)
    client = subscribe(server, push_service, credential)
    with connect(server.ws_url, subprotocols=[Subprotocol("piko.v1"), Subprotocol(f"piko.bearer.{credential}")],
                 origin=server.url) as ws:
        json.loads(ws.recv(5))  # snapshot
        ws.send(json.dumps({"type": "presence", "visible": True}))
        ws.send(json.dumps({"type": "ping"}))
        assert recv_json(ws) == {"type": "pong"}  # the presence was read before the ping
        new_request(server, "seen")
        assert recv_json(ws)["type"] == "created"  # on the visible page (past the fleet's session messages)
        ws.send(json.dumps({"type": "presence", "visible": False}))
        ws.send(json.dumps({"type": "ping"}))
        assert recv_json(ws) == {"type": "pong"}
        second = new_request(server, "unseen")
    [pushed] = wait_messages(push_service, client, 1)
    assert pushed["id"] == second  # the first was never pushed
    time.sleep(0.5)
    assert len(push_service.messages(client)) == 1


def test_a_delay_holds_the_push_and_an_answer_within_it_cancels_it(server, push_service):
    credential = browser_session(server)
    client = subscribe(server, push_service, credential, delay_seconds=2)
    answered = new_request(server, "quick")
    assert server.request("DELETE", f"/api/orchestra/notifications/{answered}").status_code == 200
    late = new_request(server, "slow")
    time.sleep(1)
    assert push_service.messages(client) == []  # still within the delay
    pushed = wait_messages(push_service, client, 1)
    assert [p["id"] for p in pushed] == [late]
    time.sleep(1)
    assert len(push_service.messages(client)) == 1  # the answered one never went out


def test_revoking_the_session_drops_its_subscription(server, push_service):
    credential = browser_session(server)
    client = subscribe(server, push_service, credential)
    [session] = server.request("GET", "/api/auth/sessions").json()["sessions"]
    assert server.request("DELETE", f"/api/auth/sessions/{session['id']}").status_code == 200
    new_request(server)
    time.sleep(1)
    assert push_service.messages(client) == []
    other = browser_session(server)  # the revoked session's subscription is gone for good
    r = server.request("GET", "/api/push/subscription", auth=False, headers=as_session(other))
    assert r.json() == {"subscriptions": []}


def test_a_subscription_the_push_service_forgot_is_dropped(server, piko_home, push_service):
    credential = browser_session(server)
    client = subscribe(server, push_service, credential)
    push_service.expire(client)  # the service now answers 410 Gone
    new_request(server)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = server.request("GET", "/api/push/subscription", auth=False, headers=as_session(credential))
        if r.json()["subscriptions"] == []:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the expired subscription was kept")


@pytest.mark.parametrize(("body", "needle"), [
    ({}, "subscription"),
    ({"subscription": {"endpoint": "http://push.example.com/x", "keys": {"p256dh": "a", "auth": "b"}}}, "https"),
    ({"subscription": {"endpoint": "https://push.example.com/x", "keys": {"p256dh": "a b", "auth": "b"}}},
     "base64url"),
    ({"subscription": {"endpoint": "https://push.example.com/x", "keys": {"p256dh": "a", "auth": "b"}},
      "delay_seconds": -1}, "delay_seconds"),
    ({"subscription": {"endpoint": "https://push.example.com/x", "keys": {"p256dh": "a", "auth": "b"}},
      "show_content": "yes"}, "show_content"),
])
def test_a_bad_subscription_is_refused_with_a_sentence(server, body, needle):
    r = server.request("POST", "/api/push/subscription", auth=False, headers=as_session(browser_session(server)),
                       json=body)
    assert r.status_code == 400 and needle in r.json()["error"], r.text


def test_an_http_endpoint_is_refused_without_the_test_switch(piko_home, push_service):
    """Only https push services: plain http (even on loopback) needs PIKO_PUSH_LOOPBACK_HTTP=1 (tests)."""
    srv = PikoServer(piko_home).start()
    try:
        credential = browser_session(srv)
        key = srv.request("GET", "/api/push/key").json()["public_key"]
        sub = push_service.subscribe(key)
        r = srv.request("POST", "/api/push/subscription", auth=False, headers=as_session(credential),
                        json={"subscription": {"endpoint": sub["endpoint"], "keys": sub["keys"]}})
        assert r.status_code == 400 and "https" in r.json()["error"], r.text
    finally:
        srv.stop()


def test_only_a_browser_session_subscribes(server):
    r = server.request("POST", "/api/push/subscription", json={})
    assert r.status_code == 400 and r.json()["code"] == "not_a_session"


def test_a_planted_link_for_the_key_is_refused(server, piko_home):
    target = piko_home.parent / "elsewhere.pem"
    target.write_text("not ours")
    os.symlink(target, piko_home / "vapid.pem")
    r = server.request("GET", "/api/push/key")
    assert r.status_code == 409 and "symbolic link" in r.json()["error"], r.text
    assert target.read_text() == "not ours"  # never followed or replaced


@pytest.mark.browser
def test_a_visible_inbox_in_a_real_browser_holds_pushes_back(server, push_service, open_page):
    page = open_page(server)  # signed in, inbox visible: the page reports its presence over the WebSocket
    credential = page.evaluate("localStorage.getItem('piko.orchestra.session')")
    client = subscribe(server, push_service, credential)
    seen = new_request(server, "seen")
    page.locator(f'.request-card[data-id="{seen}"]').wait_for()
    time.sleep(1)
    assert push_service.messages(client) == []
    page.goto(server.url + "/static/offline.html")  # no inbox open any more
    unseen = new_request(server, "unseen")
    assert [p["id"] for p in wait_messages(push_service, client, 1)] == [unseen]


@pytest.mark.browser
def test_a_visible_inbox_left_alone_no_longer_holds_pushes_back(server, push_service, open_page):
    """Someone who walks away from a visible inbox still gets the push on their phone: the page counts as
    looked at only while it is used (here within 3 s; 3 minutes by default)."""
    page = open_page(server, init_script="window.PIKO_PRESENCE_IDLE_MS = 3000;")
    credential = page.evaluate("localStorage.getItem('piko.orchestra.session')")
    client = subscribe(server, push_service, credential)

    def looked_at(expected: bool) -> None:
        page.wait_for_function(f"() => window.__pikoPresence === {str(expected).lower()}", timeout=10_000)

    page.evaluate("""() => {  // what the page last told the server, read off its WebSocket
        const send = WebSocket.prototype.send;
        WebSocket.prototype.send = function (data) {
            try { const m = JSON.parse(data); if (m.type === 'presence') window.__pikoPresence = m.visible; }
            catch (_) {}
            return send.call(this, data);
        };
    }""")
    page.mouse.move(10, 10)
    page.mouse.move(40, 40)  # in use: no push
    seen = new_request(server, "seen")
    page.locator(f'.request-card[data-id="{seen}"]').wait_for()
    time.sleep(0.5)
    assert push_service.messages(client) == []
    looked_at(False)  # 3 s without a key, a click or the pointer moving: it tells the server
    unattended = new_request(server, "unattended")
    assert [p["id"] for p in wait_messages(push_service, client, 1)] == [unattended]
    page.mouse.move(80, 80)  # back at the desk: pushes held back again
    looked_at(True)
    back = new_request(server, "back")
    page.locator(f'.request-card[data-id="{back}"]').wait_for()
    time.sleep(1)
    assert [p["id"] for p in wait_messages(push_service, client, 1)] == [unattended]
