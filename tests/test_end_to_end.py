"""End to end with the real Claude Code CLI: real tmux, real `piko server`, hooks from `piko cc init`, and
the Messages API stand-in on loopback. No network.

Each test walks one scenario of the end-to-end issue, or one route of the structured-decisions issue,
and checks that no hook process is left behind.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.agents import Rig, running_rig
from tests.support.server import PikoServer

pytestmark = pytest.mark.claude


@pytest.fixture
def rig(tmp_path: Path, server: PikoServer) -> Iterator[Rig]:
    with running_rig(tmp_path, server, hooks_gone_while_running=True) as rig:
        yield rig


def marker(tmp_path: Path) -> Path:
    return tmp_path / f"marker-{uuid.uuid4().hex[:8]}"


def is_bash(path: Path):
    return lambda r: r["tool_name"] == "Bash" and str(path) in (r.get("tool_input") or {}).get("command", "")


# ---- the end-to-end scenarios --------------------------------------------------------------------

def wait_exists(path: Path, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.exists()


def card(page, id: str):
    return page.locator(f'.request-card[data-id="{id}"]')


def test_permission_allowed_in_the_browser_runs_the_command(rig, tmp_path, open_page, shot):
    """Scenario 1, and the terminal preview: the request reaches the server and the browser with the
    tool and the command; Allow in the UI makes the command run, through the hook; the card goes."""
    page = open_page(rig.server)
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    request = rig.wait_request(is_bash(target))
    assert request["kind"] == "permission" and request["tmux_target"] == agent.pane_id
    assert request["project_name"] == "app"  # the project folder's name (not a git repository)
    item = card(page, request["id"])
    expect(item).to_contain_text("Bash")
    expect(item).to_contain_text(f"touch {target}")
    agent.wait_for("Do you want to proceed?")
    rig.wait_request(lambda r: r["id"] == request["id"] and r["hook_waiting"])
    item.click()
    modal = page.locator("#modal")
    expect(modal).to_be_visible()
    expect(page.locator("#preview")).to_contain_text("Do you want to proceed?", timeout=5000)
    expect(page.locator("#preview")).to_contain_text(f"touch {target}")
    expect(page.locator("#modal-route")).to_have_attribute("data-route", "hook")
    shot(page, "modal-with-preview")
    page.locator('#modal button.option[data-decision="allow"]').click()
    expect(item).to_have_count(0, timeout=5000)
    agent.wait_for("Allowed by PermissionRequest hook")
    assert wait_exists(target)
    assert rig.server.get(request["id"])["resolved_via"] == "hook"


def test_permission_answered_in_the_terminal_leaves_the_browser(rig, tmp_path, open_page):
    """Scenario 2."""
    page = open_page(rig.server)
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    request = rig.wait_request(is_bash(target))
    expect(card(page, request["id"])).to_have_count(1)
    agent.choose("1")
    expect(card(page, request["id"])).to_have_count(0, timeout=5000)
    record = rig.wait_status(request["id"], timeout=5)
    assert record["resolved_via"] in ("event:PostToolUse", "terminal")
    assert wait_exists(target)
    r = rig.server.respond(notification_id=request["id"], decision="allow")
    assert r.status_code == 409  # a stale answer never reaches the terminal


def test_idle_reply_from_the_browser_arrives_verbatim_as_the_next_prompt(rig, open_page):
    """Scenario 3: quotes, $() and unicode, typed in the UI, reach Claude as its next prompt."""
    page = open_page(rig.server)
    agent = rig.agent(rig.project("app"))
    agent.type_prompt("say hello")
    agent.wait_for("ECHO: say hello")
    idle = rig.wait_request(lambda r: r["kind"] == "idle")
    text = """it's "quoted" $(touch /tmp/pwned) `id`; echo $HOME — héllo ✓ 日本語"""
    card(page, idle["id"]).click()
    page.locator("#response-text").fill(text)
    page.locator("#send").click()
    expect(card(page, idle["id"])).to_have_count(0, timeout=5000)
    rig.api.wait_for(lambda api: text in api.prompts(), timeout=15)
    agent.wait_for("ECHO: it's")
    assert not Path("/tmp/pwned").exists()
    assert rig.wait_status(idle["id"])["response"] == text


def test_question_answered_with_an_option_in_the_browser(rig, open_page):
    """Scenario 4, delivered through the hook: no key is typed."""
    page = open_page(rig.server)
    agent = rig.agent(rig.project("app"))
    agent.type_prompt("please [ask] me")
    request = rig.wait_request(lambda r: r["kind"] == "question" and r["hook_waiting"])
    assert [o["label"] for o in request["options"]] == ["PostgreSQL", "SQLite"]
    agent.wait_for("Enter to select")
    card(page, request["id"]).click()
    page.locator('#modal button.option[data-label="SQLite"]').click()
    if page.locator("#submit-answers").is_visible():
        page.locator("#submit-answers").click()
    expect(card(page, request["id"])).to_have_count(0, timeout=5000)
    rig.api.wait_for(lambda api: any("SQLite" in str(t) for t in api.tool_results()), timeout=15)
    assert rig.server.get(request["id"])["resolved_via"] == "hook"
    agent.wait_for("Allowed by PermissionRequest hook")  # the hook answered: no key was typed
    assert "→ SQLite" in agent.capture(history=True)


def test_two_agents_waiting_at_once_each_get_their_own_answer(rig, tmp_path):
    a = rig.agent(rig.project("alpha"), session_name="alpha")
    b = rig.agent(rig.project("beta"), session_name="beta")
    ta, tb = marker(tmp_path), marker(tmp_path)
    a.type_prompt(f"please [bash:touch {ta}] now")
    b.type_prompt(f"please [bash:touch {tb}] now")
    # The server names each request's tmux session from its pane, just after it arrives.
    ra = rig.wait_request(lambda r: is_bash(ta)(r) and r["tmux_session"])
    rb = rig.wait_request(lambda r: is_bash(tb)(r) and r["tmux_session"])
    assert ra["tmux_target"] == a.pane_id and rb["tmux_target"] == b.pane_id
    assert ra["tmux_session"] == "alpha" and rb["tmux_session"] == "beta"
    a.wait_for("Do you want to proceed?")
    b.wait_for("Do you want to proceed?")
    # Answer the second first: deny it, then allow the first.
    assert rig.server.respond(notification_id=rb["id"], decision="deny", message="not you, beta").status_code == 200
    b.wait_for("Denied by PermissionRequest hook")
    assert "Do you want to proceed?" in a.capture()  # alpha still waits
    assert rig.server.respond(notification_id=ra["id"], decision="allow").status_code == 200
    a.wait_for("Allowed by PermissionRequest hook")
    time.sleep(0.5)
    assert ta.exists() and not tb.exists()


# ---- structured decisions, fallback, stale prompts -------------------------------------------------

def test_always_allow_returns_a_permission_suggestion(rig, tmp_path):
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    request = rig.wait_request(lambda r: is_bash(target)(r) and r["hook_waiting"])
    assert request["permission_suggestions"]
    r = rig.server.respond(notification_id=request["id"], decision="always")
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook"
    agent.wait_for("Allowed by PermissionRequest hook")
    assert wait_exists(target)
    rig.wait_request(lambda r: r["kind"] == "idle")  # its turn ended
    # Don't ask again: the same kind of command in the same folder now runs without a dialog.
    again = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {again}] now")
    assert wait_exists(again, timeout=20), agent.capture()
    assert not any(is_bash(again)(r) for r in rig.server.pending())


def test_deny_with_a_message_reaches_claude(rig, tmp_path):
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    request = rig.wait_request(lambda r: is_bash(target)(r) and r["hook_waiting"])
    r = rig.server.respond(notification_id=request["id"], decision="deny", message="use the Makefile instead")
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook"
    agent.wait_for("Denied by PermissionRequest hook")
    rig.api.wait_for(lambda api: any("use the Makefile instead" in str(t) for t in rig.api.tool_results()), timeout=15)
    assert not target.exists()


def test_keystroke_fallback_when_the_hook_is_gone(rig, tmp_path):
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    request = rig.wait_request(lambda r: is_bash(target)(r) and r["hook_waiting"])
    agent.wait_for("Do you want to proceed?")
    for pid in rig.hook_processes():
        os.kill(pid, signal.SIGKILL)
    rig.wait_request(lambda r: r["id"] == request["id"] and not r["hook_waiting"], timeout=10)
    r = rig.server.respond(notification_id=request["id"], decision="allow")
    assert r.status_code == 200, r.text
    assert r.json()["delivered_via"] == "keys"
    assert wait_exists(target)
    assert "by PermissionRequest hook" not in agent.capture(history=True)


def test_denial_typed_in_the_terminal_leaves_the_inbox_within_two_seconds(rig, tmp_path):
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    request = rig.wait_request(is_bash(target))
    agent.wait_for("Do you want to proceed?")
    time.sleep(0.5)  # let the dialog settle so Claude takes the key
    agent.send_key("Escape")
    pressed = time.monotonic()
    agent.wait_gone("Do you want to proceed?", timeout=5)
    record = rig.wait_status(request["id"], timeout=5)
    assert time.monotonic() - pressed < 2.0
    assert record["resolved_via"] == "terminal"
    assert not target.exists()
