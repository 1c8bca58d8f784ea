"""Every change is written to the store before memory changes: a write that fails (a real SQLite error,
raised by a trigger in the server's own database) answers 503 and leaves the inbox, the store and the
WebSocket clients exactly as they were."""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager

from tests.conftest import hook_payload
from tests.support.server import recv_json


@contextmanager
def failing_writes(server, operation: str):
    """Make every INSERT or UPDATE of a notification fail in the server's database while inside."""
    db = sqlite3.connect(server.home / "state.db", isolation_level=None)
    db.execute(f"CREATE TRIGGER refuse BEFORE {operation} ON notifications BEGIN"
               " SELECT RAISE(ABORT, 'the disk says no'); END")
    try:
        yield
    finally:
        db.execute("DROP TRIGGER refuse")
        db.close()


def stored_status(server, id: str) -> str | None:
    db = sqlite3.connect(server.home / "state.db")
    try:
        row = db.execute("SELECT status FROM notifications WHERE id = ?", (id,)).fetchone()
        return row[0] if row else None
    finally:
        db.close()


def test_a_dismiss_that_cannot_be_saved_changes_nothing(server):
    id = server.notify(**hook_payload("PermissionRequest-Bash"))["id"]
    with server.ws() as ws:
        assert recv_json(ws)["type"] == "snapshot"
        with failing_writes(server, "UPDATE"):
            r = server.request("DELETE", f"/api/orchestra/notifications/{id}")
            assert r.status_code == 503 and r.json()["code"] == "store_failed", r.text
            assert [n["id"] for n in server.pending()] == [id]  # memory: still pending
            assert stored_status(server, id) == "pending"  # disk: still pending
            assert server.get(id)["status"] == "pending"
        r = server.request("DELETE", f"/api/orchestra/notifications/{id}")
        assert r.status_code == 200, r.text
        message = recv_json(ws)  # nothing was announced for the failed dismiss
        assert message["type"] == "dismissed" and message["notification"]["id"] == id
    assert stored_status(server, id) == "dismissed" and server.pending() == []


def test_an_enrichment_that_cannot_be_saved_changes_nothing(server):
    id = server.notify(**hook_payload("PermissionRequest-Bash"))["id"]
    before = server.get(id)
    with failing_writes(server, "UPDATE"):
        r = server.request("POST", "/api/orchestra/notify",
                           json={**hook_payload("Notification-permission_prompt"), "title": "new title"})
        assert r.status_code == 503, r.text
        assert server.pending() == [before]
    assert server.get(id) == before


def test_a_request_that_cannot_be_saved_is_not_created_and_replaces_nothing(server):
    first = server.notify(**hook_payload("Notification-idle_prompt"))["id"]
    with failing_writes(server, "INSERT"):
        r = server.request("POST", "/api/orchestra/notify", json=hook_payload("PermissionRequest-Bash"))
        assert r.status_code == 503, r.text
        assert [n["id"] for n in server.pending()] == [first]
        assert stored_status(server, first) == "pending"
    with server.ws() as ws:
        assert [n["id"] for n in recv_json(ws)["notifications"]] == [first]


def test_answers_that_could_not_be_stored_are_refused_before_the_hook_gets_them(server, piko_home):
    from tests.support.hook import waiting_hook

    hook, record = waiting_hook(server, piko_home, "PermissionRequest-AskUserQuestion")
    try:
        question = record["tool_input"]["questions"][0]["question"]
        r = server.request("POST", "/api/orchestra/respond", headers={"Content-Type": "application/json"},
                           content=json.dumps({"notification_id": record["id"], "answers": {question: "x\ud800"}}))
        assert r.status_code == 400 and "surrogate" in r.json()["error"], r.text
        assert hook.poll() is None  # still waiting: it was given nothing
        assert server.get(record["id"])["status"] == "pending" and stored_status(server, record["id"]) == "pending"
    finally:
        hook.kill()
        hook.wait()
