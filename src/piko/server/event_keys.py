"""Idempotency keys of hook events: an event is ingested once, however many times it arrives.

The hook gives each event a key (field `piko_event_key`). When its POST times out after the server took
the event, it spools the event as well; the replay then finds the key already seen. Keys are kept in the
store's database (so a restart remembers them) for KEEP_SECONDS, longer than a spooled event waits in
practice; an event replayed later than that could be ingested twice.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from piko import config

FIELD = config.EVENT_KEY_FIELD
MAX_LENGTH = 128
KEEP_SECONDS = 7 * 86400
PRUNE_EVERY = 3600.0

SCHEMA = "CREATE TABLE IF NOT EXISTS event_keys (key TEXT PRIMARY KEY, seen_at REAL NOT NULL)"


def take_key(body: Any) -> str | None:
    """Remove the key from the event and return it (None when there is none); ValueError if malformed."""
    if not isinstance(body, dict) or FIELD not in body:
        return None
    key = body.pop(FIELD)
    if not isinstance(key, str) or not 0 < len(key) <= MAX_LENGTH or not key.isascii() or not key.isprintable():
        raise ValueError(f"{FIELD} must be a string of 1 to {MAX_LENGTH} printable ASCII characters")
    return key


class EventKeys:
    """The keys seen in the last KEEP_SECONDS, in table `event_keys` of the store's database."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.execute(SCHEMA)
        self._pruned = 0.0
        self.prune()

    def seen(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM event_keys WHERE key = ?", (key,)).fetchone() is not None

    def remember(self, key: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO event_keys (key, seen_at) VALUES (?, ?)", (key, time.time()))
        if time.monotonic() - self._pruned > PRUNE_EVERY:
            self.prune()

    def prune(self) -> None:
        self.db.execute("DELETE FROM event_keys WHERE seen_at < ?", (time.time() - KEEP_SECONDS,))
        self._pruned = time.monotonic()
