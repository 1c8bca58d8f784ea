"""The inbox page under test: the requests it is shown, how a test finds its cards and badge and opens a
request, what the server sends it (rewritten on the way, over the real WebSocket) and what it posts back.
For the web UI tests (tests/test_web_ui*.py; without Playwright `expect` is None and they are skipped)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.conftest import hook_payload

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None

PHONE = {"width": 390, "height": 844}


# ---- requests for the page to show -----------------------------------------------------------------

def fake_dialog_pane(tmux, screen: Path, width: int = 200, height: int = 50) -> str:
    return tmux.dialog_pane(screen, width, height)


def idle(server, session: str, *, pane: str | None = None, tmux=None, **fields) -> str:
    body = {**hook_payload("Notification-idle_prompt"), "session_id": session, **fields}
    if pane:
        body |= {"tmux_target": pane, "tmux_socket": tmux.socket_path}
    return server.notify(**body)["id"]


# ---- reading the page ------------------------------------------------------------------------------

def card(page, id: str):
    return page.locator(f'#requests .request-card[data-id="{id}"]')


def expect_badge(page, count: int, timeout: float = 5000) -> None:
    expect(page.locator("#badge")).to_have_attribute("data-count", str(count), timeout=timeout)
    expect(page.locator("#badge")).to_have_text(str(count))
    expect(page).to_have_title(f"({count}) Piko Orchestra" if count else "Piko Orchestra")


def open_request(page: Any, id: str) -> None:
    card(page, id).click()
    expect(page.locator("#modal")).to_have_attribute("data-id", id)
    expect(page.locator("#modal")).to_be_visible()


# ---- what the server sends it, and what it posts ---------------------------------------------------

def rewrite_records(page, change) -> None:
    """Pass every request record the server sends the page over its WebSocket through `change(record)`."""
    def handler(ws) -> None:
        upstream = ws.connect_to_server()

        def from_server(message) -> None:
            msg = json.loads(message)
            for n in msg.get("notifications") or ([msg["notification"]] if msg.get("notification") else []):
                change(n)
            ws.send(json.dumps(msg))

        upstream.on_message(from_server)

    page.route_web_socket(re.compile(r"/api/orchestra/ws$"), handler)


def with_fields(page: Any, fields: dict[str, dict[str, Any]]) -> None:
    """Every record the page is sent gets `fields[its tool_name]` (the contract's detail, suggestions)."""
    def change(n: dict[str, Any]) -> None:
        n.update(fields.get(n.get("tool_name") or "", {}))
    rewrite_records(page, change)


def sent_bodies(page: Any) -> list[dict[str, Any]]:
    """The bodies the page POSTs to /respond (each still goes on to the server)."""
    bodies: list[dict[str, Any]] = []

    def handle(route: Any) -> None:
        bodies.append(json.loads(route.request.post_data or "null"))
        route.continue_()

    page.route("**/api/orchestra/respond", handle)
    return bodies


def wait_for(bodies: list[dict[str, Any]], count: int, page: Any) -> None:
    for _ in range(100):
        if len(bodies) >= count:
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"expected {count} POST bodies, got {bodies}")
