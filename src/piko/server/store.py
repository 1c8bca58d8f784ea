"""The durable store: every request record, pending and past, in SQLite (WAL mode).

A record (models.Record) is kept whole as its JSON, with the columns needed to find it beside it. Each
write is its own transaction, committed before the change is announced, so what clients saw survives a
restart or a `kill -9` of the server.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import msgspec
from msgspec.structs import replace

from piko import claude
from piko.models import Record

log = logging.getLogger("piko.store")
T = TypeVar("T")

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
CREATE TABLE IF NOT EXISTS sessions (
    session_id  TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_state ON sessions (state, updated_at);
CREATE TABLE IF NOT EXISTS session_timeline (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS session_timeline_session ON session_timeline (session_id, seq);
"""
SCHEMA_VERSION = "1"
BUSY_TIMEOUT_MS = 5000  # how long a write waits for another connection's; bounded


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Record)


def _dump(record: Record) -> str:
    return _encoder.encode(record).decode()


def _load(data: str) -> Record | None:
    """A stored record; one written before records had `summary` and `resolution` gets them now. None
    (logged) for a row that is not a record."""
    try:
        record = _decoder.decode(data)
    except msgspec.ValidationError as e:
        log.error("a stored request is not a record (%s): left out", e)
        return None
    if not record.summary:
        record = replace(record, summary=claude.summary_of(record))
    if record.resolution is None and record.status != "pending":
        record = replace(record, resolution=claude.resolution_of(record))
    return record


class StoreError(Exception):
    """A write the store could not make; nothing of it was written."""


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a commit is in the WAL before it returns, so it survives the process
    # being killed; only an OS crash could lose the last commits.
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return db


def _write_many(db: sqlite3.Connection, inserts: list[Record], updates: list[Record]) -> None:
    try:
        with db:
            db.execute("BEGIN")
            for r in updates:
                db.execute("UPDATE notifications SET status = ?, updated_at = ?, data = ? WHERE id = ?",
                           (r.status, r.updated_at, _dump(r), r.id))
            for r in inserts:
                db.execute("INSERT INTO notifications (id, status, session_id, created_at, updated_at, data)"
                           " VALUES (?, ?, ?, ?, ?, ?)",
                           (r.id, r.status, r.session_id, r.created_at, r.updated_at, _dump(r)))
    except (sqlite3.Error, ValueError, msgspec.EncodeError) as e:  # ValueError: text UTF-8 cannot hold
        raise StoreError(str(e)) from e


Job = tuple[Callable[[sqlite3.Connection], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class _Writer(threading.Thread):
    """The one thread that writes requests, on its own connection, one job at a time (as datasette's
    Database does): a slow disk holds up the writes queued behind it, never the event loop."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="piko-store-writer", daemon=True)
        self.path = path
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()

    def run(self) -> None:
        db = _connect(self.path)
        try:
            while (job := self.jobs.get()) is not None:
                fn, loop, future = job
                try:
                    result, error = fn(db), None
                except Exception as e:  # noqa: BLE001 - handed to the caller
                    result, error = None, e
                try:
                    loop.call_soon_threadsafe(_settle, future, result, error)
                except RuntimeError:
                    pass  # the loop is closed: no one is waiting any more
        finally:
            db.close()


def _settle(future: asyncio.Future[Any], result: Any, error: Exception | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Database(Protocol):
    """What a part keeping a table in the store's file needs (sessions, wait keys, event keys, notify
    targets, push subscriptions): `db` for reads and for start-up (before the event loop runs), and the
    writer for every write once it runs."""

    db: sqlite3.Connection

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T: ...

    def submit(self, job: Callable[[sqlite3.Connection], object], what: str) -> None: ...


class Inline:
    """A Database whose jobs run at once on one connection, on the caller's thread: for tests of a part
    alone, and tools that run no event loop. The server uses Store."""

    def __init__(self, db: sqlite3.Connection) -> None:
        db.isolation_level = None  # autocommit, as the store's own connections
        self.db = db

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        return job(self.db)

    def submit(self, job: Callable[[sqlite3.Connection], object], what: str) -> None:
        try:
            job(self.db)
        except Exception as e:  # noqa: BLE001 - as Store.submit: logged, never raised
            log.error("could not save %s: %s", what, e)


class Store:
    """Request records in one SQLite file, and the connection the other tables in it share.

    Reads run on the caller's thread (the event loop): in WAL mode a reader never waits for a writer, so a
    write held up (another program holding the write lock, a slow disk) does not hold them up. Every write
    runs on the one writer thread, awaited: `await store.write_many(...)` returns once the change is
    committed. Only start-up (schemas, migrations, sweeps before the event loop runs) writes through `db`.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.db = _connect(self.path)
        self.db.executescript(SCHEMA)
        self.db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,)
        )
        if self.path.exists():
            self.path.chmod(0o600)
        self._writer: _Writer | None = None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.jobs.put(None)
            self._writer.join(timeout=BUSY_TIMEOUT_MS / 1000 + 1)
            self._writer = None
        self.db.close()

    async def write_many(self, inserts: list[Record], updates: list[Record]) -> None:
        """Several changes in one transaction, on the writer thread: all of them are written, or
        (StoreError) none. The change is committed when this returns."""
        await self.run(lambda db: _write_many(db, inserts, updates))

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run `job` on the writer thread, with its connection, after the writes queued before it."""
        future: asyncio.Future[T] = self._queue(job)
        # Shielded: a caller cancelled meanwhile does not stop a write already queued.
        return await asyncio.shield(future)

    def submit(self, job: Callable[[sqlite3.Connection], object], what: str) -> None:
        """Queue `job` on the writer thread without waiting for it (a write nothing depends on, such as a
        session's last use); a failure is logged."""

        def done(future: asyncio.Future[object]) -> None:
            if not future.cancelled() and future.exception() is not None:
                log.error("could not save %s: %s", what, future.exception())

        self._queue(job).add_done_callback(done)

    def _queue(self, job: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        if self._writer is None:
            self._writer = _Writer(self.path)
            self._writer.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._writer.jobs.put((job, loop, future))
        return future

    def get(self, id: str) -> Record | None:
        row = self.db.execute("SELECT data FROM notifications WHERE id = ?", (id,)).fetchone()
        return _load(row[0]) if row else None

    def pending(self) -> Iterator[Record]:
        """Pending records, oldest first."""
        rows = self.db.execute("SELECT data FROM notifications WHERE status = 'pending' ORDER BY seq")
        return (record for r in rows if (record := _load(r[0])) is not None)

    def history(self, status: str | None, limit: int, before: int | None) -> tuple[list[Record], int | None]:
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
        return [record for r in page if (record := _load(r[1])) is not None], next_before
