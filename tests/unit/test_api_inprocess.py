"""The API in process: httpx's ASGI transport against the real app factory (guard, routes, orchestra,
a real SQLite store in tmp_path), with a fake clock and a fake pane instead of tmux."""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgspec

from piko import models
from piko.server.app import App
from tests.unit.conftest import FIXTURES, FakePane, screen

PANE = {"tmux_target": "%7", "tmux_session": "work", "tmux_socket": "/nonexistent/piko-unit/tmux.sock"}


def hook(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "hooks" / f"{name}.json").read_text())
    body.update(changes)
    return body


async def notify(api: httpx.AsyncClient, name: str, **changes: Any) -> dict[str, Any]:
    r = await api.post("/api/orchestra/notify", json=hook(name, **changes))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_the_guard_stands_in_front_of_every_route(app: App) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8765") as anonymous:
        r = await anonymous.get("/api/orchestra/notifications")
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"
        assert (await anonymous.get("/api/health")).json()["ok"] is True
    async with httpx.AsyncClient(transport=transport, base_url="http://evil.example:8765") as rebound:
        assert (await rebound.get("/api/health")).status_code == 421


async def test_the_schema_is_served_and_describes_the_record(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/schema")
    assert r.status_code == 200
    schema = r.json()
    record = schema["$defs"]["Record"]
    assert {"summary", "resolution", "options", "hook_waiting"} <= set(record["properties"])
    assert {"HookEvent", "RespondBody", "NotifyAnswer", "Snapshot", "Resolved"} <= set(schema["$defs"])


async def test_a_created_record_is_a_valid_record_with_its_texts(api: httpx.AsyncClient) -> None:
    answer = await notify(api, "PermissionRequest-Bash", **PANE)
    assert answer["action"] == "created" and answer["wait_key"]
    record = msgspec.convert(answer["notification"], models.Record)  # the wire matches the model
    assert record.summary == "touch /tmp/build-marker" and record.resolution is None
    assert record.created_at == "2026-01-01T00:00:00.000Z"  # the fake clock
    listed = (await api.get("/api/orchestra/notifications")).json()["notifications"]
    assert [r["id"] for r in listed] == [record.id]


async def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api: httpx.AsyncClient) -> None:
    for body, words in [({"hook_event_name": 3}, "hook_event_name must be a string"),
                        ({"hook_event_name": "Stop", "tool_input": []}, "tool_input must be a JSON object"),
                        ({"hook_event_name": "Stop", "tmux_target": "%0\n"}, "tmux_target"),
                        ([1, 2], "JSON object")]:
        r = await api.post("/api/orchestra/notify", json=body)
        assert r.status_code == 400 and words in r.json()["error"], (body, r.text)
    r = await api.post("/api/orchestra/notify", content=b"{nope")
    assert r.status_code == 400 and r.json()["code"] == "bad_json"
    assert (await api.get("/api/orchestra/notifications")).json()["notifications"] == []


async def test_lone_surrogates_and_nul_are_repaired(api: httpx.AsyncClient) -> None:
    body = json.dumps(hook("Notification-idle_prompt", message="a\u0000b")).replace("a\\u0000b", "a\\ud800\\u0000b")
    r = await api.post("/api/orchestra/notify", content=body.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.json()["notification"]["message"] == "a\ufffd\ufffdb"


async def test_a_decision_by_keys_presses_the_dialogs_key(api: httpx.AsyncClient, pane: FakePane) -> None:
    pane.screen = screen("permission-bash")
    record = (await notify(api, "PermissionRequest-Bash", **PANE))["notification"]
    r = await api.post("/api/orchestra/respond", json={"notification_id": record["id"], "decision": "deny"})
    assert r.status_code == 200, r.text
    assert r.json()["delivered_via"] == "keys" and pane.typed == [("key", "4")]  # "4. No" on that screen
    done = r.json()["notification"]
    assert (done["status"], done["response"], done["response_type"]) == ("resolved", "deny", "decision")
    assert done["resolution"] == "Answered from Piko Orchestra, typed into its pane."
    assert "typing_since" not in done
    again = await api.post("/api/orchestra/respond", json={"notification_id": record["id"], "decision": "allow"})
    assert again.status_code == 409 and again.json()["code"] == "already_resolved"
    assert pane.typed == [("key", "4")]


async def test_text_is_typed_into_an_idle_pane_byte_for_byte(api: httpx.AsyncClient, pane: FakePane) -> None:
    pane.screen = "> \n? for shortcuts\n"
    record = (await notify(api, "Notification-idle_prompt", **PANE))["notification"]
    text = "echo 'a;b' #{x} -t;"
    r = await api.post("/api/orchestra/respond", json={"notification_id": record["id"], "response": text})
    assert r.status_code == 200, r.text
    assert pane.typed == [("text", text)]


async def test_text_is_never_typed_into_a_dialog(api: httpx.AsyncClient, pane: FakePane) -> None:
    pane.screen = screen("permission-bash")
    record = (await notify(api, "Notification-idle_prompt", **PANE))["notification"]
    r = await api.post("/api/orchestra/respond", json={"notification_id": record["id"], "response": "hi"})
    assert r.status_code == 409 and r.json()["code"] == "dialog_showing" and pane.typed == []


async def test_a_gone_pane_is_410_and_the_request_stays_pending(api: httpx.AsyncClient, pane: FakePane) -> None:
    record = (await notify(api, "Notification-idle_prompt", **PANE))["notification"]
    pane.gone = True
    r = await api.post("/api/orchestra/respond", json={"notification_id": record["id"], "response": "hi"})
    assert r.status_code == 410 and r.json()["code"] == "pane_gone"
    still = (await api.get(f"/api/orchestra/notifications/{record['id']}")).json()
    assert still["status"] == "pending" and still["resolution"] is None


async def test_bad_answers_are_400_and_type_nothing(api: httpx.AsyncClient, pane: FakePane) -> None:
    pane.screen = screen("permission-bash")
    record = (await notify(api, "PermissionRequest-Bash", **PANE))["notification"]
    bodies: list[dict[str, Any]] = [
        {}, {"decision": "maybe"}, {"answers": {"q": "a"}}, {"response": "0", "response_type": "option"},
        {"response": "x", "response_type": "bogus"}, {"decision": "allow", "message": "no"},
        {"response": "a\u0007b"}, {"response": 5}]
    for body in bodies:
        r = await api.post("/api/orchestra/respond", json={"notification_id": record["id"], **body})
        assert r.status_code == 400 and r.json()["error"], (body, r.text)
    r = await api.post("/api/orchestra/respond", json={"notification_id": 7})
    assert r.status_code == 400
    assert pane.typed == []


async def test_the_session_moving_on_resolves_with_its_sentence(api: httpx.AsyncClient) -> None:
    record = (await notify(api, "PermissionRequest-Bash"))["notification"]
    answer = await notify(api, "UserPromptSubmit", session_id=record["session_id"])
    assert answer["action"] == "resolved"
    assert answer["notification"]["resolution"] == "The agent moved on (UserPromptSubmit)."
    history = (await api.get("/api/orchestra/notifications?status=all")).json()["notifications"]
    assert [r["resolution"] for r in history] == ["The agent moved on (UserPromptSubmit)."]


async def test_dismiss_then_dismiss_again(api: httpx.AsyncClient) -> None:
    record = (await notify(api, "Notification-idle_prompt"))["notification"]
    r = await api.delete(f"/api/orchestra/notifications/{record['id']}")
    assert r.status_code == 200 and r.json()["notification"]["resolution"] == "Dismissed."
    again = await api.delete(f"/api/orchestra/notifications/{record['id']}")
    assert again.status_code == 409
    assert (await api.delete("/api/orchestra/notifications/ffffffffffff")).status_code == 404


async def test_an_event_key_is_ingested_once(api: httpx.AsyncClient) -> None:
    first = await notify(api, "Notification-idle_prompt", piko_event_key="k-1")
    second = await notify(api, "Notification-idle_prompt", piko_event_key="k-1")
    assert first["action"] == "created" and second == {"id": None, "action": "duplicate", "notification": None}


async def test_a_failed_write_is_503_and_changes_nothing(api: httpx.AsyncClient, app: App) -> None:
    record = (await notify(api, "Notification-idle_prompt"))["notification"]
    app.parts.store.db.execute(
        "CREATE TRIGGER fail_updates BEFORE UPDATE ON notifications BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    r = await api.delete(f"/api/orchestra/notifications/{record['id']}")
    assert r.status_code == 503 and r.json()["code"] == "store_failed"
    assert [p["id"] for p in (await api.get("/api/orchestra/notifications")).json()["notifications"]] == [record["id"]]
    stored = app.parts.store.get(record["id"])
    assert stored is not None and stored.status == "pending"


async def test_history_parameters_are_ascii_digits(api: httpx.AsyncClient) -> None:
    for query in ["status=all&limit=0", "status=all&limit=\u00b2", "status=bogus", "status=all&before=x"]:
        assert (await api.get(f"/api/orchestra/notifications?{query}")).status_code == 400, query
