"""Requests as the server holds them: models.Record values (a change is a new value, the old one is left as
it was), encoded only where they leave, with the wire's keys and omissions; the store's rows, old ones too."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import msgspec
import pytest

from piko import models
from piko.server.app import App
from tests.unit.test_api_inprocess import PANE, hook, notify

WIRE_KEYS = set(models.Record.__struct_fields__) - {"typing_since"}  # typing_since only while keys are typed


async def test_the_server_holds_records_and_a_change_is_a_new_value(api: httpx.AsyncClient, app: App) -> None:
    created = (await notify(api, "PermissionRequest-Bash", title=None, **PANE))["notification"]
    held = app.orchestra.pending[created["id"]]
    assert isinstance(held, models.Record) and held.title is None and held.status == "pending"
    r = await api.post("/api/orchestra/notify", json=hook("Notification-permission_prompt", title="Permission needed"))
    assert r.json()["action"] == "updated"
    enriched = app.orchestra.pending[held.id]
    assert enriched is not held and enriched.title == "Permission needed" and held.title is None
    assert enriched.updated_at > held.updated_at
    dismissed = (await api.delete(f"/api/orchestra/notifications/{held.id}")).json()["notification"]
    assert held.id not in app.orchestra.pending and held.status == "pending"  # the old value, untouched
    stored = app.parts.store.get(held.id)
    assert isinstance(stored, models.Record) and stored.status == "dismissed"
    assert msgspec.convert(dismissed, models.Record) == stored


async def test_every_edge_sends_the_same_keys_with_nulls_and_no_typing_since(
        api: httpx.AsyncClient, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    monkeypatch.setattr(app.parts.hub, "broadcast_text", sent.append)
    answer = await notify(api, "PermissionRequest-Bash", **PANE)
    record = answer["notification"]
    assert set(record) == WIRE_KEYS and record["resolved_at"] is None and record["answered_by"] is None
    messages = [json.loads(text) for text in sent]
    created = next(m for m in messages if m["type"] == "created")
    assert created == {"type": "created", "notification": record}
    one = (await api.get(f"/api/orchestra/notifications/{record['id']}")).json()
    listed = (await api.get("/api/orchestra/notifications")).json()["notifications"]
    snapshot = json.loads(app.orchestra.snapshot_text())
    [row] = app.parts.store.db.execute("SELECT data FROM notifications WHERE id = ?", (record["id"],)).fetchone()
    assert one == listed[0] == snapshot["notifications"][0] == json.loads(row) == record
    assert snapshot["type"] == "snapshot" and isinstance(snapshot["sessions"], list)


async def test_an_answer_records_who_gave_it_on_every_edge(api: httpx.AsyncClient, app: App) -> None:
    idle = (await notify(api, "Notification-idle_prompt", **PANE))["notification"]
    r = await api.post("/api/orchestra/respond", json={"notification_id": idle["id"], "response": "go on"})
    assert r.status_code == 200, r.text
    answered = r.json()["notification"]
    assert set(answered) == WIRE_KEYS  # typing_since was set while typing, and is gone once answered
    assert answered["answered_by"] == {"kind": "cli", "id": None, "name": None}
    assert answered["response"] == "go on" and answered["response_type"] == "text"
    stored = app.parts.store.get(idle["id"])
    assert stored is not None and stored.answered_by == models.AnsweredBy(kind="cli")


def _row(app: App, id: str, data: dict[str, Any]) -> None:
    app.parts.store.db.execute(
        "INSERT INTO notifications (id, status, session_id, created_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?)",
        (id, data["status"], data.get("session_id"), data["created_at"], data["updated_at"], json.dumps(data)))


def test_old_rows_get_their_texts_and_a_row_that_is_no_record_is_left_out(
        app: App, caplog: pytest.LogCaptureFixture) -> None:
    old = {"id": "old1", "status": "resolved", "kind": "permission", "hook_event_name": "PermissionRequest",
           "tool_name": "Bash", "tool_input": {"command": "make   test"}, "resolved_via": "terminal",
           "created_at": "2025-01-01T00:00:00.000Z", "updated_at": "2025-01-01T00:00:01.000Z"}
    _row(app, "old1", old)  # written before records had summary, resolution, detail, suggestions
    loaded = app.parts.store.get("old1")
    assert loaded is not None and loaded.summary == "make test" and loaded.resolution == "Answered in the terminal."
    assert loaded.detail is None and loaded.suggestions == []
    _row(app, "bad1", {"id": "bad1", "status": "pending", "kind": "no such kind", "created_at": "x",
                       "updated_at": "x"})
    with caplog.at_level(logging.ERROR, "piko.store"):
        assert [r.id for r in app.parts.store.pending()] == []
    assert "not a record" in caplog.text
    assert app.parts.store.get("bad1") is None
