"""The fleet view with the real Claude Code CLI: three real sessions in tmux (one working on a slow command,
one waiting on a permission, one idle) show with the right states in the API, in `piko status` and live in
Chromium; the working one turns idle when its command ends, and killing a pane ends its session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.agents import Rig, piko_command, running_rig
from tests.support.fleet_page import agent, open_fleet
from tests.support.hook import hook_env
from tests.support.server import PikoServer

pytestmark = pytest.mark.claude

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None
LIVE = 15_000  # ms for the page to show what the API already shows (the machine may be busy)

SLOW = "sleep 6"  # long enough to see it working under load; allowed in the project's settings


@pytest.fixture
def rig(tmp_path: Path, server: PikoServer) -> Iterator[Rig]:
    with running_rig(tmp_path, server) as rig:
        yield rig


def allow_slow_command(project: Path) -> None:
    """Let the project's agent run SLOW without asking (its .claude/settings.json, beside the hooks)."""
    path = project / ".claude" / "settings.json"
    settings = json.loads(path.read_text())
    settings["permissions"] = {"allow": [f"Bash({SLOW})"]}
    path.write_text(json.dumps(settings, indent=2))


def by_project(rig: Rig) -> dict[str, dict[str, Any]]:
    r = rig.server.request("GET", "/api/orchestra/sessions")
    assert r.status_code == 200, r.text
    return {s["project_name"]: s for s in r.json()["sessions"]}


def wait_sessions(rig: Rig, check: Callable[[dict[str, dict[str, Any]]], bool], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    found: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        found = by_project(rig)
        if check(found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"the sessions never got there: {json.dumps(found, indent=1)}")


def state_of(found: dict[str, dict[str, Any]], project: str) -> str | None:
    return found[project]["state"] if project in found else None


def status(rig: Rig, *args: str) -> str:
    r = subprocess.run([*piko_command(), "status", *args], env=hook_env(rig.server.home, rig.server.url),
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.browser
def test_three_real_sessions_working_waiting_idle(rig, open_page, shot):
    page = open_page(rig.server)  # open before the agents start: every change below reaches it live
    open_fleet(page)
    busy_project, ask_project, rest_project = rig.project("busy"), rig.project("ask"), rig.project("rest")
    allow_slow_command(busy_project)
    busy = rig.agent(busy_project, "busy")
    ask = rig.agent(ask_project, "ask")
    rest = rig.agent(rest_project, "rest")

    rest.type_prompt("hello there")
    ask.type_prompt(f"please [bash:touch {ask_project}/marker] now")
    found = wait_sessions(rig, lambda f: state_of(f, "rest") == "idle" and state_of(f, "ask") == "waiting")
    request = rig.wait_request(lambda r: r["project_name"] == "ask" and r["kind"] == "permission")
    assert found["ask"]["request_id"] == request["id"] and found["ask"]["tool_name"] == "Bash"
    assert found["rest"]["last_prompt"] == "hello there"
    assert found["rest"]["last_answer"] == "ECHO: hello there"

    busy.type_prompt(f"please [bash:{SLOW}] now")
    found = wait_sessions(rig, lambda f: state_of(f, "busy") == "working" and f["busy"]["tool_name"] == "Bash")
    assert found["busy"]["tool_summary"] == SLOW and found["busy"]["quiet"] is False
    assert {p: s["state"] for p, s in found.items()} == {"busy": "working", "ask": "waiting", "rest": "idle"}
    for project, running in (("busy", busy), ("ask", ask), ("rest", rest)):
        assert found[project]["tmux_target"] == running.pane_id and found[project]["cwd"] == running.project_dir
        # The hook does not ask tmux for its session's name; the server does, once per session.
        assert (found[project]["tmux_session"], found[project]["env_name"]) == (project, project)

    listed = {s["project_name"]: s for s in json.loads(status(rig, "--json"))["sessions"]}
    assert {p: s["state"] for p, s in listed.items()} == {"busy": "working", "ask": "waiting", "rest": "idle"}
    table = status(rig).splitlines()
    assert [line for line in table if not line.startswith(" ")] == ["ask/ask", "busy/busy", "rest/rest"]
    rows = {line.split("/")[0]: table[i + 1] for i, line in enumerate(table) if not line.startswith(" ")}
    assert "working" in rows["busy"] and f"Bash: {SLOW}" in rows["busy"]
    assert "waiting" in rows["ask"] and f"request {request['id']}" in rows["ask"]
    assert "idle" in rows["rest"] and "> hello there" in rows["rest"]

    # The same three, live in Chromium, each with its state; the waiting one with its request inline.
    cards = {project: agent(page, found[project]["session_id"]) for project in ("busy", "ask", "rest")}
    for project, word in (("busy", "Working"), ("ask", "Waiting"), ("rest", "Idle")):
        expect(cards[project].locator(".state")).to_have_text(word, timeout=LIVE)
    expect(cards["busy"].locator(".tool")).to_have_text("Bash", timeout=LIVE)
    expect(cards["ask"].locator(".session-request")).to_be_visible(timeout=LIVE)
    shot(page, "three")

    # The slow command ends: Claude answers and stops, and the session is idle.
    found = wait_sessions(rig, lambda f: state_of(f, "busy") == "idle", timeout=40)
    assert found["busy"]["tool_name"] is None and found["busy"]["last_answer"].startswith("TOOL RESULT")
    expect(cards["busy"].locator(".state")).to_have_text("Idle", timeout=LIVE)

    # Killing the waiting agent's pane ends its session (and resolves its request the same way). Claude
    # Code, hung up on, may still run its SessionEnd hook: whichever tells the server first ends it.
    ask.tmux("kill-pane", "-t", ask.pane_id)
    detail = ended(rig, found["ask"]["session_id"])
    assert detail["session"]["ended_via"] in ("pane_gone", "event:SessionEnd")
    assert "ask" not in by_project(rig)
    expect(cards["ask"]).to_have_count(0, timeout=LIVE)  # an ended session leaves the view
    assert rig.wait_status(request["id"])["resolved_via"] in ("pane_gone", "event:SessionEnd")
    kinds = [(e["kind"], e["event"]) for e in detail["timeline"]]
    assert ("event", "SessionStart") in kinds and ("request", "PermissionRequest") in kinds

    # Claude killed outright (no hook runs): the watcher sees its process gone (the test's tmux keeps
    # the pane, dead, on exit).
    assert rest.pid is not None
    os.kill(rest.pid, signal.SIGKILL)
    assert ended(rig, found["rest"]["session_id"])["session"]["ended_via"] in ("pane_dead", "claude_gone")
    assert list(by_project(rig)) == ["busy"]


def ended(rig: Rig, session_id: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        detail: dict[str, Any] = rig.server.request("GET", f"/api/orchestra/sessions/{session_id}").json()
        if detail["session"]["state"] == "ended" or time.monotonic() > deadline:
            assert detail["session"]["state"] == "ended", detail["session"]
            return detail
        time.sleep(0.1)
