"""Chaos: `kill -9` of the server while a hook waits and while keys are being typed. After the restart the
hook's decision still arrives, and nothing is typed twice.

Real server processes (killed with SIGKILL, started again on the same port and PIKO_HOME), real tmux, the
real hook. These tests look at behaviour only (what the hook prints, what the pane shows), not at the
route the hook waits on.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
import uuid

import httpx

from tests.support.hook import waiting_hook


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

