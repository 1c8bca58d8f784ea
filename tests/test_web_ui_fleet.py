"""The fleet view (every agent at a glance) in a real browser against a real `piko server`, answering into
real tmux panes.

Until the server tracks sessions it sends none: the view must then be empty, never broken. The sessions
the page shows here are fed through the real page's WebSocket (the snapshot gains `sessions`, then
`session` messages), their pending requests real ones of the real server; test_real_hook_events_show_live
posts real hook events and runs once the server has `GET /api/orchestra/sessions`.
Screenshots go to test-artifacts/screenshots/<test name>*.png.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import FIXTURES, hook_payload
from tests.support.browser import login
from tests.support.fleet_page import agent, open_fleet

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def stamp(seconds_ago: float) -> str:
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def session(id: str, state: str, *, ago: float = 5, **fields: Any) -> dict[str, Any]:
    """A session record as the contract defines it."""
    return {
        "session_id": id, "state": state, "since": stamp(ago), "updated_at": stamp(0), "tool_name": None,
        "tool_summary": None, "last_prompt": None, "last_answer": None, "project_name": "myapp",
        "env_name": "main", "tmux_session": None, "tmux_target": None, "tmux_socket": None,
        "cwd": "/home/dev/myapp", "git_branch": "main", "request_id": None, "quiet": False, "ended_via": None,
    } | fields


class Feed:
    """The real page's WebSocket to the real server, with sessions added: the snapshot carries
    `sessions`, and `push(record)` sends the page a `session` message."""

    def __init__(self, page: Any, sessions: list[dict[str, Any]]) -> None:
        self.sessions = {s["session_id"]: s for s in sessions}
        self.routes: list[Any] = []
        page.route_web_socket(re.compile(r"/api/orchestra/ws$"), self._route)

    def _route(self, ws: Any) -> None:
        upstream = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            msg = json.loads(message)
            if msg.get("type") == "snapshot":
                msg["sessions"] = list(self.sessions.values())
            ws.send(json.dumps(msg))

        upstream.on_message(from_server)
        self.routes.append(ws)

    def push(self, record: dict[str, Any]) -> None:
        self.sessions[record["session_id"]] = record
        self.routes[-1].send(json.dumps({"type": "session", "session": record}))


# ---- without sessions ------------------------------------------------------------------------------

def test_without_sessions_the_fleet_is_empty_and_the_inbox_works(server, open_page, shot):
    """Today's server sends no sessions: the fleet says so, and the inbox is as it was."""
    page = open_page(server)
    expect(page.locator("#tab-inbox")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#empty")).to_be_visible()
    open_fleet(page)
    expect(page.locator("#fleet-empty")).to_be_visible()
    expect(page.locator("#fleet-empty-title")).to_have_text("No agent is running")
    expect(page.locator("#tab-fleet-count")).to_have_text("0")
    shot(page)
    id = server.notify(**hook_payload("PermissionRequest-Bash") | {"project_name": "myapp"})["id"]
    expect(page.locator("#tab-inbox-count")).to_have_text("1")
    page.locator("#tab-inbox").click()
    expect(page.locator(f'#requests .request-card[data-id="{id}"]')).to_be_visible()
    page.reload()  # the chosen view is remembered
    expect(page.locator("#inbox-view")).to_be_visible()
    page.locator("#tab-inbox").focus()
    page.keyboard.press("ArrowRight")  # the tabs' own keys
    expect(page.locator("#tab-fleet")).to_be_focused()
    expect(page.locator("#fleet-view")).to_be_visible()


# ---- fed sessions ----------------------------------------------------------------------------------

def fleet_page(server, tmux, open_page, **context):
    """Four agents in two projects: working, waiting (a real permission request on a real dialog pane),
    idle (a real idle request on a real echo pane, quiet) and ended; the page on the fleet."""
    dialog = tmux.dialog_pane(FIXTURES / "screens" / "screen-permission-bash.txt", 200, 50)
    echo = tmux.echo_pane()
    where = {"tmux_socket": tmux.socket_path}
    asking = server.notify(**hook_payload("PermissionRequest-Bash")
                           | {"session_id": "waiting-1", "tmux_target": dialog, "project_name": "myapp", **where})["id"]
    idle = server.notify(**hook_payload("Notification-idle_prompt")
                         | {"session_id": "idle-1", "tmux_target": echo, "project_name": "docs", **where})["id"]
    sessions = [
        session("working-1", "working", ago=192, tool_name="Bash", tool_summary="npm test -- --watch=false"),
        session("waiting-1", "waiting", ago=40, request_id=asking, tmux_target=dialog, last_prompt="clean the build"),
        # as the server has it: an idle session has no request_id; its idle request is found by session_id
        session("idle-1", "idle", ago=600, request_id=None, project_name="docs", env_name="main", quiet=True,
                tmux_target=echo, last_prompt="write the changelog",
                last_answer="Done: CHANGELOG.md has 3 new entries."),
        session("ended-1", "ended", ago=900, project_name="docs", ended_via="SessionEnd"),
    ]
    page = open_page(**context)
    feed = Feed(page, sessions)
    login(page, server)
    open_fleet(page)
    return page, feed, {"asking": asking, "idle": idle, "dialog": dialog, "echo": echo}


def test_fed_sessions_show_grouped_live_and_filtered(server, tmux, open_page, shot):
    page, feed, _ = fleet_page(server, tmux, open_page)
    cards = page.locator("#fleet-list .session-card")
    expect(cards).to_have_count(3)  # the ended one is hidden
    assert cards.evaluate_all("cs => cs.map(c => c.dataset.id)") == ["idle-1", "waiting-1", "working-1"]
    headers = page.locator("#fleet-list .fleet-group")
    expect(headers).to_have_text(["docs · main (1 idle)", "myapp · main (1 waiting, 1 working)"])
    expect(page.locator("#tab-fleet-count")).to_have_text("3")

    working = agent(page, "working-1")
    expect(working.locator(".state")).to_have_text("Working")  # a word, not colour alone
    expect(working.locator(".tool")).to_have_text("Bash")
    expect(working.locator(".summary")).to_have_text("npm test -- --watch=false")
    expect(working.locator(".session-request")).to_have_count(0)
    expect(working.locator(".card-main")).to_have_text("Bashnpm test -- --watch=false")
    expect(working).not_to_contain_text("null")
    expect(working.locator(".for")).to_have_text(re.compile(r"^for 3m 1[2-9]s$"))
    first = working.locator(".for").text_content()
    expect(working.locator(".for")).not_to_have_text(first or "", timeout=3000)  # it ticks

    idle = agent(page, "idle-1")
    expect(idle.locator(".state")).to_have_text("Idle")
    expect(idle.locator(".quiet-mark")).to_have_text("quiet")
    expect(idle.locator(".last-prompt")).to_have_text("› write the changelog")
    expect(idle.locator(".last-answer")).to_have_text("Done: CHANGELOG.md has 3 new entries.")
    expect(idle.locator(".session-request .kind")).to_have_text("Idle")
    expect(agent(page, "waiting-1").locator(".state")).to_have_text("Waiting")
    expect(agent(page, "waiting-1").locator(".session-request .summary")).to_have_text("touch /tmp/build-marker")
    expect(agent(page, "waiting-1").locator(".inline-option")).to_have_count(3)
    shot(page)

    # live: the working one finishes its turn
    feed.push(session("working-1", "idle", ago=0, last_prompt="run the tests", last_answer="All 212 tests pass."))
    expect(working.locator(".state")).to_have_text("Idle")
    expect(working).to_have_attribute("data-state", "idle")
    expect(working.locator(".last-answer")).to_have_text("All 212 tests pass.")
    expect(working.locator(".for")).to_have_text(re.compile(r"^for [0-3]s$"))
    expect(headers.nth(1)).to_have_text("myapp · main (1 waiting, 1 idle)")

    # filters
    page.locator("#fleet-state").select_option("idle")
    expect(cards).to_have_count(2)
    page.locator("#fleet-project").select_option("docs · main")
    expect(cards).to_have_count(1)
    expect(agent(page, "idle-1")).to_be_visible()
    page.locator("#fleet-state").select_option("waiting")
    expect(cards).to_have_count(0)
    expect(page.locator("#fleet-empty-title")).to_have_text("No agent matches these filters")
    page.locator("#fleet-state").select_option("")
    page.locator("#fleet-project").select_option("")
    page.locator("#fleet-ended").check()
    expect(cards).to_have_count(4)
    expect(agent(page, "ended-1").locator(".state")).to_have_text("Ended")


def test_an_inline_answer_presses_the_choice_on_the_dialog(server, tmux, open_page, shot):
    page, _, ids = fleet_page(server, tmux, open_page)
    waiting = agent(page, "waiting-1")
    buttons = waiting.locator(".inline-option")
    assert buttons.evaluate_all("bs => bs.map(b => b.dataset.decision)") == ["allow", "always", "deny"]
    waiting.locator('.inline-option[data-decision="deny"]').click()
    tmux.wait_for(ids["dialog"], re.escape("GOT:'4'"))  # "4. No" on this screen
    expect(waiting.locator(".session-request")).to_have_count(0)
    expect(page.locator("#fleet-panel")).to_be_hidden()  # a button does not open the panel
    record = server.get(ids["asking"])
    assert (record["status"], record["response"]) == ("resolved", "deny")
    expect(page.locator("#tab-inbox-count")).to_have_text("1")


def test_keyboard_opens_an_agent_and_sends_the_idle_one_its_instruction(server, tmux, open_page, shot):
    page, _, ids = fleet_page(server, tmux, open_page)
    page.keyboard.press("j")
    expect(agent(page, "idle-1")).to_be_focused()
    page.keyboard.press("j")
    expect(agent(page, "waiting-1")).to_be_focused()
    page.keyboard.press("Enter")
    panel = page.locator("#fleet-panel")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("data-id", "waiting-1")
    expect(page.locator("#fp-preview-status")).to_have_text("Live")
    expect(page.locator("#fp-preview")).to_contain_text("Do you want to proceed?")
    expect(page.locator("#fp-request .inline-option")).to_have_count(3)
    expect(page.locator("#fp-text")).to_be_disabled()  # not idle: nothing to type into
    expect(page.locator("#fp-instruct-hint")).to_contain_text("it is waiting")
    expect(page.locator("#fp-timeline li")).not_to_have_text(["Loading…"])
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(agent(page, "waiting-1")).to_be_focused()

    page.keyboard.press("k")
    expect(agent(page, "idle-1")).to_be_focused()
    page.keyboard.press("Enter")
    expect(panel).to_have_attribute("data-id", "idle-1")
    expect(page.locator("#fp-preview")).to_contain_text("READY")
    expect(page.locator("#fp-details")).to_contain_text("write the changelog")
    text = page.locator("#fp-text")
    expect(text).to_be_enabled()
    text.fill("now tag release 1.2 — ✓")
    shot(page, "panel")
    text.press("Enter")
    tmux.wait_for(ids["echo"], re.escape("GOT:'now tag release 1.2 — ✓'"))
    expect(page.locator("#fp-note")).to_have_text("Sent.")
    expect(text).to_be_disabled()  # its idle request is answered
    assert server.get(ids["idle"])["status"] == "resolved"


def test_an_agent_without_a_request_shows_its_details_and_timeline(server, tmux, open_page, shot):
    page, _, _ = fleet_page(server, tmux, open_page)
    agent(page, "working-1").click()
    panel = page.locator("#fleet-panel")
    expect(panel).to_have_attribute("data-id", "working-1")
    expect(page.locator("#fp-preview")).to_be_hidden()
    expect(page.locator("#fp-preview-status")).to_contain_text("No live view")
    expect(page.locator("#fleet-panel-title")).to_contain_text("npm test")
    expect(page.locator("#fp-details")).to_contain_text("/home/dev/myapp")
    expect(page.locator("#fp-timeline li").first).not_to_have_text("Loading…")
    expect(page.locator("#fp-for")).to_have_text(re.compile(r"^for 3m \d+s$"))
    shot(page)


def test_phone_has_two_tabs(server, tmux, open_page, shot):
    page, _, _ = fleet_page(server, tmux, open_page, **PHONE)
    expect(page.locator("#fleet-list .session-card")).to_have_count(3)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the phone
    shot(page)
    page.locator("#tab-inbox").tap()
    expect(page.locator("#requests .request-card")).to_have_count(2)
    page.locator("#tab-fleet").tap()
    agent(page, "idle-1").tap()
    expect(page.locator("#fleet-panel")).to_be_visible()
    shot(page, "panel")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_desktop_screenshot(server, tmux, open_page, shot, scheme):
    page, _, _ = fleet_page(server, tmux, open_page, color_scheme=scheme)
    expect(page.locator("#fleet-list .session-card")).to_have_count(3)
    shot(page)


# ---- real hook events (needs the server's session tracking) ----------------------------------------

def test_real_hook_events_show_live(server, tmux, open_page, shot):
    """Three sessions from real hook events: working (PreToolUse Bash), waiting (PermissionRequest), idle
    (Stop, in a real pane); the working one turns idle on PostToolUse + Stop; the idle one gets its next
    instruction from its panel."""
    page = open_page(server)
    open_fleet(page)

    def post(name: str, session_id: str, **fields: Any) -> None:
        server.notify(**hook_payload(name) | {"session_id": session_id, "project_name": "myapp"} | fields)

    post("PreToolUse-Bash", "real-working")
    post("PermissionRequest-Bash", "real-waiting")
    echo = tmux.echo_pane()
    post("Stop", "real-idle", tmux_target=echo, tmux_socket=tmux.socket_path)
    for id, word in (("real-working", "Working"), ("real-waiting", "Waiting"), ("real-idle", "Idle")):
        expect(agent(page, id).locator(".state")).to_have_text(word)
    expect(agent(page, "real-working").locator(".tool")).to_have_text("Bash")
    expect(agent(page, "real-waiting").locator(".session-request")).to_be_visible()
    shot(page)

    post_tool = hook_payload("PreToolUse-Bash") | {"hook_event_name": "PostToolUse", "tool_response": {"stdout": ""}}
    server.notify(**post_tool | {"session_id": "real-working", "project_name": "myapp"})
    post("Stop", "real-working")
    expect(agent(page, "real-working").locator(".state")).to_have_text("Idle")

    agent(page, "real-idle").click()
    expect(page.locator("#fleet-panel")).to_have_attribute("data-id", "real-idle")
    expect(page.locator("#fp-preview")).to_contain_text("READY")
    expect(page.locator("#fp-timeline li").first).not_to_have_text("Loading…")
    page.locator("#fp-text").fill("next: write the docs")
    page.locator("#fp-send").click()
    tmux.wait_for(echo, re.escape("GOT:'next: write the docs'"))
    expect(page.locator("#fp-note")).to_have_text("Sent.")
    expect(page.locator("#fp-timeline")).to_contain_text("next: write the docs")  # the audit trail
    shot(page, "panel")


def test_a_working_agent_shows_its_terminal_live(server, tmux, open_page, shot):
    """A working agent (real hook events, no request) in a real pane: a click opens its live terminal;
    text printed into the pane afterwards appears; it stays live when the agent asks and when it stops."""
    echo = tmux.echo_pane()
    where = {"session_id": "live-working", "project_name": "myapp", "tmux_target": echo,
             "tmux_socket": tmux.socket_path}
    server.notify(**hook_payload("UserPromptSubmit") | where)
    server.notify(**hook_payload("PreToolUse-Bash") | where)
    page = open_page(server)
    open_fleet(page)
    card = agent(page, "live-working")
    expect(card.locator(".state")).to_have_text("Working")
    expect(card.locator(".session-request")).to_have_count(0)
    card.click()
    expect(page.locator("#fleet-panel")).to_have_attribute("data-id", "live-working")
    preview = page.locator("#fp-preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("READY")
    expect(page.locator("#fp-preview-status")).to_have_text("Live")
    expect(page.locator("#fp-text")).to_be_disabled()  # working: no instruction box to type into

    tmux.cmd("send-keys", "-t", echo, "-l", "printed while the panel is open")
    tmux.cmd("send-keys", "-t", echo, "Enter")
    expect(preview).to_contain_text("GOT:'printed while the panel is open'")
    shot(page, "panel")

    server.notify(**hook_payload("PermissionRequest-Bash") | where)  # it asks: still its pane, still live
    expect(page.locator("#fleet-panel")).to_have_attribute("data-state", "waiting")
    tmux.cmd("send-keys", "-t", echo, "-l", "and while it waits")
    tmux.cmd("send-keys", "-t", echo, "Enter")
    expect(preview).to_contain_text("GOT:'and while it waits'")
    expect(page.locator("#fp-preview-status")).to_have_text("Live")

    tmux.kill_pane(echo)  # its pane goes: the panel says so
    expect(page.locator("#fp-preview-status")).to_have_text(re.compile("pane is gone|has ended"))
