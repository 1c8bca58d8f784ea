"""The durable store: every notification record, pending and past, in SQLite (WAL mode).

A record is kept whole as JSON, with the columns needed to find it beside it. Each write is its own
transaction, committed before the change is announced, so what clients saw survives a restart or a
`kill -9` of the server.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterator

from piko import claude

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    session_id  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_status ON notifications (status, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
SCHEMA_VERSION = "1"


def _load(data: str) -> dict[str, Any]:
    """A stored record; one written before records had `summary` and `resolution` gets them now."""
    record: dict[str, Any] = json.loads(data)
    if "summary" not in record:
        record["summary"] = claude.summary_of(record)
    if "resolution" not in record:
        record["resolution"] = claude.resolution_of(record)
    return record


class StoreError(Exception):
    """A write the store could not make; nothing of it was written."""


class Store:
    """Notification records in one SQLite file. Not thread-safe: the server uses it from its event loop."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit is in the WAL before it returns, so it survives the process
        # being killed; only an OS crash could lose the last commits.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(SCHEMA)
        self.db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
        )
        if self.path.exists():
            self.path.chmod(0o600)

    def close(self) -> None:
        self.db.close()

    def insert(self, record: dict[str, Any]) -> None:
        self.write_many([record], [])

    def update(self, record: dict[str, Any]) -> None:
        self.write_many([], [record])

    def write_many(self, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
        """Several changes in one transaction: all of them are written, or (StoreError) none."""
        try:
            with self.db:
                self.db.execute("BEGIN")
                for r in updates:
                    self.db.execute(
                        "UPDATE notifications SET status = ?, updated_at = ?, data = ? WHERE id = ?",
                        (r["status"], r["updated_at"], json.dumps(r, ensure_ascii=False), r["id"]))
                for r in inserts:
                    self.db.execute(
                        "INSERT INTO notifications (id, status, session_id, created_at, updated_at, data)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (r["id"], r["status"], r.get("session_id"), r["created_at"], r["updated_at"],
                         json.dumps(r, ensure_ascii=False)))
        except (sqlite3.Error, ValueError) as e:  # ValueError: text SQLite cannot hold (UnicodeEncodeError)
            raise StoreError(str(e)) from e

    def get(self, id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT data FROM notifications WHERE id = ?", (id,)).fetchone()
        return _load(row[0]) if row else None

    def pending(self) -> Iterator[dict[str, Any]]:
        """Pending records, oldest first."""
        rows = self.db.execute("SELECT data FROM notifications WHERE status = 'pending' ORDER BY seq")
        return (_load(r[0]) for r in rows)

    def history(self, status: str | None, limit: int, before: int | None) -> tuple[list[dict], int | None]:
        """Records newest first, `limit` at a time; returns them and the cursor for the next page."""
        sql = "SELECT seq, data FROM notifications WHERE 1=1"
        args: list[Any] = []
        if status:
            sql += " AND status = ?"
            args.append(status)
        if before is not None:
            sql += " AND seq < ?"
            args.append(before)
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit + 1)
        rows = self.db.execute(sql, args).fetchall()
        page = rows[:limit]
        next_before = page[-1][0] if len(rows) > limit else None
        return [_load(r[1]) for r in page], next_before
