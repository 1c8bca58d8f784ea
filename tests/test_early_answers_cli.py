"""With the real Claude Code CLI: answers sent the instant a request appears are carried out; a kill -9 of
the server while a hook waits loses nothing; no hook outlives its request, and no request its agent.

Real `piko server`, real tmux, hooks from `piko cc init`, the Messages API stand-in (no network).
Runs against $CLAUDE_CODE_VERSION (default: the pinned one).
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.agents import Rig, running_rig
from tests.support.server import PikoServer, recv_json

pytestmark = pytest.mark.claude


@pytest.fixture
def rig(tmp_path: Path, server: PikoServer) -> Iterator[Rig]:
    with running_rig(tmp_path, server, hooks_gone_while_running=True) as rig:
        yield rig


def marker(tmp_path: Path) -> Path:
    return tmp_path / f"marker-{uuid.uuid4().hex[:8]}"


def wait_exists(path: Path, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.exists()


def announced(ws: Any, target: Path, timeout: float = 20) -> dict[str, Any]:
    """The request for `touch target`, the moment the WebSocket announces it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = recv_json(ws, timeout=max(0.1, deadline - time.monotonic()))
        record = message.get("notification") or {}
        if message["type"] == "created" and str(target) in str(record.get("tool_input")):
            return record
    raise AssertionError(f"no request for {target} was announced")


@pytest.mark.parametrize("body", [{"response": "1", "response_type": "option"}, {"decision": "allow"}],
                         ids=["option", "decision"])
def test_an_answer_sent_the_instant_the_request_appears_is_carried_out(rig, tmp_path, body):
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    with rig.server.ws() as ws:
        recv_json(ws)
        agent.type_prompt(f"please [bash:touch {target}] now")
        record = announced(ws, target)
        r = rig.server.respond(notification_id=record["id"], **body)
    assert r.status_code == 200, r.text
    assert r.json()["delivered_via"] == "hook"
    agent.wait_for("Allowed by PermissionRequest hook")
    assert wait_exists(target)


def test_a_question_answered_by_option_number_the_instant_it_appears(rig):
    agent = rig.agent(rig.project("app"))
    with rig.server.ws() as ws:
        recv_json(ws)
        agent.type_prompt("please [ask] me")
        deadline = time.monotonic() + 20
        record: dict[str, Any] = {}
        while record.get("kind") != "question" and time.monotonic() < deadline:
            message = recv_json(ws, timeout=20)
            record = message["notification"] if message["type"] == "created" else {}
        r = rig.server.respond(notification_id=record["id"], response="2", response_type="option")
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook", r.text
    rig.api.wait_for(lambda api: any("SQLite" in str(t) for t in api.tool_results()), timeout=15)
    agent.wait_for("Allowed by PermissionRequest hook")


def test_an_instant_answer_whose_hook_was_killed_is_typed_once_the_dialog_is_drawn(rig, tmp_path):
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    with rig.server.ws() as ws:
        recv_json(ws)
        agent.type_prompt(f"please [bash:touch {target}] now")
        record = announced(ws, target)
        for pid in rig.hook_processes():
            os.kill(pid, signal.SIGKILL)
        r = rig.server.respond(notification_id=record["id"], response="1", response_type="option")
    assert r.status_code == 200, r.text
    assert r.json()["delivered_via"] == "keys"
    assert wait_exists(target)
    assert "by PermissionRequest hook" not in agent.capture(history=True)


def test_a_kill_9_of_the_server_while_the_hook_waits_loses_nothing(rig, tmp_path):
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    record = rig.wait_request(lambda r: str(target) in str(r.get("tool_input")) and r["hook_waiting"])
    agent.wait_for("Do you want to proceed?")
    rig.server.kill9()
    time.sleep(1.0)
    rig.server.start()  # same port, same PIKO_HOME
    assert rig.server.get(record["id"])["status"] == "pending"
    r = rig.server.respond(notification_id=record["id"], decision="allow")
    assert r.status_code == 200, r.text
    assert r.json()["delivered_via"] == "hook"
    agent.wait_for("Allowed by PermissionRequest hook")
    assert wait_exists(target)
    assert agent.capture(history=True).count("Allowed by PermissionRequest hook") == 1


def test_a_dismissed_request_releases_its_hook_and_leaves_the_dialog_to_the_terminal(rig, tmp_path):
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    record = rig.wait_request(lambda r: str(target) in str(r.get("tool_input")) and r["hook_waiting"])
    agent.wait_for("Do you want to proceed?")
    assert rig.hook_processes()
    assert rig.server.request("DELETE", f"/api/orchestra/notifications/{record['id']}").status_code == 200
    rig.wait_no_hooks(timeout=3)
    assert "Do you want to proceed?" in agent.capture()  # Claude's own dialog is still in charge
    agent.choose("1")
    assert wait_exists(target)


def test_a_request_does_not_outlive_its_agent_nor_its_hook(rig, tmp_path):
    """Claude is stopped while its permission dialog waits: the request is resolved (SessionEnd) and its
    hook is gone, though the pane stays (remain-on-exit) with the dialog's last picture on it."""
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    record = rig.wait_request(lambda r: str(target) in str(r.get("tool_input")) and r["hook_waiting"])
    agent.wait_for("Do you want to proceed?")
    assert agent.pid is not None
    os.kill(agent.pid, signal.SIGTERM)
    resolved = rig.wait_status(record["id"], timeout=10)
    assert resolved["resolved_via"] in ("event:SessionEnd", "terminal", "pane_gone"), resolved
    rig.wait_no_hooks(timeout=5)
    assert not target.exists()


def test_no_hook_outlives_an_agent_killed_with_sigkill(rig, tmp_path):
    """Claude dies without a word (no SessionEnd): its waiting hook notices and ends within seconds."""
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    rig.wait_request(lambda r: str(target) in str(r.get("tool_input")) and r["hook_waiting"])
    hooks = rig.hook_processes()
    assert hooks and agent.pid is not None
    os.kill(agent.pid, signal.SIGKILL)
    rig.wait_no_hooks(timeout=5)


def test_no_hook_outlives_an_agent_whose_terminal_closed(rig, tmp_path):
    """The terminal goes away (tmux kill-server: SIGHUP) while the hook waits on a pending request."""
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    agent.type_prompt(f"please [bash:touch {target}] now")
    rig.wait_request(lambda r: str(target) in str(r.get("tool_input")) and r["hook_waiting"])
    assert rig.hook_processes()
    agent.close()
    rig.wait_no_hooks(timeout=5)


def test_no_hook_outlives_an_agent_closed_the_instant_its_request_appears(rig, tmp_path):
    agent = rig.agent(rig.project("app"))
    target = marker(tmp_path)
    with rig.server.ws() as ws:
        recv_json(ws)
        agent.type_prompt(f"please [bash:touch {target}] now")
        announced(ws, target)
    agent.close()
    rig.wait_no_hooks(timeout=5)


def test_a_kill_9_of_the_server_while_typing_into_claude_never_types_twice(rig):
    agent = rig.agent(rig.project("app"))
    agent.type_prompt("say hello")
    idle = rig.wait_request(lambda r: r["kind"] == "idle")
    text = f"chaos {uuid.uuid4().hex[:8]}"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answer = pool.submit(rig.server.respond, notification_id=idle["id"], response=text)
        deadline = time.monotonic() + 10
        while text not in agent.capture() and time.monotonic() < deadline:
            time.sleep(0.01)
        rig.server.kill9()
        try:
            answer.result(timeout=15)
        except httpx.HTTPError:
            pass
    rig.server.start()
    again = rig.server.respond(notification_id=idle["id"], response=text)
    assert again.status_code == 409, again.text
    assert again.json()["code"] in ("typing_interrupted", "already_resolved")
    time.sleep(1.0)
    assert text + text not in agent.capture(history=True).replace("\n", "")
    assert rig.api.prompts().count(text) <= 1
