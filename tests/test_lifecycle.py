"""Lifecycle rules, seen by real WebSocket clients: one request per session, resolved when it moves on."""

from __future__ import annotations

import pytest

from tests.conftest import hook_payload
from tests.support.server import recv_json

BASH = hook_payload("PermissionRequest-Bash")
SESSION = BASH["session_id"]


def test_snapshot_then_every_change_reaches_every_client(server):
    early = server.notify(**hook_payload("Notification-idle_prompt") | {"session_id": "other"})["id"]
    with server.ws() as a, server.ws() as b:
        for ws in (a, b):
            snap = recv_json(ws)
            assert snap["type"] == "snapshot" and [n["id"] for n in snap["notifications"]] == [early]
        id = server.notify(**BASH)["id"]
        for ws in (a, b):
            msg = recv_json(ws)
            assert msg["type"] == "created" and msg["notification"]["id"] == id
        server.notify(**hook_payload("Notification-permission_prompt"))
        for ws in (a, b):
            msg = recv_json(ws)
            assert msg["type"] == "updated" and msg["notification"]["id"] == id
            assert msg["notification"]["message"] == "Claude needs your permission"
            assert msg["notification"]["tool_input"]["command"] == "touch /tmp/build-marker"
        server.request("DELETE", f"/api/orchestra/notifications/{early}")
        for ws in (a, b):
            msg = recv_json(ws)
            assert msg["type"] == "dismissed" and msg["notification"]["id"] == early
        server.notify(hook_event_name="PostToolUse", session_id=SESSION, tool_name="Bash",
                      tool_input=BASH["tool_input"])
        for ws in (a, b):
            msg = recv_json(ws)
            assert msg["type"] == "resolved" and msg["notification"]["resolved_via"] == "event:PostToolUse"
    assert server.pending() == []


def test_permission_request_and_its_notification_are_one_request_either_order(server):
    first = server.notify(**hook_payload("Notification-permission_prompt"))
    second = server.notify(**BASH)
    # The Notification came first (no details yet); the PermissionRequest replaces it with details.
    pending = server.pending()
    assert len(pending) == 1 and pending[0]["id"] == second["id"] and pending[0]["tool_name"] == "Bash"
    third = server.notify(**hook_payload("Notification-permission_prompt"))
    assert third["action"] == "updated" and third["id"] == second["id"]
    assert len(server.pending()) == 1
    assert server.get(first["id"])["resolved_via"] == "replaced"


def test_a_new_prompt_from_the_same_session_replaces_the_old(server):
    old = server.notify(**BASH)["id"]
    new = server.notify(**BASH | {"tool_input": {"command": "ls"}})["id"]
    assert [n["id"] for n in server.pending()] == [new]
    assert server.get(old)["status"] == "resolved" and server.get(old)["resolved_via"] == "replaced"


@pytest.mark.parametrize("event", ["PostToolUse", "PostToolUseFailure", "UserPromptSubmit", "SessionEnd"])
def test_session_moving_on_resolves_its_request(server, event):
    id = server.notify(**BASH)["id"]
    other = server.notify(**BASH | {"session_id": "another-session"})["id"]
    body = {"hook_event_name": event, "session_id": SESSION}
    if event.startswith("PostToolUse"):
        body |= {"tool_name": "Bash", "tool_input": BASH["tool_input"]}
    answer = server.notify(**body)
    assert answer == {"id": id, "action": "resolved", "notification": answer["notification"]}
    record = server.get(id)
    assert record["status"] == "resolved" and record["resolved_via"] == f"event:{event}"
    assert record["resolved_at"] is not None
    assert [n["id"] for n in server.pending()] == [other]  # other sessions are untouched


def test_a_different_tool_finishing_does_not_resolve_the_prompt(server):
    id = server.notify(**BASH)["id"]
    server.notify(hook_event_name="PostToolUse", session_id=SESSION, tool_name="Read",
                  tool_input={"file_path": "/etc/hosts"})
    server.notify(hook_event_name="PostToolUse", session_id=SESSION, tool_name="Bash",
                  tool_input={"command": "something else"})
    assert [n["id"] for n in server.pending()] == [id]


def test_question_is_resolved_by_its_post_tool_use_with_answers(server):
    id = server.notify(**hook_payload("PermissionRequest-AskUserQuestion"))["id"]
    record = server.get(id)
    assert record["kind"] == "question"
    assert [o["label"] for o in record["options"]] == ["PostgreSQL", "SQLite"]
    server.notify(**hook_payload("PostToolUse-AskUserQuestion"))
    assert server.get(id)["resolved_via"] == "event:PostToolUse"


def test_idle_prompt_answered_by_user_prompt_submit(server):
    id = server.notify(**hook_payload("Notification-idle_prompt"))["id"]
    assert server.get(id)["kind"] == "idle"
    idle_session = hook_payload("Notification-idle_prompt")["session_id"]
    server.notify(**hook_payload("UserPromptSubmit") | {"session_id": idle_session})
    assert server.get(id)["resolved_via"] == "event:UserPromptSubmit"


def test_stop_resolves_the_prompt_and_opens_an_idle_request_at_once(server):
    id = server.notify(**BASH)["id"]
    stop = hook_payload("Stop") | {"session_id": SESSION}
    answer = server.notify(**stop)
    assert answer["action"] == "created"
    assert server.get(id)["resolved_via"] == "event:Stop"
    idle = server.get(answer["id"])
    assert idle["kind"] == "idle" and idle["message"].startswith('Done. "File created successfully')
    # Claude Code's own idle_prompt, a minute later, is the same request, not a second one.
    later = server.notify(**hook_payload("Notification-idle_prompt") | {"session_id": SESSION})
    assert later["action"] == "updated" and later["id"] == answer["id"]
    assert [n["id"] for n in server.pending()] == [answer["id"]]
    record = server.get(answer["id"])
    assert record["notification_type"] == "idle_prompt" and record["message"].startswith("Done.")


def test_ping_pong(server):
    with server.ws() as ws:
        recv_json(ws)
        ws.send('{"type": "ping"}')
        assert recv_json(ws) == {"type": "pong"}
