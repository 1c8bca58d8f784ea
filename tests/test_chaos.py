"""Chaos: `kill -9` of the server while a hook waits and while keys are being typed. After the restart the
hook's decision still arrives, and nothing is typed twice.

Real server processes (killed with SIGKILL, started again on the same port and PIKO_HOME), real tmux, the
real hook. These tests look at behaviour only (what the hook prints, what the pane shows), not at the
route the hook waits on.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.conftest import hook_payload
from tests.support.agents import hook_processes
from tests.support.hook import hook_env, waiting_hook


def finished(hook) -> dict:
    hook.wait(timeout=15)
    return json.loads(hook.stdout.read())


def test_a_hook_waiting_through_a_kill_9_still_gets_its_decision(server, piko_home):
    hook, record = waiting_hook(server, piko_home)
    server.kill9()
    time.sleep(1.0)  # the hook finds the server gone, and tries again
    assert hook.poll() is None  # it waits on: the agent's dialog is still open
    server.start()
    r = server.respond(notification_id=record["id"], decision="allow")  # held until the hook is back
    assert r.status_code == 200, r.text
    assert r.json()["delivered_via"] == "hook"
    assert finished(hook)["hookSpecificOutput"]["decision"]["behavior"] == "allow"
    assert hook.returncode == 0


def test_a_request_whose_hook_waits_is_still_pending_after_a_kill_9(server, piko_home):
    hook, record = waiting_hook(server, piko_home)
    server.kill9()
    server.start()
    deadline = time.monotonic() + 10
    while not server.get(record["id"])["hook_waiting"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.get(record["id"])["status"] == "pending" and server.get(record["id"])["hook_waiting"]
    assert server.request("DELETE", f"/api/orchestra/notifications/{record['id']}").status_code == 200
    hook.wait(timeout=10)  # dismissed: the hook ends quietly, and leaves Claude's own dialog in charge
    assert hook.returncode == 0 and hook.stdout.read() == b""


def idle_in(tmux, server, pane: str) -> str:
    return server.notify(hook_event_name="Notification", notification_type="idle_prompt",
                         message="Claude is waiting for your input", session_id="chaos",
                         tmux_target=pane, tmux_socket=tmux.socket_path)["id"]


def test_a_server_killed_while_typing_never_types_the_answer_again(server, tmux):
    """The text is on the screen, its Enter not yet sent, when the server dies. After the restart the
    request still says an answer was being typed: answering again is refused, so the text is there once."""
    pane = tmux.echo_pane()
    id = idle_in(tmux, server, pane)
    text = f"chaos-{uuid.uuid4().hex[:8]}"
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answer = pool.submit(server.respond, notification_id=id, response=text)
        deadline = time.monotonic() + 10
        while text not in tmux.capture(pane) and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill9()  # the terminal echoes the typed text before its Enter (tmux.ENTER_PAUSE)
        try:
            answer.result(timeout=15)
        except httpx.HTTPError:
            pass  # the connection died with the server
    server.start()
    assert server.get(id)["status"] in ("pending", "resolved")
    again = server.respond(notification_id=id, response=text)  # the person (or a client) tries again
    assert again.status_code == 409, again.text
    assert again.json()["code"] in ("typing_interrupted", "already_resolved")
    time.sleep(0.5)
    assert tmux.capture(pane).count(text) == 1, tmux.capture(pane)



AGENT = """
import subprocess, sys, time
hook = subprocess.Popen(["sh", "-c", sys.argv[1]], stdin=subprocess.PIPE)
hook.stdin.write(sys.stdin.buffer.read())
hook.stdin.close()
time.sleep(3600)
"""


def test_no_hook_outlives_an_agent_killed_with_sigkill(server, piko_home):
    """Claude Code runs a hook under `sh -c`; Claude killed with SIGKILL leaves that shell waiting for the
    hook. The hook still notices its agent is gone and ends, though its request is still pending."""
    agent = subprocess.Popen([sys.executable, "-c", AGENT, f"{sys.executable} -m piko cc notify"],
                             stdin=subprocess.PIPE, env=hook_env(piko_home, server.url))
    assert agent.stdin is not None
    agent.stdin.write(json.dumps(hook_payload("PermissionRequest-Bash")).encode())
    agent.stdin.close()
    deadline = time.monotonic() + 10
    while not any(r["hook_waiting"] for r in server.pending()) and time.monotonic() < deadline:
        time.sleep(0.05)
    [record] = server.pending()
    assert record["hook_waiting"]
    os.kill(agent.pid, signal.SIGKILL)
    agent.wait()
    hooks = hook_processes(piko_home)
    assert hooks
    deadline = time.monotonic() + 6
    while hook_processes(piko_home) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = hook_processes(piko_home)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "the hook outlived its agent"
    assert server.get(record["id"])["status"] == "pending"  # the request is the watcher's business


@pytest.mark.parametrize("event", [
    {"hook_event_name": "SessionEnd", "reason": "other"},
    {"hook_event_name": "Stop"},  # the request is replaced by the idle prompt
    {"hook_event_name": "PermissionRequest", "tool_name": "Write", "tool_input": {"file_path": "/tmp/x"}},
])
def test_no_hook_outlives_its_request_ended_by_the_agent(server, piko_home, event):
    hook, record = waiting_hook(server, piko_home)
    server.notify(session_id=record["session_id"], **event)
    hook.wait(timeout=5)  # released at once: no heartbeat to wait for
    assert hook.returncode == 0 and hook.stdout.read() == b""  # silent: Claude's own dialog stays in charge
    assert server.get(record["id"])["status"] == "resolved"
