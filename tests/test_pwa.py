"""The installable web app in a real Chromium (Playwright) against a real `piko server`: the manifest and the
service worker load and install, the offline page shows when the server cannot be reached, and a push
delivered through the DevTools protocol shows a notification whose Allow action answers a real waiting hook
with this device's own session."""

from __future__ import annotations

import json
import struct

import msgspec
import pytest

from piko.models import Record
from piko.server.push import payload
from tests.conftest import hook_payload
from tests.support.hook import waiting_hook
from tests.support.records import record as make_record

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None

READY = "navigator.serviceWorker.ready.then(r => r.scope)"
NOTIFICATIONS = """navigator.serviceWorker.ready.then(r => r.getNotifications())
    .then(ns => ns.map(n => ({tag: n.tag, title: n.title, body: n.body, actions: n.actions.map(a => a.action)})))"""
ACTION = """([tag, action]) => new Promise(resolve => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (e) => resolve(e.data);
    navigator.serviceWorker.controller.postMessage({type: 'action', tag, action}, [channel.port2]);
})"""


def notifications_when(page, condition, timeout: float = 10_000) -> list[dict]:
    """The service worker's shown notifications, once `condition(them)` holds."""
    waited = 0
    while True:
        shown = page.evaluate(NOTIFICATIONS)
        if condition(shown):
            return list(shown)
        assert waited < timeout, f"notifications are still {shown}"
        page.wait_for_timeout(100)
        waited += 100


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def installed(open_page, server, **options):
    page = open_page(server, **options)
    assert page.evaluate(READY) == server.url + "/"
    page.reload()  # now controlled by the worker
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "connected")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == server.url + "/sw.js"
    return page


def deliver(page, server, message: dict) -> None:
    """A push, as the browser's push service would hand it over, through the DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(50):
        if registrations:
            break
        page.wait_for_timeout(100)
    [registration] = [r for r in registrations if r["scopeURL"] == server.url + "/" and not r["isDeleted"]]
    cdp.send("ServiceWorker.deliverPushMessage", {"origin": server.url + "/",
                                                  "registrationId": registration["registrationId"],
                                                  "data": json.dumps(message)})


def test_the_manifest_and_service_worker_load_and_install(server, open_page):
    page = installed(open_page, server)
    href = page.locator('link[rel="manifest"]').get_attribute("href")
    manifest = page.request.get(server.url + href)
    assert manifest.ok and manifest.headers["content-type"].startswith("application/manifest+json")
    data = manifest.json()
    assert data["start_url"] == "/" and data["scope"] == "/" and data["display"] == "standalone"
    for icon in data["icons"]:
        image = page.request.get(server.url + icon["src"])
        assert image.ok and image.headers["content-type"] == "image/png"
        assert png_size(image.body()) == tuple(int(n) for n in icon["sizes"].split("x"))
    assert {i["purpose"] for i in data["icons"]} == {"any", "maskable"}
    csp = page.request.get(server.url + "/sw.js").headers["content-security-policy"]
    assert "worker-src 'self'" in csp and "manifest-src 'self'" in csp
    # The shell is kept for offline use; the API never is.
    cached = page.evaluate("caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))"
                           ".then(ls => ls.flat().map(r => new URL(r.url).pathname))")
    assert {"/", "/static/offline.html", "/static/app.js", "/static/connection.js"} <= set(cached)
    assert not [p for p in cached if p.startswith("/api/")]


def test_without_the_server_the_app_says_it_is_offline(server, open_page, shot):
    page = installed(open_page, server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    server.stop()
    page.reload()
    expect(page.locator("h1")).to_have_text("You are offline")
    shot(page)
    server.start()
    page.locator("#retry").click()
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "connected")


def test_a_pushed_request_is_allowed_from_its_notification(server, piko_home, open_page, shot):
    page = installed(open_page, server)
    page.context.grant_permissions(["notifications"], origin=server.url)
    hook, record = waiting_hook(server, piko_home)
    tag = f"piko-{record['id']}"
    deliver(page, server, payload(msgspec.convert(record, Record), show_content=True))  # what server/push.py sends
    [note] = notifications_when(page, bool)
    assert note == {"tag": tag, "title": "Claude needs you in myapp", "body": "Bash: touch /tmp/build-marker",
                    "actions": ["allow", "deny"]}  # Chromium shows two actions; a click on the body opens

    assert page.evaluate(ACTION, [tag, "allow"]) == {"ok": True, "status": 200}
    assert hook.wait(10) == 0
    decision = json.loads(hook.stdout.read())["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "allow"
    assert server.get(record["id"])["status"] == "resolved"
    assert page.evaluate(NOTIFICATIONS) == []  # closed by the action


def test_an_answered_request_withdraws_its_notification(server, open_page):
    page = installed(open_page, server)
    page.context.grant_permissions(["notifications"], origin=server.url)
    record = make_record(id="abc123", kind="idle", project_name="web", options=[])
    deliver(page, server, payload(record, show_content=False))
    [note] = notifications_when(page, bool)
    assert note["body"] == "" and note["title"] == "Claude needs you in web"
    deliver(page, server, {"type": "resolved", "id": "abc123", "tag": "piko-abc123"})
    notifications_when(page, lambda shown: not shown)


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def test_on_a_phone_the_request_reads_without_zooming_and_every_target_is_finger_sized(server, open_page, shot):
    page = open_page(server, **PHONE)
    body = {**hook_payload("PermissionRequest-Bash"), "session_id": "phone"}
    body["tool_input"] = {**body["tool_input"], "command": "npm run build && rsync -av --delete ./dist/ "
                                                           "deploy@example.com:/srv/www/app/ && echo done"}
    id = server.notify(**body)["id"]
    page.locator(f'.request-card[data-id="{id}"]').click()
    expect(page.locator("#modal")).to_be_visible()
    shot(page)
    sizes = page.evaluate("""() => {
        const visible = (e) => e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden';
        const command = [...document.querySelectorAll('#modal-details *')]
            .find((e) => e.children.length === 0 && e.textContent.includes('rsync -av'));
        const small = [...document.querySelectorAll('#modal button, .app-header button')].filter(visible)
            .filter((b) => b.getBoundingClientRect().height < 44 && !b.closest('.close-button'))
            .map((b) => b.id || b.textContent.trim());
        return {scroll: document.documentElement.scrollWidth, width: window.innerWidth, small,
                commandFont: parseFloat(getComputedStyle(command).fontSize),
                commandWraps: command.scrollWidth <= command.clientWidth};
    }""")
    assert sizes["scroll"] == sizes["width"]  # nothing wider than the phone: no sideways scrolling
    assert sizes["commandFont"] >= 13 and sizes["commandWraps"]
    assert sizes["small"] == []


def test_notification_permission_is_asked_on_a_click_and_a_refusal_is_said(server, open_page, shot):
    page = installed(open_page, server, **PHONE)
    assert page.evaluate("Notification.permission") == "default"  # nothing asked on load
    page.locator("#push-button").click()
    expect(page.locator("#push-state")).to_have_text("This device gets no notifications.")
    page.locator("#push-on").click()  # headless Chromium answers the prompt with "denied"
    expect(page.locator("#push-error")).to_contain_text("blocked")
    shot(page)
