"""An MCP server's elicitation answered from the inbox, with the real Claude Code CLI: the test's stdio
MCP server (tests/support/mcp_stub.py) asks for a form through `elicitation/create`; the request shows
the server, the message and the fields; an answer through the API reaches the MCP server exactly (the
stub records what it got, and returns it as its tool's result). Accept with content, decline, cancel, and
no answer from Piko at all (dismissed: Claude Code's own form comes back). Real `piko server`, tmux,
hooks from `piko cc init`, the Messages API stand-in. Runs on the pinned release, and on another with
CLAUDE_CODE_VERSION."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import mcp_stub
from tests.support.agents import Rig, running_rig
from tests.support.claude_cli import ClaudeSession
from tests.support.server import PikoServer

pytestmark = pytest.mark.claude

TOOL = f"mcp__{mcp_stub.NAME}__{mcp_stub.ASK}"
CONTENT = {"name": "Ann \"Q\" Lee ü", "urgent": True, "color": "blue", "count": 7}
FORM_TITLE = f"MCP server “{mcp_stub.NAME}” requests your input"


@pytest.fixture
def rig(tmp_path: Path, server: PikoServer) -> Iterator[Rig]:
    with running_rig(tmp_path, server, hooks_gone_while_running=True) as rig:
        yield rig


def ask(rig: Rig, tmp_path: Path, message: str) -> tuple[ClaudeSession, Path, dict[str, Any]]:
    """Claude calls the MCP stub's `ask` tool; returns the agent, the stub's record file, and the
    elicitation request once its hook waits."""
    record_to = tmp_path / "elicited.jsonl"
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps(mcp_stub.config(sys.executable, record_to)))
    agent = rig.agent(rig.project("app"), args=("--permission-mode", "default", "--allowedTools", TOOL,
                                                "--mcp-config", str(config)))
    agent.type_prompt(f"ask me [mcp:{mcp_stub.NAME}:{mcp_stub.ASK}:{message}]")
    request = rig.wait_request(lambda r: r["kind"] == "elicitation" and r["hook_waiting"], timeout=30)
    return agent, record_to, request


def received(record_to: Path, timeout: float = 15) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if record_to.exists() and record_to.read_text().strip():
            return [json.loads(line) for line in record_to.read_text().splitlines()]
        time.sleep(0.05)
    raise AssertionError(f"the MCP server received no answer within {timeout}s")


def results_text(rig: Rig) -> str:
    return json.dumps(rig.api.tool_results(), ensure_ascii=False)


def test_accepted_with_content_the_mcp_server_gets_exactly_that(rig: Rig, tmp_path: Path) -> None:
    agent, record_to, request = ask(rig, tmp_path, "Tell me about you")
    detail = request["detail"]
    assert (detail["kind"], detail["server"], detail["message"], detail["mode"]) == \
        ("elicitation", mcp_stub.NAME, "Tell me about you", "form")
    assert [(f["name"], f["type"], f["required"]) for f in detail["fields"]] == [
        ("name", "string", True), ("urgent", "boolean", False), ("color", "string", True),
        ("count", "integer", False)]
    assert request["summary"] == "Tell me about you" and request["tmux_target"]
    bad = rig.server.respond(notification_id=request["id"], elicitation={"action": "accept",
                                                                         "content": {"name": "Ann"}})
    assert bad.status_code == 400 and "field color (Color) is required" in bad.json()["error"]
    r = rig.server.respond(notification_id=request["id"], elicitation={"action": "accept", "content": CONTENT})
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook", r.text
    assert received(record_to) == [{"action": "accept", "content": CONTENT}]
    expected = "elicited: " + json.dumps({"action": "accept", "content": CONTENT}, sort_keys=True)
    rig.api.wait_for(lambda api: json.dumps(expected)[1:-1] in results_text(rig), timeout=15)
    assert rig.server.get(request["id"])["response"] == CONTENT
    assert FORM_TITLE not in agent.capture()  # Claude Code's own form never showed
    left = [r for r in rig.server.pending() if r["session_id"] == request["session_id"] and r["kind"] != "idle"]
    assert left == [], left


@pytest.mark.parametrize("action", ["decline", "cancel"])
def test_declined_or_cancelled_the_mcp_server_is_told_so(rig: Rig, tmp_path: Path, action: str) -> None:
    agent, record_to, request = ask(rig, tmp_path, "Anything?")
    r = rig.server.respond(notification_id=request["id"], elicitation={"action": action})
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook", r.text
    [got] = received(record_to)
    assert got["action"] == action and not got.get("content"), got  # 2.1.332 adds an empty content to a cancel
    rig.api.wait_for(lambda api: f'elicited: {{\\"action\\": \\"{action}\\"' in results_text(rig), timeout=15)
    assert rig.server.get(request["id"])["response"] == action
    assert FORM_TITLE not in agent.capture()


def test_dismissed_claude_codes_own_form_comes_back_and_answers_it(rig: Rig, tmp_path: Path) -> None:
    agent, record_to, request = ask(rig, tmp_path, "Or in the terminal")
    assert rig.server.request("DELETE", f"/api/orchestra/notifications/{request['id']}").status_code == 200
    agent.wait_for(FORM_TITLE, timeout=15)  # the hook let go: the terminal's form shows
    assert rig.server.pending() == [] or all(r["kind"] != "elicitation" for r in rig.server.pending())
    agent.send_key("Escape")  # cancel it in the terminal
    assert received(record_to) == [{"action": "cancel"}]


@pytest.mark.browser
def test_filled_in_from_chromium_the_mcp_server_gets_the_form(rig: Rig, tmp_path: Path, open_page: Any) -> None:
    from playwright.sync_api import expect

    agent, record_to, request = ask(rig, tmp_path, "Your details, please")
    page = open_page(rig.server)
    page.locator(f'#requests .request-card[data-id="{request["id"]}"]').click()
    modal = page.locator("#modal")
    expect(modal).to_have_attribute("data-kind", "elicitation")
    expect(modal.locator(".elicit-message")).to_have_text("Your details, please")
    modal.locator("#elicit-name").fill("Bo")
    modal.locator("#elicit-color").select_option("red")
    modal.locator("#elicit-count").fill("10")
    modal.locator('button.option[data-action="accept"]').click()
    expect(modal).to_be_hidden()
    content = {"name": "Bo", "urgent": False, "color": "red", "count": 10}
    assert received(record_to) == [{"action": "accept", "content": content}]
    expected = "elicited: " + json.dumps({"action": "accept", "content": content}, sort_keys=True)
    rig.api.wait_for(lambda api: json.dumps(expected)[1:-1] in results_text(rig), timeout=15)
    assert FORM_TITLE not in agent.capture()
