"""Every dialog's view in a real browser (Debian's Chromium through Playwright) against a real `piko
server`: a file change as a unified diff, a plan as safe Markdown with its three choices, an MCP tool's
arguments as a tree, a web address, raw input, and a notice that needs no answer. Questions with a multiple
choice, "Other" and a review step, and "don't ask again" with a choice of grants:
tests/test_web_ui_choices.py.

The requests are real hook payloads posted to the server. What the server adds to a record for these
views (`detail`, `suggestions`: the contract of issue 13) is written into the records on their way over
the real WebSocket (tests/support/inbox_page.py: rewrite_records), so these tests check the page given such
records whatever the server computes. The answers' bodies are read off the real POST on its way to the
server. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import hook_payload
from tests.support.browser import login
from tests.support.inbox_page import PHONE, card, open_request, sent_bodies, wait_for, with_fields

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None


def permission(server: Any, session: str, tool: str, tool_input: dict[str, Any], **fields: Any) -> str:
    body = hook_payload("PermissionRequest-Write") | {"session_id": session, "tool_name": tool,
                                                      "tool_input": tool_input, **fields}
    return str(server.notify(**body)["id"])


# ---- a file change as a unified diff ---------------------------------------------------------------

UNIFIED = (
    "--- a/src/billing/invoice.py\n"
    "+++ b/src/billing/invoice.py\n"
    "@@ -10,5 +10,6 @@ def total(lines):\n"
    "     subtotal = sum(line.amount for line in lines)\n"
    "-    return round(subtotal * TAX, 2)\n"
    "+    taxed = subtotal * TAX  # a very long comment line that goes on and on past any phone's width, sideways\n"
    "+    return taxed.quantize(CENT, rounding=ROUND_HALF_UP)\u202e\n"
    " \n"
    " def describe(invoice):\n"
)
DIFF = {"kind": "diff", "path": "/home/dev/myapp/src/billing/invoice.py", "unified": UNIFIED,
        "added": 2, "removed": 1, "new_file": False, "folded": True, "size": 1234}


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_an_edit_is_shown_as_a_unified_diff(server, open_page, shot, viewport):
    """+/− lines, hunk header, path and "+2 −1", the fold said with its size, hidden characters marked;
    on a phone the diff scrolls sideways inside its block and the page does not."""
    phone = viewport == "phone"  # also in the dark scheme
    page = open_page(viewport=PHONE if phone else {"width": 1280, "height": 800},
                     color_scheme="dark" if phone else "light")
    with_fields(page, {"Edit": {"detail": DIFF}})
    login(page, server)
    id = permission(server, "diff", "Edit", {"file_path": DIFF["path"], "old_string": "return round(",
                                             "new_string": "taxed = "})
    open_request(page, id)
    diff = page.locator("#modal-details pre.diff")
    expect(diff.locator(".diff-add")).to_have_count(2)
    expect(diff.locator(".diff-del")).to_have_count(1)
    expect(diff.locator(".diff-hunk")).to_have_text("@@ -10,5 +10,6 @@ def total(lines):")
    expect(diff.locator(".diff-file")).to_have_count(2)
    expect(diff.locator(".diff-ctx")).to_have_count(3)
    expect(diff.locator(".diff-del")).to_have_text("-    return round(subtotal * TAX, 2)")
    expect(diff.locator(".diff-add").nth(1).locator("mark.hidden-char")).to_have_text("⟨U+202E⟩")
    expect(page.locator("#modal-details .diff-head .path")).to_have_text(DIFF["path"])
    expect(page.locator("#modal-details .diff-stats")).to_have_text("+2 −1")
    expect(page.locator("#modal-details .diff-badge")).to_have_count(0)
    expect(page.locator("#modal-details .diff-folded")).to_contain_text("the whole diff is 1234 lines")
    expect(page.locator("#modal-details .field-label", has_text="Replace")).to_have_count(0)
    assert diff.evaluate("e => getComputedStyle(e).whiteSpace") == "pre"
    assert diff.evaluate("e => getComputedStyle(e).fontFamily").lower().find("mono") >= 0
    if phone:
        assert diff.evaluate("e => e.scrollWidth > e.clientWidth")  # the long line scrolls in the block
        inner = page.locator("#modal .modal-inner")
        assert inner.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the dialog itself scrolls sideways"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    diff.scroll_into_view_if_needed()
    shot(page)


def test_a_new_file_says_so(server, open_page):
    page = open_page()
    detail = {"kind": "diff", "path": "/home/dev/myapp/NOTES.md", "unified": "--- /dev/null\n+++ b/NOTES.md\n"
              "@@ -0,0 +1,2 @@\n+# Notes\n+hello\n", "added": 2, "removed": 0, "new_file": True,
              "folded": False, "size": 60}
    with_fields(page, {"Write": {"detail": detail}})
    login(page, server)
    id = permission(server, "new", "Write", {"file_path": detail["path"], "content": "# Notes\nhello\n"})
    open_request(page, id)
    expect(page.locator("#modal-details .diff-badge")).to_have_text("new file")
    expect(page.locator("#modal-details .diff-stats")).to_have_text("+2 −0")
    expect(page.locator("#modal-details .diff-folded")).to_have_count(0)
    expect(page.locator("#modal-details pre.diff .diff-add")).to_have_count(2)


# ---- a plan ----------------------------------------------------------------------------------------

PLAN = """# Rounding fix

Make **invoice totals** round *half up*, see [the ticket](javascript:window.pwned=1).

1. Change `total()` in invoice.py
2. Add tests
   - a case at .5
   - a case at .49

```python
taxed.quantize(CENT, rounding=ROUND_HALF_UP)
```

<script>window.pwned = 1</script>
<img src=x onerror="window.pwned = 2">
"""


def plan_request(server: Any, session: str) -> str:
    return permission(server, session, "ExitPlanMode", {}, permission_mode="plan")


def test_a_plan_is_rendered_safely_and_each_choice_sends_its_body(server, open_page, shot):
    """Headings, lists, code as elements; <script>, <img onerror> and a javascript: link shown as text,
    never run or clickable; the three choices the terminal offers, "keep planning" with the feedback."""
    page = open_page()
    with_fields(page, {"ExitPlanMode": {"detail": {"kind": "plan", "markdown": PLAN, "source": "file",
                                                   "path": "/home/dev/.claude/plans/rounding.md"}}})
    bodies = sent_bodies(page)
    login(page, server)
    ids = [plan_request(server, f"plan-{i}") for i in range(3)]

    open_request(page, ids[0])
    plan = page.locator("#modal-details .plan-body")
    expect(page.locator("#modal-title")).to_have_text("Approve Claude’s plan?")
    expect(plan.locator("h3")).to_have_text("Rounding fix")
    expect(plan.locator("strong")).to_have_text("invoice totals")
    expect(plan.locator("em")).to_have_text("half up")
    expect(plan.locator("ol > li")).to_have_count(2)
    expect(plan.locator("ol ul > li")).to_have_count(2)
    expect(plan.locator("pre code")).to_have_text("taxed.quantize(CENT, rounding=ROUND_HALF_UP)")
    expect(plan.locator("p code")).to_have_count(0)
    expect(plan.locator("li code")).to_have_text("total()")
    expect(plan).to_contain_text("<script>window.pwned = 1</script>")
    expect(plan).to_contain_text('<img src=x onerror="window.pwned = 2">')
    expect(plan.locator(".md-url")).to_have_text(" (javascript:window.pwned=1)")
    expect(page.locator("#modal-details .plan-source .path")).to_have_text("/home/dev/.claude/plans/rounding.md")
    assert page.locator("#modal-details script, #modal-details img, #modal-details a").count() == 0
    options = page.locator("#modal-options button.option")
    expect(options).to_have_count(3)
    expect(options.nth(0)).to_contain_text("Yes, and auto-accept edits")
    expect(options.nth(1)).to_contain_text("Yes, and manually approve edits")
    expect(options.nth(2)).to_contain_text("No, keep planning")
    expect(page.locator("#deny-message-row")).to_be_hidden()
    shot(page)
    page.set_viewport_size(PHONE)
    shot(page, "phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    options.nth(0).click()
    wait_for(bodies, 1, page)
    for i, (id, choose) in enumerate(((ids[1], "Yes, and manually approve edits"), (ids[2], "No, keep planning"))):
        page.keyboard.press("Escape")
        expect(page.locator("#modal")).to_be_hidden()
        open_request(page, id)
        if i == 1:  # Ctrl+Enter in the feedback box presses "No, keep planning"
            page.locator("#plan-feedback").fill("Also cover négative totals ✓")
            page.locator("#plan-feedback").press("Control+Enter")
        else:
            page.locator("#modal-options button.option", has_text=choose).click()
        wait_for(bodies, i + 2, page)
    assert bodies == [
        {"notification_id": ids[0], "plan": "auto"},
        {"notification_id": ids[1], "plan": "manual"},
        {"notification_id": ids[2], "plan": "keep", "message": "Also cover négative totals ✓"},
    ]
    assert page.evaluate("window.pwned") is None


def test_a_plan_from_an_older_server_shows_its_input_and_the_decisions(server, open_page):
    """No `detail` (the server before issue 13): the plan in tool_input is still rendered, answered with
    the decision buttons as before."""
    page = open_page()
    with_fields(page, {"ExitPlanMode": {"detail": None}})  # as an older server sends it
    login(page, server)
    id = permission(server, "old-plan", "ExitPlanMode", {"plan": "## Step one\n\n- do it"})
    open_request(page, id)
    expect(page.locator("#modal-details .plan-body h4")).to_have_text("Step one")
    expect(page.locator("#modal-options button.option[data-decision]")).not_to_have_count(0)


# ---- MCP tools, web tools, raw input ---------------------------------------------------------------

MCP_ARGS = {"query": "invoices \u200bdue", "limit": 5, "filters": {"paid": False, "tags": ["eu", "b2b"]},
            "nothing": None}


def test_an_mcp_tool_shows_its_server_tool_and_arguments_as_a_tree(server, open_page, shot):
    page = open_page()
    with_fields(page, {"mcp__billing__search": {"detail": {"kind": "mcp", "server": "billing", "tool": "search",
                                                           "arguments": MCP_ARGS}}})
    login(page, server)
    id = permission(server, "mcp", "mcp__billing__search", MCP_ARGS)
    open_request(page, id)
    details = page.locator("#modal-details")
    expect(details.locator(".mcp-server")).to_have_text("billing")
    expect(details.locator(".tool-name")).to_have_text("search")
    tree = details.locator(".tree-root")
    expect(tree.locator(":scope > li > .tree-key")).to_have_text(["query", "limit", "nothing"])
    expect(tree.locator(".tree-string").first).to_have_text('"invoices ⟨U+200B⟩due"')
    expect(tree.locator(".tree-number")).to_have_text("5")
    expect(tree.locator(".tree-null")).to_have_text("null")
    filters = tree.locator("details", has=page.locator("summary > .tree-key", has_text="filters")).first
    expect(filters.locator(":scope > summary .tree-count")).to_have_text("{2 keys}")
    expect(filters.locator(".tree-key", has_text="paid")).to_be_visible()
    expect(filters.locator(".tree-string")).to_have_text(['"eu"', '"b2b"'])
    shot(page)
    filters.locator(":scope > summary").click()  # collapsed
    expect(filters.locator(".tree-key", has_text="paid")).to_be_hidden()


def test_a_web_address_is_text_and_raw_input_is_shown_whole(server, open_page):
    page = open_page()
    url = "https://example.com/a?b=<c>"
    with_fields(page, {"WebFetch": {"detail": {"kind": "web", "url": url, "query": None}},
                       "SomeNewTool": {"detail": {"kind": "raw"}},
                       "OtherTool": {"detail": {"kind": "hologram"}}})
    login(page, server)
    web = permission(server, "web", "WebFetch", {"url": url, "prompt": "summarise"})
    raw = permission(server, "raw", "SomeNewTool", {"knob": {"depth": [1, 2]}})
    unknown = permission(server, "unknown", "OtherTool", {"file_path": "/etc/hosts", "mode": "x"})
    open_request(page, web)
    expect(page.locator("#modal-details .web-url")).to_have_text(url)
    assert page.locator("#modal-details a").count() == 0
    page.keyboard.press("Escape")
    open_request(page, raw)
    shown = page.locator("#modal-details pre.json").inner_text()
    assert json.loads(shown) == {"knob": {"depth": [1, 2]}}
    page.keyboard.press("Escape")
    open_request(page, unknown)  # a detail kind this page does not know: today's display
    assert json.loads(page.locator("#modal-details pre.json").inner_text()) == {"file_path": "/etc/hosts", "mode": "x"}


def test_an_edit_without_detail_keeps_todays_display(server, open_page):
    page = open_page()
    with_fields(page, {"Edit": {"detail": None}})  # as an older server sends it
    login(page, server)
    id = permission(server, "old", "Edit", {"file_path": "/x.py", "old_string": "a", "new_string": "b"})
    open_request(page, id)
    expect(page.locator("#modal-details pre.diff-old")).to_have_text("a")
    expect(page.locator("#modal-details pre.diff-new")).to_have_text("b")


# ---- a notice --------------------------------------------------------------------------------------

def test_a_notice_needs_no_answer_and_is_dismissed(server, open_page, shot):
    page = open_page(server)
    body = hook_payload("Notification-idle_prompt") | {
        "notification_type": "elicitation_dialog", "session_id": "notice",
        "message": "The billing MCP server asks you to sign in at its page"}
    id = str(server.notify(**body)["id"])
    assert server.get(id)["kind"] == "notice"
    open_request(page, id)
    expect(page.locator("#modal-kind")).to_have_text("Notice")
    expect(page.locator("#modal-details .notice-note")).to_be_visible()
    expect(page.locator("#response-text")).to_be_hidden()
    expect(page.locator("#send")).to_be_hidden()
    expect(page.locator("#modal-route")).to_be_hidden()
    expect(page.locator("#modal-options button.option")).to_have_count(0)
    shot(page)
    page.locator("#dismiss").click()
    expect(page.locator("#modal")).to_be_hidden()
    expect(card(page, id)).to_have_count(0)
    assert server.get(id)["status"] == "dismissed"
