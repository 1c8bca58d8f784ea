"""The dialogs that ask a person to choose, in a real browser (Debian's Chromium through Playwright)
against a real `piko server`: questions with a multiple choice, "Other" (the person's own words) and a
review step, and "don't ask again" with a choice of what it grants. The other dialog views:
tests/test_web_ui_dialogs.py.

The requests are real hook payloads posted to the server; a record's `suggestions` (the contract of issue
13) are written into it on its way over the real WebSocket (tests/support/inbox_page.py: rewrite_records).
The answers' bodies are read off the real POST on its way to the server. Screenshots go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import pytest

from tests.conftest import hook_payload
from tests.support.browser import login
from tests.support.inbox_page import PHONE, open_request, sent_bodies, wait_for, with_fields

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None


# ---- questions -------------------------------------------------------------------------------------

QUESTIONS = [
    {"question": "Which checks should run?", "header": "Checks", "multiSelect": True,
     "options": [{"label": "Unit tests", "description": "fast"}, {"label": "Lint", "description": "ruff"},
                 {"label": "Type check", "description": "mypy"}]},
    {"question": "Which database?", "header": "Database", "multiSelect": False,
     "options": [{"label": "PostgreSQL", "description": "robust"}, {"label": "SQLite", "description": "simple"}]},
]


def test_two_questions_with_a_multiple_choice_and_other_are_reviewed_then_sent(server, open_page, shot):
    page = open_page()
    bodies = sent_bodies(page)
    login(page, server)
    body = hook_payload("PermissionRequest-AskUserQuestion") | {"tool_input": {"questions": QUESTIONS}}
    id = str(server.notify(**body)["id"])
    open_request(page, id)
    expect(page.locator("#modal-title")).to_have_text("Claude has 2 questions")
    first, second = page.locator("#questions fieldset.question").all()
    expect(first.locator("input[type=checkbox]:not(.other-check)")).to_have_count(3)
    submit = page.locator("#submit-answers")
    expect(submit).to_have_text("Review answers")
    expect(submit).to_be_disabled()

    first.locator("label.choice-check", has_text="Type check").click()
    first.locator("label.choice-check", has_text="Unit tests").click()
    second.locator("button.option", has_text="SQLite").click()
    expect(second.locator("button.option", has_text="SQLite")).to_have_attribute("aria-pressed", "true")
    expect(submit).to_be_enabled()
    words = "MariaDB, with $(id) and «quotes» ✓"
    second.locator("input.other-text").fill(words)  # the person's own words replace the button
    expect(second.locator("button.option", has_text="SQLite")).to_have_attribute("aria-pressed", "false")
    shot(page, "form")
    page.set_viewport_size(PHONE)
    shot(page, "form-phone", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 800})
    submit.click()

    review = page.locator("#questions .review")
    expect(review).to_be_visible()
    expect(review.locator("dt")).to_have_text(["Which checks should run?", "Which database?"])
    expect(review.locator("dd").nth(0).locator("li")).to_have_text(["Unit tests", "Type check"])
    expect(review.locator("dd").nth(1)).to_have_text(words)
    expect(submit).to_have_text("Send answers")
    shot(page)
    assert bodies == []  # the review sends nothing

    page.locator("#review-back").click()  # back: the choices are kept
    expect(page.locator("#questions fieldset.question").nth(0).locator("input[type=checkbox]").nth(2)).to_be_checked()
    expect(page.locator("#questions fieldset.question").nth(1).locator("input.other-text")).to_have_value(words)
    page.locator("#questions fieldset.question").nth(0).locator("label.choice-check", has_text="Lint").click()
    submit.click()
    expect(review.locator("dd").nth(0).locator("li")).to_have_text(["Unit tests", "Lint", "Type check"])
    submit.click()
    wait_for(bodies, 1, page)
    assert bodies == [{"notification_id": id, "answers": {
        "Which checks should run?": ["Unit tests", "Lint", "Type check"],
        "Which database?": words,
    }}]


def test_other_on_a_multiple_choice_is_added_to_the_labels(server, open_page):
    page = open_page()
    bodies = sent_bodies(page)
    login(page, server)
    body = hook_payload("PermissionRequest-AskUserQuestion") | {"tool_input": {"questions": QUESTIONS[:1]}}
    id = str(server.notify(**body)["id"])
    open_request(page, id)
    fieldset = page.locator("#questions fieldset.question")
    fieldset.locator("label.choice-check", has_text="Lint").click()
    fieldset.locator("input.other-text").fill("Bench")
    expect(fieldset.locator("input.other-check")).to_be_checked()
    page.locator("#submit-answers").click()
    page.keyboard.press("Control+Enter")  # the second press sends
    wait_for(bodies, 1, page)
    assert bodies == [{"notification_id": id, "answers": {"Which checks should run?": ["Lint", "Bench"]}}]


def test_own_words_on_a_single_question_are_reviewed_then_sent_as_typed(server, open_page):
    """A lone single-choice question is answered by one press of its button; words typed as "Other" turn
    it into a review then send, and arrive as typed (spaces and all)."""
    page = open_page()
    bodies = sent_bodies(page)
    login(page, server)
    id = str(server.notify(**hook_payload("PermissionRequest-AskUserQuestion"))["id"])
    open_request(page, id)
    submit = page.locator("#submit-answers")
    expect(submit).to_be_hidden()
    words = "  DuckDB,\tplease  "
    page.locator("#questions input.other-text").fill(words)
    expect(submit).to_be_visible()
    submit.click()
    expect(page.locator("#questions .review dd")).to_contain_text("DuckDB")
    submit.click()
    wait_for(bodies, 1, page)
    assert bodies == [{"notification_id": id, "answers": {"Which database should the app use?": words}}]


# ---- "don't ask again" with a choice ---------------------------------------------------------------

SUGGESTIONS = [
    {"index": 0, "kind": "mode", "label": "Accept edits for this session"},
    {"index": 1, "kind": "directory", "label": "/home/dev/myapp"},
    {"index": 2, "kind": "rule", "label": "Write(/home/dev/myapp/**)"},
]


def test_dont_ask_again_sends_the_chosen_suggestions(server, open_page, shot):
    page = open_page()
    with_fields(page, {"Write": {"suggestions": SUGGESTIONS}})
    bodies = sent_bodies(page)
    login(page, server)
    id = str(server.notify(**hook_payload("PermissionRequest-Write"))["id"])
    open_request(page, id)
    picker = page.locator("#modal-options #suggestions")
    boxes = picker.locator("input[type=checkbox]")
    expect(boxes).to_have_count(3)
    for i in range(3):
        expect(boxes.nth(i)).to_be_checked()
    expect(picker.locator(".suggestion-kind")).to_have_text(["Mode", "Folder", "Rule"])
    expect(picker.locator(".suggestion-label")).to_have_text([s["label"] for s in SUGGESTIONS])
    always = page.locator('#modal-options button.option[data-decision="always"]')
    expect(always.locator(".opt-label")).to_have_text("Yes, and don’t ask again for what is ticked")
    boxes.nth(0).uncheck()
    shot(page)
    always.click()
    wait_for(bodies, 1, page)
    assert bodies == [{"notification_id": id, "decision": "always", "suggestions": [1, 2]}]


def test_dont_ask_again_with_nothing_ticked_sends_nothing(server, open_page):
    page = open_page()
    with_fields(page, {"Write": {"suggestions": SUGGESTIONS[:1]}})
    bodies = sent_bodies(page)
    login(page, server)
    id = str(server.notify(**hook_payload("PermissionRequest-Write"))["id"])
    open_request(page, id)
    page.locator("#suggestions input[type=checkbox]").uncheck()
    page.locator('#modal-options button.option[data-decision="always"]').click()
    expect(page.locator("#modal-error")).to_contain_text("Tick at least one")
    page.wait_for_timeout(300)
    assert bodies == []
