"""An MCP server's form (an elicitation) in a real browser (Debian's Chromium through Playwright), against
a real `piko server` and a real waiting `piko cc notify` hook fed the Elicitation event Claude Code 2.1.328
sends: the server, the message and a form built from the fields (text, checkbox, a select for the choice,
a number), a required field left empty said in words, then Accept with exactly what was filled in, and
Decline. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.inbox_page import card
from tests.support.server import PikoServer
from tests.test_respond_elicit import output_of, waiting

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None


def open_form(page: Any, id: str) -> Any:
    card(page, id).click()
    modal = page.locator("#modal")
    expect(modal).to_have_attribute("data-id", id)
    expect(modal).to_have_attribute("data-kind", "elicitation")
    return modal


def test_the_form_is_filled_in_and_accepted(server: PikoServer, piko_home: Path, open_page: Any, shot: Any) -> None:
    hook, request = waiting(server, piko_home, "browser-accept")
    try:
        page = open_page(server)
        expect(card(page, request["id"])).to_contain_text("Tell me about you")
        expect(card(page, request["id"])).to_contain_text("MCP input")
        modal = open_form(page, request["id"])
        expect(page.locator("#modal-title")).to_have_text("pikostub asks for your input")
        expect(modal.locator(".elicit-message")).to_have_text("Tell me about you")
        expect(page.locator("#modal-route")).to_have_text("answer goes straight to Claude")
        expect(modal.locator('label[for="elicit-name"]')).to_contain_text("Your name")
        expect(modal.locator(".elicit-field[data-field=name] .elicit-description")).to_have_text("Who is asking")
        expect(modal.locator("#elicit-urgent")).to_have_attribute("type", "checkbox")
        expect(modal.locator("#elicit-urgent")).not_to_be_checked()  # its default, false
        expect(modal.locator("#elicit-color option")).to_have_text(["Choose…", "Red", "Green", "Blue"])
        expect(modal.locator("#elicit-count")).to_have_attribute("type", "number")
        expect(modal.locator("#elicit-count")).to_have_attribute("max", "10")
        modal.locator("#elicit-name").fill("Zoë \u202e <b>x</b>")
        modal.locator('button.option[data-action="accept"]').click()
        expect(page.locator("#modal-error")).to_contain_text("Fill in Color: it is required.")
        assert hook.poll() is None  # nothing was sent
        modal.locator("#elicit-urgent").check()
        modal.locator("#elicit-color").select_option("green")
        modal.locator("#elicit-count").fill("4")
        shot(page, "form")
        modal.locator('button.option[data-action="accept"]').click()
        expect(modal).to_be_hidden()
        assert json.loads(output_of(hook)) == {"hookSpecificOutput": {
            "hookEventName": "Elicitation", "action": "accept",
            "content": {"name": "Zoë \u202e <b>x</b>", "urgent": True, "color": "green", "count": 4}}}
        done = server.get(request["id"])
        assert (done["status"], done["resolved_via"], done["answered_by"]["kind"]) == ("resolved", "hook", "browser")
    finally:
        if hook.poll() is None:
            hook.kill()


def test_decline(server: PikoServer, piko_home: Path, open_page: Any) -> None:
    hook, request = waiting(server, piko_home, "browser-decline")
    try:
        page = open_page(server)
        modal = open_form(page, request["id"])
        modal.locator('button.option[data-action="decline"]').click()
        expect(modal).to_be_hidden()
        assert json.loads(output_of(hook)) == {"hookSpecificOutput": {"hookEventName": "Elicitation",
                                                                      "action": "decline"}}
    finally:
        if hook.poll() is None:
            hook.kill()
