"""Browser sessions and one-time login links.

A browser never holds the token. It opens a one-time login link (`/login#code=...`), trades the code for a
session credential of its own, keeps that in its origin's storage (scoped to scheme, host and port, unlike a
cookie) and sends it as `Authorization: Bearer` (on the WebSocket: as a `Sec-WebSocket-Protocol`).

- A login code is good once, for `PIKO_LOGIN_LINK_SECONDS` (default 300 s); codes live in memory only, so a
  restart ends every unused link.
- A pairing code (`piko pair`) is a login code for a named device, good for at most MAX_PAIRING_SECONDS;
  the session it makes has kind "device" and that name, and is listed and revoked like any other.
- A session lives in SQLite as the SHA-256 of its credential, never the credential. It ends after
  IDLE_SECONDS without use or ABSOLUTE_SECONDS after sign-in, whichever comes first, when it is revoked, or
  when the token changes: each row carries a tag derived from the token it was made under, and rows of
  another token are deleted at start and on rotation.
- Every write runs on the store's writer thread (server/store.py), never on the event loop: sign-in,
  revocation, rotation and the sweep are awaited (written before they are answered); a lookup is a read on
  the loop, and the writes it causes (last use, deleting a session found ended) are queued, not waited for.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from piko.server.store import Database

CREDENTIAL_PREFIX = "pikos_"
IDLE_SECONDS = 7 * 86400
ABSOLUTE_SECONDS = 30 * 86400
TOUCH_EVERY = 60.0  # last use is written at most this often per session
DEFAULT_LOGIN_LINK_SECONDS = 300
MAX_LOGIN_CODES = 100  # unused codes kept at once; the oldest go first
USER_AGENT_MAX = 200
NAME_MAX = 60
DEFAULT_PAIRING_SECONDS = 120
MAX_PAIRING_SECONDS = 600

SCHEMA = """
CREATE TABLE IF NOT EXISTS browser_sessions (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL UNIQUE,
    token_tag    TEXT NOT NULL,
    created_at   REAL NOT NULL,
    last_seen_at REAL NOT NULL,
    expires_at   REAL NOT NULL,
    user_agent   TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'browser',
    name         TEXT NOT NULL DEFAULT ''
);
"""
ADDED_COLUMNS = {"kind": "TEXT NOT NULL DEFAULT 'browser'", "name": "TEXT NOT NULL DEFAULT ''"}
COLUMNS = "id, created_at, last_seen_at, expires_at, user_agent, kind, name"


def _sweep(db: sqlite3.Connection, now: float) -> list[str]:
    """Delete the sessions that have ended by `now`; returns their ids."""
    rows = db.execute("SELECT id FROM browser_sessions WHERE expires_at <= ? OR last_seen_at + ? <= ?",
                      (now, IDLE_SECONDS, now)).fetchall()
    ids = [r[0] for r in rows]
    db.executemany("DELETE FROM browser_sessions WHERE id = ?", [(i,) for i in ids])
    return ids


def _touch(db: sqlite3.Connection, ids: list[str], now: float) -> None:
    db.executemany("UPDATE browser_sessions SET last_seen_at = ? WHERE id = ?", [(now, i) for i in ids])


def login_link_seconds() -> int:
    """How long a login link is good for: `$PIKO_LOGIN_LINK_SECONDS`, default 300."""
    raw = os.environ.get("PIKO_LOGIN_LINK_SECONDS", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_LOGIN_LINK_SECONDS


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def clean_name(text: str) -> str:
    """A device name as shown: printable characters only, at most NAME_MAX."""
    return "".join(c for c in text if c.isprintable()).strip()[:NAME_MAX]


def token_tag(token: str) -> str:
    return hmac.new(token.encode(), b"piko-browser-sessions-v1", hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Session:
    id: str
    created_at: float
    last_seen_at: float
    expires_at: float
    user_agent: str
    kind: str = "browser"  # "browser" (a login link) or "device" (paired with `piko pair`)
    name: str = ""

    @property
    def ends_at(self) -> float:
        """When it ends if it is not used again."""
        return min(self.expires_at, self.last_seen_at + IDLE_SECONDS)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": iso(self.created_at), "last_seen_at": iso(self.last_seen_at),
                "expires_at": iso(self.expires_at), "idle_expires_at": iso(self.last_seen_at + IDLE_SECONDS),
                "user_agent": self.user_agent, "kind": self.kind, "name": self.name or None}


@dataclass(frozen=True)
class Code:
    """An unused login code: when it expires, and the device name when it is a pairing."""

    expires_at: float
    device: str | None = None


class Sessions:
    """The browser sessions table (in the store's SQLite file) and the unused login codes."""

    def __init__(self, store: Database, token: str, *, clock: Callable[[], float] = time.time,
                 link_seconds: int | None = None) -> None:
        self.store = store
        self.clock = clock
        self.link_seconds = link_seconds if link_seconds is not None else login_link_seconds()
        self.codes: dict[str, Code] = {}  # hash of an unused code -> when it expires, for whom
        db = store.db  # at start-up, before the event loop runs
        db.executescript(SCHEMA)
        have = {r[1] for r in db.execute("PRAGMA table_info(browser_sessions)")}
        for column, spec in ADDED_COLUMNS.items():  # a table made before devices were paired
            if column not in have:
                db.execute(f"ALTER TABLE browser_sessions ADD COLUMN {column} {spec}")
        self.tag = token_tag(token)
        db.execute("DELETE FROM browser_sessions WHERE token_tag != ?", (self.tag,))
        _sweep(db, self.clock())

    # ---- login codes ---------------------------------------------------------------------------

    def new_login_code(self, device: str | None = None, seconds: int | None = None) -> tuple[str, float]:
        """A fresh one-time code and when it expires; with `device`, a pairing for a device of that name,
        good for `seconds` (at most MAX_PAIRING_SECONDS)."""
        now = self.clock()
        self.codes = {h: c for h, c in self.codes.items() if c.expires_at > now}
        while len(self.codes) >= MAX_LOGIN_CODES:
            del self.codes[min(self.codes, key=lambda h: self.codes[h].expires_at)]
        code = secrets.token_urlsafe(24)
        if device is None:
            expires = now + self.link_seconds
        else:
            expires = now + min(seconds or DEFAULT_PAIRING_SECONDS, MAX_PAIRING_SECONDS)
        self.codes[_hash(code)] = Code(expires, None if device is None else clean_name(device) or "device")
        return code, expires

    async def redeem(self, code: str, user_agent: str = "") -> tuple[str, Session] | None:
        """Trade a code for a new session: (credential, session), or None if the code was used or expired."""
        found = self.codes.pop(_hash(code), None)
        now = self.clock()
        if found is None or found.expires_at <= now:
            return None
        credential = CREDENTIAL_PREFIX + secrets.token_urlsafe(32)
        session = Session(secrets.token_hex(6), now, now, now + ABSOLUTE_SECONDS,
                          "".join(c for c in user_agent[:USER_AGENT_MAX] if c.isprintable()),
                          "browser" if found.device is None else "device", found.device or "")
        row = (session.id, _hash(credential), self.tag, session.created_at, session.last_seen_at,
               session.expires_at, session.user_agent, session.kind, session.name)
        await self.store.run(lambda db: db.execute(
            "INSERT INTO browser_sessions (id, secret_hash, token_tag, created_at, last_seen_at, expires_at,"
            " user_agent, kind, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row))
        return credential, session

    # ---- sessions ------------------------------------------------------------------------------

    def lookup(self, credential: str) -> Session | None:
        """The live session this credential opens, marking it used; None if there is none. The lookup
        reads on the caller's thread; the writes it causes (an ended session's deletion, the mark of use)
        are queued on the writer and not waited for: nothing depends on them, and a request is never held
        up by them."""
        if not credential.startswith(CREDENTIAL_PREFIX):
            return None
        row = self.store.db.execute(
            f"SELECT {COLUMNS} FROM browser_sessions"
            " WHERE secret_hash = ? AND token_tag = ?", (_hash(credential), self.tag)).fetchone()
        if row is None:
            return None
        session = Session(*row)
        now = self.clock()
        if session.ends_at <= now:
            self.store.submit(lambda db: db.execute("DELETE FROM browser_sessions WHERE id = ?", (session.id,)),
                              "the deletion of an ended browser session")
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            self.store.submit(lambda db: _touch(db, [session.id], now), "a browser session's last use")
        return session

    async def touch(self, ids: list[str]) -> None:
        now = self.clock()
        await self.store.run(lambda db: _touch(db, ids, now))

    async def live(self) -> list[Session]:
        """Every session that has not ended, newest first (the ended ones are deleted first)."""
        now = self.clock()

        def job(db: sqlite3.Connection) -> list[Session]:
            _sweep(db, now)
            rows = db.execute(f"SELECT {COLUMNS} FROM browser_sessions ORDER BY created_at DESC")
            return [Session(*r) for r in rows]

        return await self.store.run(job)

    async def revoke(self, id: str) -> bool:
        return await self.store.run(
            lambda db: db.execute("DELETE FROM browser_sessions WHERE id = ?", (id,)).rowcount > 0)

    async def revoke_all(self) -> list[str]:
        self.codes.clear()
        return await self.store.run(_delete_all)

    async def rotate(self, token: str) -> list[str]:
        """The token changed: every session and unused link ends. Returns the ended sessions' ids."""
        self.tag = token_tag(token)  # first: a session made from now on is of the new token
        self.codes.clear()
        tag = self.tag
        return await self.store.run(lambda db: _delete_all(db, but_tag=tag))

    async def sweep(self) -> list[str]:
        """Delete the sessions that have ended; returns their ids."""
        now = self.clock()
        return await self.store.run(lambda db: _sweep(db, now))


def _delete_all(db: sqlite3.Connection, but_tag: str | None = None) -> list[str]:
    """Delete every session (but those of the token tagged `but_tag`); returns their ids."""
    ids = [r[0] for r in db.execute("SELECT id FROM browser_sessions WHERE token_tag IS NOT ?", (but_tag,))]
    db.executemany("DELETE FROM browser_sessions WHERE id = ?", [(i,) for i in ids])
    return ids
