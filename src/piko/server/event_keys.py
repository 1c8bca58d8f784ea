"""Idempotency keys of hook events: an event is ingested once, however many times it arrives.

The hook gives each event a key (field `piko_event_key`). When its POST times out after the server took
the event, it spools the event as well; the replay then finds the key already seen. Keys are kept in the
store's database (so a restart remembers them) for KEEP_SECONDS, longer than a spooled event waits in
practice; an event replayed later than that could be ingested twice. Older keys are deleted by the store's
maintenance (server/retention.py).
"""

from __future__ import annotations

import time
from typing import Any

from piko import config
from piko.server.store import Database

FIELD = config.EVENT_KEY_FIELD
MAX_LENGTH = 128
KEEP_SECONDS = 7 * 86400

SCHEMA = """
CREATE TABLE IF NOT EXISTS event_keys (key TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS event_keys_seen ON event_keys (seen_at);
"""


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

    def __init__(self, store: Database) -> None:
        self.store = store
        self._writing: set[str] = set()  # taken, their write not done yet
        store.db.executescript(SCHEMA)  # at start-up, before the event loop runs

    def seen(self, key: str) -> bool:
        if key in self._writing:
            return True
        return self.store.db.execute("SELECT 1 FROM event_keys WHERE key = ?", (key,)).fetchone() is not None

    def taking(self, key: str) -> None:
        """The event of `key` was taken: `seen` says so at once, before `remember` has written it."""
        self._writing.add(key)

    async def remember(self, key: str) -> None:
        """Written (on the store's writer thread) when this returns."""
        seen_at = time.time()
        self._writing.add(key)
        try:
            await self.store.run(lambda db: db.execute(
                "INSERT OR REPLACE INTO event_keys (key, seen_at) VALUES (?, ?)", (key, seen_at)))
        finally:
            self._writing.discard(key)
