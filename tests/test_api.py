"""The four routes, health and history, against a real server process."""

from __future__ import annotations

from tests.conftest import hook_payload


def test_health_needs_no_auth(server):
    r = server.request("GET", "/api/health", auth=False)
    assert r.status_code == 200 and r.json()["ok"] is True


def test_notify_returns_id_and_keeps_every_field(server):
    body = {**hook_payload("PermissionRequest-Bash"), "project_name": "myapp", "env_name": "feat",
            "tmux_session": "myapp-feat", "tmux_target": "%3", "tmux_socket": "/tmp/tmux-0/default,123,0",
            "title": "Permission", "surprise": {"kept": [1, 2]}}
    answer = server.notify(**body)
    assert answer["action"] == "created" and len(answer["id"]) == 12
    record = server.get(answer["id"])
    for field in ("hook_event_name", "session_id", "cwd", "tool_name", "tool_input", "project_name",
                  "env_name", "tmux_session", "tmux_target", "title"):
        assert record[field] == body[field], field
    assert record["tmux_socket"] == "/tmp/tmux-0/default"  # $TMUX's pid and index stripped
    assert record["extra"]["surprise"] == {"kept": [1, 2]}
    assert record["extra"]["transcript_path"].endswith(".jsonl")
    assert record["status"] == "pending" and record["kind"] == "permission"
    assert record["created_at"].endswith("Z") and record["updated_at"] == record["created_at"]
    assert [o["decision"] for o in record["options"]] == ["allow", "always", "deny"]


def test_pending_list_is_oldest_first_and_history_pages(server):
    ids = [server.notify(hook_event_name="Notification", notification_type="idle_prompt",
                         session_id=f"s{i}", message=f"m{i}")["id"] for i in range(5)]
    assert [n["id"] for n in server.pending()] == ids
    server.request("DELETE", f"/api/orchestra/notifications/{ids[0]}")
    server.notify(hook_event_name="SessionEnd", session_id="s1")
    assert [n["id"] for n in server.pending()] == ids[2:]

    seen, before = [], None
    while True:
        params = {"status": "all", "limit": 2, **({"before": before} if before else {})}
        page = server.request("GET", "/api/orchestra/notifications", params=params).json()
        seen += [n["id"] for n in page["notifications"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == ids[::-1]  # history is newest first, every record once
    resolved = server.request("GET", "/api/orchestra/notifications", params={"status": "resolved"}).json()
    assert [n["id"] for n in resolved["notifications"]] == [ids[1]]
    assert resolved["notifications"][0]["resolved_via"] == "event:SessionEnd"
    dismissed = server.request("GET", "/api/orchestra/notifications", params={"status": "dismissed"}).json()
    assert [n["id"] for n in dismissed["notifications"]] == [ids[0]]


def test_dismiss(server):
    id = server.notify(**hook_payload("Notification-idle_prompt"))["id"]
    r = server.request("DELETE", f"/api/orchestra/notifications/{id}")
    assert r.status_code == 200 and r.json()["notification"]["status"] == "dismissed"
    assert server.pending() == []
    again = server.request("DELETE", f"/api/orchestra/notifications/{id}")
    assert again.status_code == 409 and again.json()["code"] == "already_resolved"
    missing = server.request("DELETE", "/api/orchestra/notifications/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_respond_unknown_and_already_resolved(server):
    r = server.respond(notification_id="000000000000", response="hi")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    id = server.notify(**hook_payload("Notification-idle_prompt"))["id"]
    idle_session = hook_payload("Notification-idle_prompt")["session_id"]
    server.notify(**hook_payload("UserPromptSubmit") | {"session_id": idle_session})
    r = server.respond(notification_id=id, response="too late")
    assert r.status_code == 409 and r.json()["code"] == "already_resolved"


def test_events_that_ask_nothing_are_ignored(server):
    for name in ("PreToolUse-Bash", "SessionStart", "SessionEnd", "UserPromptSubmit", "PostToolUse-Write"):
        assert server.notify(**hook_payload(name))["action"] == "ignored"
    assert server.notify(hook_event_name="Notification", notification_type="auth_success")["action"] == "ignored"
    assert server.pending() == []
