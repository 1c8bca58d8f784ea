"""The web UI's fleet view, as the browser tests drive it."""

from __future__ import annotations

from typing import Any


def open_fleet(page: Any) -> None:
    """Switch the page to the fleet view (its keyboard shortcut, `f`)."""
    from playwright.sync_api import expect

    page.keyboard.press("f")
    expect(page.locator("#fleet-view")).to_be_visible()
    expect(page.locator("#tab-fleet")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#inbox-view")).to_be_hidden()


def agent(page: Any, id: str) -> Any:
    """The fleet view's card of session `id`."""
    return page.locator(f'#fleet-list .session-card[data-id="{id}"]')
