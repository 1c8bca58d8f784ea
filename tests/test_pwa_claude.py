"""End to end, everything real: a Claude Code agent (the real CLI, in tmux, hooks from `piko cc init`) asks to
run a command; `piko server` pushes it (VAPID-signed, encrypted) to a push-service stand-in
(web-push-testing), which verifies and decrypts it; that payload is handed to the installed service worker in
Chromium through the DevTools protocol, as the browser's push service would; its notification's Allow
action answers with the device's own session, and the agent runs the command."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.agents import Rig, running_rig
from tests.support.push_service import PushService
from tests.support.server import PikoServer
from tests.test_push import subscribe, wait_messages
from tests.test_pwa import ACTION, deliver, installed, notifications_when

pytestmark = [pytest.mark.claude, pytest.mark.browser]


@pytest.fixture
def server(piko_home: Path) -> Iterator[PikoServer]:
    srv = PikoServer(piko_home, env={"PIKO_PUSH_LOOPBACK_HTTP": "1"}).start()
    yield srv
    srv.stop()


@pytest.fixture
def rig(tmp_path: Path, server: PikoServer) -> Iterator[Rig]:
    with running_rig(tmp_path, server) as rig:
        yield rig


def test_allow_from_a_pushed_notification_lets_a_real_agent_proceed(rig, tmp_path, open_page):
    service = PushService()
    try:
        page = installed(open_page, rig.server)
        page.context.grant_permissions(["notifications"], origin=rig.server.url)
        credential = page.evaluate("localStorage.getItem('piko.orchestra.session')")
        client = subscribe(rig.server, service, credential)
        # This device looks away: a page of the origin without an inbox (no visible inbox, so a push is due).
        page.goto(rig.server.url + "/static/offline.html")

        agent = rig.agent(rig.project("shop"))
        target = tmp_path / f"marker-{uuid.uuid4().hex[:8]}"
        agent.type_prompt(f"please [bash:touch {target}] now")
        record = rig.wait_request(lambda r: str(target) in str(r.get("tool_input")) and r["hook_waiting"])
        [pushed] = wait_messages(service, client, 1, timeout=20)  # verified and decrypted by the stand-in
        assert pushed["id"] == record["id"] and pushed["title"] == "Claude needs you in shop"

        deliver(page, rig.server, pushed)
        [note] = notifications_when(page, bool)
        assert note["actions"] == ["allow", "deny"]
        assert page.evaluate(ACTION, [pushed["tag"], "allow"]) == {"ok": True, "status": 200}
        agent.wait_for("Allowed by PermissionRequest hook")
        deadline = time.monotonic() + 15
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.exists()
        withdrawn = wait_messages(service, client, 2)[1]
        assert withdrawn == {"type": "resolved", "id": record["id"], "tag": pushed["tag"]}
        assert rig.server.get(record["id"])["status"] == "resolved"
    finally:
        service.stop()
