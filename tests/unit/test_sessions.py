"""The rules of browser sessions and login codes (server/sessions.py), in-process, on a real SQLite file,
with a clock the test moves instead of waiting days."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from piko.server import sessions as mod
from piko.server.sessions import ABSOLUTE_SECONDS, IDLE_SECONDS, Sessions
from piko.server.store import Inline


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Inline:
    """The sessions' table in a real SQLite file; each write runs at once, on the test's thread."""
    return Inline(sqlite3.connect(tmp_path / "state.db", check_same_thread=False))


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def signed_in(s: Sessions, ua: str = "test") -> str:
    code, _ = s.new_login_code()
    made = await s.redeem(code, ua)
    assert made is not None
    return made[0]


async def test_a_code_opens_one_session_once(db, clock):
    s = Sessions(db, "tok", clock=clock, link_seconds=300)
    code, expires = s.new_login_code()
    assert expires == clock.now + 300
    credential, session = await s.redeem(code, "Chromium")
    assert await s.redeem(code, "Chromium") is None
    assert s.lookup(credential) == session
    stored = db.db.execute("SELECT secret_hash FROM browser_sessions").fetchall()
    assert stored and credential not in str(stored)  # only its hash is kept


async def test_a_code_expires(db, clock):
    s = Sessions(db, "tok", clock=clock, link_seconds=300)
    code, _ = s.new_login_code()
    clock.now += 300
    assert await s.redeem(code) is None


async def test_unknown_or_foreign_credentials_open_nothing(db, clock):
    s = Sessions(db, "tok", clock=clock)
    await signed_in(s)
    assert s.lookup("tok") is None and s.lookup("pikos_nope") is None and s.lookup("") is None


async def test_idle_sessions_end_and_use_keeps_them(db, clock):
    s = Sessions(db, "tok", clock=clock)
    used, idle = await signed_in(s), await signed_in(s)
    clock.now += IDLE_SECONDS - 10
    assert s.lookup(used) is not None
    clock.now += 20
    assert s.lookup(idle) is None
    assert s.lookup(used) is not None  # used 20 s ago
    assert len(await s.live()) == 1


async def test_sessions_end_after_the_absolute_limit_even_when_used(db, clock):
    s = Sessions(db, "tok", clock=clock)
    credential = await signed_in(s)
    start = clock.now
    while clock.now + IDLE_SECONDS - 60 < start + ABSOLUTE_SECONDS:
        clock.now += IDLE_SECONDS - 60
        assert s.lookup(credential) is not None
    clock.now = start + ABSOLUTE_SECONDS
    assert s.lookup(credential) is None
    assert await s.live() == []


async def test_last_use_is_written_at_most_once_a_minute(db, clock):
    s = Sessions(db, "tok", clock=clock)
    credential = await signed_in(s)
    first = (await s.live())[0].last_seen_at
    clock.now += 30
    s.lookup(credential)
    assert (await s.live())[0].last_seen_at == first
    clock.now += 31
    s.lookup(credential)
    assert (await s.live())[0].last_seen_at == clock.now


async def test_sessions_of_another_token_end_at_start_and_on_rotation(db, clock):
    s = Sessions(db, "old", clock=clock)
    credential = await signed_in(s)
    assert Sessions(db, "old", clock=clock).lookup(credential) is not None  # a restart keeps them
    assert Sessions(db, "new", clock=clock).lookup(credential) is None  # the token changed meanwhile
    s = Sessions(db, "new", clock=clock)
    kept = await signed_in(s)
    code, _ = s.new_login_code()
    assert len(await s.rotate("newer")) == 1
    assert s.lookup(kept) is None and await s.redeem(code) is None


async def test_revoke_one_or_all(db, clock):
    s = Sessions(db, "tok", clock=clock)
    a, b = await signed_in(s), await signed_in(s)
    a_id = s.lookup(a).id
    assert await s.revoke(a_id) and not await s.revoke(a_id)
    assert s.lookup(a) is None and s.lookup(b) is not None
    assert len(await s.revoke_all()) == 1 and s.lookup(b) is None


async def test_unused_codes_are_bounded(db, clock):
    s = Sessions(db, "tok", clock=clock)
    first, _ = s.new_login_code()
    for _ in range(mod.MAX_LOGIN_CODES):
        clock.now += 0.001
        s.new_login_code()
    assert len(s.codes) == mod.MAX_LOGIN_CODES
    assert await s.redeem(first) is None  # the oldest went first


async def test_the_user_agent_is_kept_short_and_printable(db, clock):
    s = Sessions(db, "tok", clock=clock)
    await signed_in(s, "Evil\x1b[31m\nUA" + "x" * 500)
    ua = (await s.live())[0].user_agent
    assert "\x1b" not in ua and "\n" not in ua and len(ua) <= mod.USER_AGENT_MAX


@pytest.mark.parametrize("raw,seconds", [("", 300), ("5", 5), ("0", 300), ("-3", 300), ("abc", 300)])
def test_the_link_lifetime_setting(monkeypatch, raw, seconds):
    monkeypatch.setenv("PIKO_LOGIN_LINK_SECONDS", raw)
    assert mod.login_link_seconds() == seconds
