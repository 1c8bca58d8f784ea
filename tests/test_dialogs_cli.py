"""Every dialog answered from the API, with the real Claude Code CLI (issue 13): a plan approved in each
mode and sent back with feedback, two questions (one multiSelect, one answered in the person's own words)
received exactly, an Edit shown as a diff with context from disk, and an MCP tool's permission from a
small stdio MCP server the test starts. Real `piko server`, tmux, hooks from `piko cc init`, the Messages
API stand-in on loopback. Runs on the pinned release, and on another with CLAUDE_CODE_VERSION."""

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
from tests.support.fake_anthropic import ASK2_INPUT, PLAN_TEXT
from tests.support.server import PikoServer

pytestmark = pytest.mark.claude

PLAN_MODE = ("--permission-mode", "plan")
LATE_NOTIFICATION_S = 9.0  # Claude Code's permission Notification comes ~6-7 s after its dialog


@pytest.fixture
def rig(tmp_path: Path, server: PikoServer) -> Iterator[Rig]:
    with running_rig(tmp_path, server, hooks_gone_while_running=True) as rig:
        yield rig


def is_plan(record: dict[str, Any]) -> bool:
    return record.get("tool_name") == "ExitPlanMode" and bool(record["hook_waiting"])


def results_text(rig: Rig) -> str:
    return json.dumps(rig.api.tool_results(), ensure_ascii=False)


def nothing_pending_about(rig: Rig, session_id: str, since: float) -> None:
    """Wait out Claude Code's late Notification for the dialog, then check no dialog request is left."""
    time.sleep(max(0.0, since + LATE_NOTIFICATION_S - time.monotonic()))
    left = [r for r in rig.server.pending() if r.get("session_id") == session_id and r["kind"] != "idle"]
    assert left == [], left


@pytest.mark.parametrize("mode, footer", [("auto", "accept edits on"), ("manual", "manual mode on")])
def test_a_plan_is_shown_and_approved_in_the_chosen_mode(rig: Rig, mode: str, footer: str) -> None:
    agent = rig.agent(rig.project("app"), args=PLAN_MODE, ready="plan mode on")
    agent.type_prompt("make a plan [plan]")
    request = rig.wait_request(is_plan)
    shown = time.monotonic()
    detail = request["detail"]
    assert detail["kind"] == "plan" and detail["markdown"] == PLAN_TEXT, detail
    assert detail["path"] and detail["path"].endswith(".md")
    r = rig.server.respond(notification_id=request["id"], plan=mode)
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook", r.text
    assert r.json()["notification"]["response_type"] == "plan"
    agent.wait_for(footer, timeout=15)
    assert "plan mode on" not in agent.capture()
    rig.api.wait_for(lambda api: "User has approved your plan" in results_text(rig), timeout=15)
    nothing_pending_about(rig, request["session_id"], shown)


def test_a_plan_sent_back_with_feedback_keeps_claude_planning(rig: Rig) -> None:
    agent = rig.agent(rig.project("app"), args=PLAN_MODE, ready="plan mode on")
    agent.type_prompt("make a plan [plan]")
    request = rig.wait_request(is_plan)
    shown = time.monotonic()
    r = rig.server.respond(notification_id=request["id"], plan="keep", message="split step 2 in two, please")
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook", r.text
    rig.api.wait_for(lambda api: "split step 2 in two, please" in results_text(rig), timeout=15)
    agent.wait_for("plan mode on", timeout=15)
    nothing_pending_about(rig, request["session_id"], shown)


def test_two_questions_one_multiselect_one_in_own_words_reach_claude_exactly(rig: Rig) -> None:
    agent = rig.agent(rig.project("app"))
    agent.type_prompt("ask me [ask2]")
    request = rig.wait_request(lambda r: r["kind"] == "question" and r["hook_waiting"])
    first, second = (q["question"] for q in ASK2_INPUT["questions"])
    assert [q["question"] for q in request["tool_input"]["questions"]] == [first, second]
    partial = rig.server.respond(notification_id=request["id"], answers={first: ["Auth"]})
    assert partial.status_code == 400 and second in partial.json()["error"]
    own = 'DuckDB, "embedded" – ünïcode'
    r = rig.server.respond(notification_id=request["id"], answers={first: ["Auth", "Cache"], second: own})
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook", r.text
    expected = f'"{first}"="Auth, Cache", "{second}"="{own}"'
    rig.api.wait_for(lambda api: any(expected in str(t.get("content")) for t in api.tool_results()), timeout=15)


def test_an_edit_is_shown_as_a_diff_with_context_from_disk(rig: Rig) -> None:
    project = rig.project("app")
    target = project / "notes.txt"
    target.write_text("".join(f"line {i}\n" for i in range(1, 11)))
    agent = rig.agent(project)
    agent.type_prompt(f"change it [edit:{target}:line 5=>LINE FIVE]")
    request = rig.wait_request(lambda r: r.get("tool_name") == "Edit" and r["hook_waiting"])
    detail = request["detail"]
    assert detail["kind"] == "diff" and detail["path"] == str(target)
    assert (detail["added"], detail["removed"], detail["new_file"], detail["folded"]) == (1, 1, False, False)
    assert "\n line 2\n line 3\n line 4\n-line 5\n+LINE FIVE\n line 6\n line 7\n line 8" in detail["unified"]
    assert rig.server.respond(notification_id=request["id"], decision="allow").status_code == 200
    deadline = time.monotonic() + 15
    while "LINE FIVE" not in target.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "LINE FIVE\nline 6" in target.read_text()


def test_an_mcp_tools_permission_names_its_server_tool_and_arguments(rig: Rig, tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps(mcp_stub.config(sys.executable)))
    agent = rig.agent(rig.project("app"), args=("--permission-mode", "default", "--mcp-config", str(config)))
    agent.type_prompt(f"call it [mcp:{mcp_stub.NAME}:{mcp_stub.TOOL}:hello from piko]")
    tool = f"mcp__{mcp_stub.NAME}__{mcp_stub.TOOL}"
    request = rig.wait_request(lambda r: r.get("tool_name") == tool and r["hook_waiting"], timeout=30)
    assert request["detail"] == {"kind": "mcp", "server": mcp_stub.NAME, "tool": mcp_stub.TOOL,
                                 "arguments": {"text": "hello from piko"}}
    assert rig.server.respond(notification_id=request["id"], decision="allow").status_code == 200
    rig.api.wait_for(lambda api: "echo: hello from piko" in results_text(rig), timeout=15)


def test_a_plan_approved_with_a_plain_allow_leaves_plan_mode(rig: Rig) -> None:
    """Claude Code ignores a hook's allow of ExitPlanMode that carries no updatedInput: the dialog stayed,
    and its late Notification left a second request pending for good (the bug of issue 13)."""
    agent = rig.agent(rig.project("app"), args=PLAN_MODE, ready="plan mode on")
    agent.type_prompt("make a plan [plan]")
    request = rig.wait_request(is_plan)
    shown = time.monotonic()
    r = rig.server.respond(notification_id=request["id"], decision="allow")
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook", r.text
    rig.api.wait_for(lambda api: "User has approved your plan" in results_text(rig), timeout=15)
    agent.wait_gone("plan mode on", timeout=15)
    nothing_pending_about(rig, request["session_id"], shown)
