"""The store's maintenance (server/retention.py), in process on a real SQLite file: what each table keeps,
in batches, on the writer thread (a database held locked by another connection holds up the pruning, not
the event loop)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import datetime

import pytest

from piko.server import event_keys, retention
from piko.server.app import App
from piko.server.store import Store
from tests.unit.conftest import FIXTURES

NOW = time.time()
DAY = 86400.0


def stamp(seconds_ago: float) -> str:
    return retention._stamp(NOW - seconds_ago)


def add_request(db: sqlite3.Connection, id: str, status: str, closed_ago: float) -> None:
    db.execute("INSERT INTO notifications (id, status, session_id, created_at, updated_at, data)"
               " VALUES (?, ?, NULL, ?, ?, '{}')", (id, status, stamp(closed_ago + 60), stamp(closed_ago)))


def add_session(db: sqlite3.Connection, sid: str, state: str, updated_ago: float, entries: int) -> None:
    db.execute("INSERT INTO sessions (session_id, state, updated_at, data) VALUES (?, ?, ?, '{}')",
               (sid, state, stamp(updated_ago)))
    db.executemany("INSERT INTO session_timeline (session_id, data) VALUES (?, ?)",
                   [(sid, json.dumps({"n": n})) for n in range(entries)])


def keys(db: sqlite3.Connection, table: str, column: str) -> set[str]:
    return {r[0] for r in db.execute(f"SELECT {column} FROM {table}")}


def timeline(db: sqlite3.Connection, sid: str) -> list[int]:
    rows = db.execute("SELECT data FROM session_timeline WHERE session_id = ? ORDER BY seq", (sid,))
    return [json.loads(r[0])["n"] for r in rows]


@pytest.fixture
def store(app: App) -> Store:
    """The app's store, every table made (event keys, wait keys, ...), the batches small."""
    return app.parts.store


async def test_each_table_keeps_what_its_rule_says(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)  # several batches per table
    db = store.db
    db.executemany("INSERT INTO event_keys (key, seen_at) VALUES (?, ?)",
                   [(f"old-{n}", NOW - event_keys.KEEP_SECONDS - 10 - n) for n in range(5)]
                   + [("fresh", NOW - event_keys.KEEP_SECONDS + 60)])
    add_request(db, "pending-long", "pending", 30 * DAY)
    add_request(db, "closed-long-ago", "resolved", retention.WAIT_KEY_KEEP_SECONDS + 60)
    add_request(db, "dismissed-long-ago", "dismissed", retention.WAIT_KEY_KEEP_SECONDS + 60)
    add_request(db, "closed-lately", "resolved", retention.WAIT_KEY_KEEP_SECONDS - 60)
    db.executemany("INSERT INTO wait_keys (id, digest) VALUES (?, 'x')",
                   [("pending-long",), ("closed-long-ago",), ("dismissed-long-ago",), ("closed-lately",),
                    ("no-such-request",)])
    add_session(db, "busy", "working", 0, retention.TIMELINE_KEEP + 7)
    add_session(db, "ended-long-ago", "ended", retention.ENDED_TIMELINE_KEEP_SECONDS + 60, 5)
    add_session(db, "ended-lately", "ended", DAY, 3)
    add_session(db, "silent", "idle", 2 * retention.ENDED_TIMELINE_KEEP_SECONDS, 3)  # not ended: kept

    gone = await retention.maintain(store, clock=lambda: NOW)

    assert keys(db, "event_keys", "key") == {"fresh"}
    assert keys(db, "wait_keys", "id") == {"pending-long", "closed-lately"}
    assert timeline(db, "busy") == list(range(7, retention.TIMELINE_KEEP + 7))  # the newest TIMELINE_KEEP
    assert timeline(db, "ended-long-ago") == []
    assert timeline(db, "ended-lately") == [0, 1, 2] and timeline(db, "silent") == [0, 1, 2]
    assert keys(db, "sessions", "session_id") == {"busy", "ended-long-ago", "ended-lately", "silent"}
    assert gone == {"event_keys": 5, "wait_keys": 3, "session_timeline": 12}
    assert await retention.maintain(store, clock=lambda: NOW) == {"event_keys": 0, "wait_keys": 0,
                                                                 "session_timeline": 0}


async def test_a_wait_key_works_until_a_day_after_its_request_closed(app: App, api) -> None:
    payload = json.loads((FIXTURES / "hooks" / "PermissionRequest-Bash.json").read_text())
    answer = (await api.post("/api/orchestra/notify", json=payload)).json()
    id, key = answer["id"], answer["wait_key"]
    closed = (await api.delete(f"/api/orchestra/notifications/{id}")).json()["notification"]["updated_at"]
    closed_at = datetime.fromisoformat(closed.replace("Z", "+00:00")).timestamp()

    await retention.maintain(app.parts.store, clock=lambda: closed_at + retention.WAIT_KEY_KEEP_SECONDS - 60)
    r = await api.post(f"/api/orchestra/notifications/{id}/wait", json={"wait_key": key})
    assert r.status_code == 200 and r.json() == {"status": "resolved", "output": None}  # a late hook is told

    await retention.maintain(app.parts.store, clock=lambda: closed_at + retention.WAIT_KEY_KEEP_SECONDS + 60)
    r = await api.post(f"/api/orchestra/notifications/{id}/wait", json={"wait_key": key})
    assert r.status_code == 403  # its key is gone: the hook stops waiting all the same


async def test_pruning_waits_for_a_locked_database_off_the_event_loop(store: Store) -> None:
    store.db.execute("INSERT INTO event_keys (key, seen_at) VALUES ('old', 0)")
    other = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    try:
        pruning = asyncio.create_task(retention.maintain(store))
        started = time.monotonic()
        for _ in range(10):
            await asyncio.sleep(0.05)  # the loop keeps running while the prune waits for the lock
        assert not pruning.done() and time.monotonic() - started < 2
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert (await pruning)["event_keys"] == 1
