"""How long the store keeps what only grows: the maintenance that prunes it, on the store's writer thread.

- `event_keys`: an idempotency key is kept event_keys.KEEP_SECONDS (7 days) after it was seen.
- `wait_keys`: a request's wait key is kept while the request is pending, and WAIT_KEY_KEEP_SECONDS after it
  was closed (a hook that comes back later is refused, 403, and stops waiting, as it would on "resolved");
  a key whose request is not in the store opens nothing (the wait route answers 404) and goes at once.
- `session_timeline`: the newest TIMELINE_KEEP entries per session (what a session's detail shows), none
  for a session ended more than ENDED_TIMELINE_KEEP_SECONDS ago (its record stays).

Request records (`notifications`) and session records (`sessions`) are history and are kept.

`maintain` runs at start-up and every MAINTENANCE_EVERY seconds (server/startup.py). Rows go BATCH at a
time, each batch its own transaction and its own job on the writer thread, so the writes of requests queued
meanwhile are not held up behind a long delete.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime

from piko.server import event_keys
from piko.server.fleet import TIMELINE_LIMIT
from piko.server.store import Database

WAIT_KEY_KEEP_SECONDS = 86400
TIMELINE_KEEP = TIMELINE_LIMIT
ENDED_TIMELINE_KEEP_SECONDS = 30 * 86400
MAINTENANCE_EVERY = 3600.0
BATCH = 2000


def _stamp(t: float) -> str:
    """`t` as records' `updated_at` carry it (server/orchestra.py's `now`), so the two compare as text."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def prune_event_keys(db: sqlite3.Connection, now: float) -> int:
    """One batch of the keys seen before the window; returns how many went."""
    return db.execute("DELETE FROM event_keys WHERE rowid IN (SELECT rowid FROM event_keys WHERE seen_at < ?"
                      " LIMIT ?)", (now - event_keys.KEEP_SECONDS, BATCH)).rowcount


def prune_wait_keys(db: sqlite3.Connection, now: float) -> int:
    """One batch of the keys of requests closed long ago, or not in the store; returns how many went."""
    return db.execute(
        "DELETE FROM wait_keys WHERE rowid IN (SELECT w.rowid FROM wait_keys w"
        " LEFT JOIN notifications n ON n.id = w.id"
        " WHERE n.id IS NULL OR (n.status != 'pending' AND n.updated_at < ?) LIMIT ?)",
        (_stamp(now - WAIT_KEY_KEEP_SECONDS), BATCH)).rowcount


def prune_ended_timelines(db: sqlite3.Connection, now: float) -> int:
    """One batch of the timeline entries of sessions ended long ago; returns how many went."""
    return db.execute(
        "DELETE FROM session_timeline WHERE seq IN (SELECT t.seq FROM session_timeline t"
        " JOIN sessions s ON s.session_id = t.session_id"
        " WHERE s.state = 'ended' AND s.updated_at < ? LIMIT ?)",
        (_stamp(now - ENDED_TIMELINE_KEEP_SECONDS), BATCH)).rowcount


def long_timelines(db: sqlite3.Connection) -> list[str]:
    """The sessions with more than TIMELINE_KEEP timeline entries."""
    rows = db.execute("SELECT session_id FROM session_timeline GROUP BY session_id HAVING COUNT(*) > ?",
                      (TIMELINE_KEEP,))
    return [r[0] for r in rows]


def cap_timeline(db: sqlite3.Connection, session_id: str) -> int:
    """Delete all but the newest TIMELINE_KEEP entries of one session; returns how many went."""
    return db.execute(
        "DELETE FROM session_timeline WHERE session_id = ? AND seq <= (SELECT seq FROM session_timeline"
        " WHERE session_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
        (session_id, session_id, TIMELINE_KEEP)).rowcount


async def maintain(store: Database, clock: Callable[[], float] = time.time) -> dict[str, int]:
    """Prune every table above, on the store's writer thread; returns how many rows went from each."""
    now = clock()
    gone = {"event_keys": 0, "wait_keys": 0, "session_timeline": 0}
    for table, prune in (("event_keys", prune_event_keys), ("wait_keys", prune_wait_keys),
                         ("session_timeline", prune_ended_timelines)):
        while True:
            n = await store.run(functools.partial(prune, now=now))
            gone[table] += n
            if n < BATCH:
                break
    for session_id in await store.run(long_timelines):
        gone["session_timeline"] += await store.run(functools.partial(cap_timeline, session_id=session_id))
    return gone
