"""Wait keys: a PermissionRequest's decision goes only to the hook that asked.

The notify answer to the hook that created a PermissionRequest carries a fresh random key; the hook shows
it to wait (`POST .../wait`). The key is given once and appears nowhere else (not in the record, the
WebSocket, GET routes or logs); the store keeps only its SHA-256, so after a restart (even `kill -9`) the
same hook reconnects with its key. Another holder of the token cannot take the decision. The key of a request
closed long ago is deleted by the store's maintenance (server/retention.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from piko.server.store import Database

SCHEMA = "CREATE TABLE IF NOT EXISTS wait_keys (id TEXT PRIMARY KEY, digest TEXT NOT NULL)"


def _digest(key: str) -> str:
    # The key is 256 random bits: a plain hash cannot be searched back to it.
    return hashlib.sha256(key.encode()).hexdigest()


class WaitKeys:
    """The digests of the wait keys, beside the records in the server's SQLite file."""

    def __init__(self, store: Database) -> None:
        self.store = store
        store.db.execute(SCHEMA)  # at start-up, before the event loop runs

    async def issue(self, id: str) -> str:
        """A new key for request `id` (written, on the store's writer thread, before it is returned)."""
        key = secrets.token_urlsafe(32)
        digest = _digest(key)
        await self.store.run(lambda db: db.execute(
            "INSERT OR REPLACE INTO wait_keys (id, digest) VALUES (?, ?)", (id, digest)))
        return key

    def check(self, id: str, key: object) -> bool:
        """Is `key` the one issued for `id`?"""
        if not isinstance(key, str) or not key:
            return False
        row = self.store.db.execute("SELECT digest FROM wait_keys WHERE id = ?", (id,)).fetchone()
        return row is not None and hmac.compare_digest(row[0], _digest(key))
