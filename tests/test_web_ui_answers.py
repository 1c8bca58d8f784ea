"""Answering from the web UI in a real browser (Debian's Chromium through Playwright) against a real
`piko server`, into real tmux panes: Send types into the pane, a dialog's option buttons and keys, a server
error, two pages in step. The inbox as it shows requests: tests/test_web_ui.py.

Every test saves a screenshot of its interesting moment to test-artifacts/screenshots/<test name>.png,
and one of each open page when it fails.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import FIXTURES, hook_payload
from tests.support.inbox_page import card, expect_badge, fake_dialog_pane, idle

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None

HOSTILE_REPLY = "it's \"quoted\" $(touch /tmp/piko-pwned) `id`; héllo wörld ✓ 日本語 🚀"


# ---- Send types into the pane ---------------------------------------------------------------------

def test_send_types_the_reply_into_the_real_pane(server, tmux, open_page, shot):
    pane = tmux.echo_pane()
    id = idle(server, "send-1", pane=pane, tmux=tmux, project_name="myapp")
    page = open_page(server)
    card(page, id).click()
    modal = page.locator("#modal")
    expect(modal).to_be_visible()
    expect(modal).to_have_attribute("data-id", id)
    expect(modal).to_have_attribute("data-kind", "idle")
    expect(page.locator("#preview-status")).to_have_text("Live")
    expect(page.locator("#preview")).to_contain_text("READY")
    page.locator("#response-text").fill(HOSTILE_REPLY)
    shot(page, "typed")
    page.locator("#send").click()

    tmux.wait_for(pane, re.escape(f"GOT:{HOSTILE_REPLY!r}"))
    expect(modal).to_be_hidden()
    expect(card(page, id)).to_have_count(0)
    expect_badge(page, 0)
    record = server.get(id)
    assert (record["status"], record["response"], record["resolved_via"]) == ("resolved", HOSTILE_REPLY, "keys")
    shot(page)


# ---- option buttons, and errors -------------------------------------------------------------------

def test_deny_button_presses_no_on_the_dialog(server, tmux, open_page, shot):
    pane = fake_dialog_pane(tmux, FIXTURES / "screens" / "screen-permission-bash.txt")
    payload = hook_payload("PermissionRequest-Bash") | {"tmux_target": pane, "tmux_socket": tmux.socket_path,
                                                        "project_name": "myapp"}
    id = server.notify(**payload)["id"]
    page = open_page(server)
    card(page, id).click()
    expect(page.locator("#modal")).to_have_attribute("data-kind", "permission")
    expect(page.locator("#modal-title")).to_have_text("Allow Bash?")
    expect(page.locator("#modal-details")).to_contain_text("touch /tmp/build-marker")
    expect(page.locator("#preview")).to_contain_text("Do you want to proceed?")
    expect(page.locator("#modal-route")).to_have_attribute("data-route", "keys")  # no hook waits here
    expect(page.locator("#response-text")).to_be_hidden()  # text would go into the dialog
    buttons = page.locator("#modal-options button.option")
    expect(buttons).to_have_count(3)
    assert buttons.evaluate_all("bs => bs.map(b => b.dataset.decision)") == ["allow", "always", "deny"]
    shot(page)

    page.locator('#modal-options button.option[data-decision="deny"]').click()
    tmux.wait_for(pane, re.escape("GOT:'4'"))  # "4. No" on this screen
    expect(page.locator("#modal")).to_be_hidden()
    expect(card(page, id)).to_have_count(0)
    expect_badge(page, 0)
    record = server.get(id)
    assert (record["status"], record["response"], record["response_type"]) == ("resolved", "deny", "decision")
    assert "GOT:'1'" not in tmux.capture(pane)


def test_a_server_error_shows_in_the_modal_and_the_card_stays(server, open_page, shot):
    id = idle(server, "no-pane", project_name="outside-tmux")  # no tmux pane to type into
    page = open_page(server)
    card(page, id).click()
    page.locator("#response-text").fill("hello")
    page.locator("#send").click()
    error = page.locator("#modal-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-code", "no_pane")
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("no pane to type into")
    expect(page.locator("#modal")).to_be_visible()
    expect(page.locator("#send")).to_be_enabled()
    expect(page.locator("#response-text")).to_have_value("hello")
    shot(page)

    page.keyboard.press("Escape")
    expect(page.locator("#modal")).to_be_hidden()
    expect(card(page, id)).to_be_visible()
    expect_badge(page, 1)
    assert server.get(id)["status"] == "pending"


# ---- two pages ------------------------------------------------------------------------------------

def test_two_pages_stay_in_step(server, tmux, open_page, shot):
    pane = tmux.echo_pane()
    first = idle(server, "two-1", pane=pane, tmux=tmux, project_name="myapp")
    second = idle(server, "two-2", project_name="other")
    page_a, page_b = open_page(server), open_page(server)
    for page in (page_a, page_b):
        expect(page.locator("#requests .request-card")).to_have_count(2)

    card(page_b, first).click()
    expect(page_b.locator("#modal")).to_have_attribute("data-id", first)
    card(page_a, first).click()
    page_a.locator("#response-text").fill("from page A")
    page_a.locator("#send").click()
    expect(card(page_b, first)).to_have_count(0, timeout=1000)
    elsewhere = page_b.locator("#modal-elsewhere")
    expect(elsewhere).to_be_visible(timeout=1000)
    expect(elsewhere).to_contain_text("Answered elsewhere")
    expect(elsewhere).to_contain_text("from page A")
    expect(page_b.locator("#send")).to_be_disabled()
    expect_badge(page_b, 1, timeout=1000)
    tmux.wait_for(pane, re.escape("GOT:'from page A'"))
    assert tmux.capture(pane).count("GOT:") == 1
    resolved = server.get(first)["resolution"]
    expect(page_b.locator("#modal-elsewhere-detail")).to_have_text(f"{resolved} Answer: from page A")
    shot(page_b)

    page_b.locator("#open-next").click()
    expect(page_b.locator("#modal")).to_have_attribute("data-id", second)
    expect(page_b.locator("#modal-elsewhere")).to_be_hidden()
    card(page_a, second).click()
    page_a.locator("#dismiss").click()
    expect(card(page_b, second)).to_have_count(0, timeout=1000)
    expect(page_b.locator("#modal-elsewhere")).to_be_visible(timeout=1000)
    resolution = server.get(second)["resolution"]  # the server's one sentence for how it went
    assert "dismissed" in resolution.lower()
    expect(page_b.locator("#modal-elsewhere-detail")).to_have_text(resolution)
    expect_badge(page_b, 0, timeout=1000)
    expect_badge(page_a, 0, timeout=1000)
    assert server.get(second)["status"] == "dismissed"
    shot(page_b, "dismissed")


# ---- keyboard -------------------------------------------------------------------------------------

def test_keyboard_opens_closes_and_picks_options(server, tmux, open_page, shot):
    pane = fake_dialog_pane(tmux, FIXTURES / "screens" / "screen-askuserquestion.txt")
    question = server.notify(**hook_payload("PermissionRequest-AskUserQuestion")
                             | {"tmux_target": pane, "tmux_socket": tmux.socket_path, "project_name": "myapp"})["id"]
    newer = idle(server, "kbd-idle", project_name="docs")
    page = open_page(server)
    expect(page.locator("#requests .request-card")).to_have_count(2)
    modal = page.locator("#modal")

    page.keyboard.press("n")  # the oldest, although the newest is listed first
    expect(modal).to_be_visible()
    expect(modal).to_have_attribute("data-id", question)
    expect(page.locator("#modal-title")).to_have_text("Claude has a question")
    expect(page.locator("#questions button.option")).to_have_count(2)
    page.keyboard.press("Escape")
    expect(modal).to_be_hidden()
    expect(card(page, question)).to_be_focused()  # focus goes back to the card it came from

    page.keyboard.press("k")
    expect(card(page, newer)).to_be_focused()
    page.keyboard.press("Enter")
    expect(modal).to_have_attribute("data-id", newer)
    expect(modal).to_be_visible()
    page.keyboard.press("Escape")
    expect(modal).to_be_hidden()

    page.keyboard.press("n")
    expect(modal).to_have_attribute("data-id", question)
    expect(page.locator("#questions button.option").nth(1)).to_contain_text("SQLite")
    shot(page)
    page.keyboard.press("2")
    tmux.wait_for(pane, re.escape("GOT:'2'"))  # "2. SQLite" on this screen
    expect(modal).to_be_hidden()
    expect(card(page, question)).to_have_count(0)
    expect_badge(page, 1)
    assert server.get(question)["response"] == {"Which database should the app use?": "SQLite"}
