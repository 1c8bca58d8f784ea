"""The fleet: a record per Claude Code session the server hears from, kept up to date by its hook events
and its requests, durable in the store, and announced to every WebSocket as `{"type": "session", ...}`.

The rules are server/fleet_rules.py (pure); this carries them out. Tool-use events come often (an agent
may make ten tool calls a second), so changes are coalesced: a session is announced at most once per
COALESCE seconds, with its latest state, and the changes of that interval (records and timeline entries)
are written in one transaction on the store's writer thread, before they are announced.
The watcher (server/watcher.py) lends its one `list-panes` per tmux server per look, so a session whose
pane is gone, whose pane's program exited, or whose Claude process exited is ended.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
from msgspec.structs import replace

from piko import tmux
from piko.models import ChangeKind, FleetSession, HookEvent, Record, SessionChanged, TimelineEntry
from piko.server import fleet_rules
from piko.server.gitbranch import Branches
from piko.server.hub import Hub
from piko.server.panes import agent_process, process_alive
from piko.server.store import Store

log = logging.getLogger("piko.fleet")

COALESCE = 0.1  # seconds: at most one announcement per session in this time
TIMELINE_LIMIT = 500  # the newest entries a session's detail gives
ENDED_LIMIT = 200  # the newest ended sessions `?include=ended` gives

# Who gives the answer being made in this task: "token" or "browser:<session id>" (set by the route).
answered_by: contextvars.ContextVar[str | None] = contextvars.ContextVar("answered_by", default=None)


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


_encoder = msgspec.json.Encoder()
_session = msgspec.json.Decoder(FleetSession)
_entry = msgspec.json.Decoder(TimelineEntry)


def _dump(value: FleetSession | TimelineEntry) -> str:
    return _encoder.encode(value).decode()


def _save(db: sqlite3.Connection, records: list[FleetSession], timeline: list[tuple[str, TimelineEntry]]) -> None:
    with db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO sessions (session_id, state, updated_at, data) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (session_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at,"
            " data = excluded.data",
            [(r.session_id, r.state, r.updated_at, _dump(r)) for r in records])
        db.executemany("INSERT INTO session_timeline (session_id, data) VALUES (?, ?)",
                       [(sid, _dump(e)) for sid, e in timeline])


NamePane = Callable[[str | None, str], Awaitable[str]]  # (tmux socket, pane) -> its tmux session's name


class Fleet:
    def __init__(self, store: Store, hub: Hub, name_pane: NamePane) -> None:
        self.store = store
        self.hub = hub
        self.name_pane = name_pane
        self._naming: set[str] = set()  # sessions whose tmux session's name was asked (once per run)
        self._background: set[asyncio.Task[None]] = set()
        self.branches = Branches()
        rows = store.db.execute("SELECT data FROM sessions WHERE state != 'ended'").fetchall()
        self.sessions: dict[str, FleetSession] = {s.session_id: s for s in (_session.decode(r[0]) for r in rows)}
        self._heard: dict[str, float] = {sid: _seconds(s.updated_at) for sid, s in self.sessions.items()}
        self._agents: dict[str, tuple[int, tuple[int, int] | None]] = {}  # as the watcher's, per session
        self._dirty: set[str] = set()
        self._timeline: list[tuple[str, TimelineEntry]] = []
        self._writing: list[tuple[str, TimelineEntry]] = []  # timeline entries being written
        self._flusher: asyncio.Task[None] | None = None
        self._last_flush = 0.0
        self._snapshot: list[FleetSession] | None = None

    # ---- reading ---------------------------------------------------------------------------------

    def current(self) -> list[FleetSession]:
        """The sessions that have not ended, most recently active first."""
        if self._snapshot is None:
            live = [s for s in self.sessions.values() if s.state != "ended"]
            self._snapshot = sorted(live, key=lambda s: s.updated_at, reverse=True)
        return self._snapshot

    def listing(self, state: str | None, include_ended: bool) -> list[FleetSession]:
        found = list(self.current())
        if include_ended or state == "ended":
            known = {s.session_id for s in found}
            rows = self.store.db.execute(
                "SELECT data FROM sessions WHERE state = 'ended' ORDER BY updated_at DESC LIMIT ?",
                (ENDED_LIMIT,)).fetchall()
            ended = [s for s in self.sessions.values() if s.state == "ended"]
            ended += [_session.decode(r[0]) for r in rows]
            for s in ended:
                if s.session_id not in known:
                    known.add(s.session_id)
                    found.append(s)
        return [s for s in found if state is None or s.state == state]

    def get(self, session_id: str) -> FleetSession | None:
        if session_id in self.sessions:
            return self.sessions[session_id]
        row = self.store.db.execute("SELECT data FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
        return _session.decode(row[0]) if row else None

    def timeline(self, session_id: str) -> list[TimelineEntry]:
        """The session's audit trail, oldest first (the newest TIMELINE_LIMIT entries)."""
        rows = self.store.db.execute(
            "SELECT data FROM session_timeline WHERE session_id = ? ORDER BY seq DESC LIMIT ?",
            (session_id, TIMELINE_LIMIT)).fetchall()
        saved = [_entry.decode(r[0]) for r in reversed(rows)]
        unsaved = [e for sid, e in (*self._writing, *self._timeline) if sid == session_id]
        return (saved + unsaved)[-TIMELINE_LIMIT:]

    # ---- changes -----------------------------------------------------------------------------------

    def event(self, event: HookEvent, extra: dict[str, Any], request: Record | None, stamp: str) -> None:
        """One hook event of a session, with its pending request once the event is applied."""
        sid = event.session_id
        if not sid:
            return
        session = self.sessions.get(sid) or self.get(sid) or fleet_rules.new_session(sid, stamp)
        branch = self.branches.of(event.cwd or session.cwd)
        self._timeline.append((sid, fleet_rules.timeline_event(event, extra, stamp)))
        self._heard[sid] = time.time()
        session = fleet_rules.apply_event(session, event, extra, request, stamp, branch)
        self._set(session)
        if session.tmux_target and not session.tmux_session and sid not in self._naming:
            self._naming.add(sid)  # the hook does not ask tmux (its cost); the server does, once
            try:
                task = asyncio.get_running_loop().create_task(self._name(sid, session))
            except RuntimeError:
                return
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _name(self, sid: str, session: FleetSession) -> None:
        assert session.tmux_target is not None
        try:
            name = await self.name_pane(session.tmux_socket, session.tmux_target)
        except tmux.TmuxError:
            return
        current = self.sessions.get(sid)
        if current is not None and current.tmux_target == session.tmux_target:
            changed = fleet_rules.named(current, name)
            if changed is not None:
                self._set(changed)

    def request(self, kind: ChangeKind, record: Record, stamp: str) -> None:
        """A request of a session was created, changed or closed."""
        sid = record.session_id
        if not sid or kind == "updated":
            return
        entry = fleet_rules.timeline_request(record, stamp, answered_by.get() if kind != "created" else None)
        if entry is not None:
            self._timeline.append((sid, entry))
            self._schedule()
        session = self.sessions.get(sid)
        if session is not None:
            changed = fleet_rules.request_changed(session, record, stamp)
            if changed is not None:
                self._set(changed)

    def _set(self, session: FleetSession) -> None:
        sid = session.session_id
        if self.sessions.get(sid) == session:
            return
        self.sessions[sid] = session
        if session.state == "ended":
            self._agents.pop(sid, None)
            self._naming.discard(sid)
        self._dirty.add(sid)
        self._snapshot = None
        self._schedule()

    # ---- the watcher's look ------------------------------------------------------------------------

    def watched(self) -> list[FleetSession]:
        """The sessions whose pane can be looked at."""
        return [s for s in self.sessions.values() if s.state != "ended" and s.tmux_target]

    def look(self, states: dict[str | None, dict[str, tmux.PaneState] | None], stamp: str) -> None:
        """End the sessions whose pane or agent is gone, from the watcher's `list-panes` of each tmux server
        (None: that server did not answer this time); mark the quiet ones."""
        for session in self.watched():
            panes = states.get(session.tmux_socket)
            if panes is None or session.tmux_target is None:
                continue
            via = self._gone(session.session_id, panes.get(session.tmux_target))
            if via:
                log.info("session %s ended: %s", session.session_id, via)
                self._set(fleet_rules.end(session, via, stamp))
        now = time.time()
        for sid, session in list(self.sessions.items()):
            if not session.quiet and fleet_rules.is_quiet(session, now, self._heard.get(sid, now)):
                self._set(replace(session, quiet=True))

    def _gone(self, sid: str, state: tmux.PaneState | None) -> str | None:
        if state is None:
            return "pane_gone"
        if state.dead:
            return "pane_dead"
        if sid not in self._agents:
            self._agents[sid] = (state.pid, agent_process(state.pid))
        pane_pid, agent = self._agents[sid]
        if state.pid != pane_pid:
            return "claude_gone"
        if agent is not None and process_alive(*agent) is False:
            return "claude_gone"
        return None

    # ---- writing and announcing ----------------------------------------------------------------------

    def _schedule(self) -> None:
        if self._flusher is None:
            try:
                self._flusher = asyncio.get_running_loop().create_task(self._flush())
            except RuntimeError:
                pass  # no loop (a synchronous caller): the next change in the loop flushes

    async def _flush(self) -> None:
        try:
            while self._dirty or self._timeline:
                wait = self._last_flush + COALESCE - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._last_flush = time.monotonic()
                dirty, self._dirty = self._dirty, set()
                self._writing, self._timeline = self._timeline, []
                records = [self.sessions[sid] for sid in dirty if sid in self.sessions]
                try:
                    await self.store.run(functools.partial(_save, records=records, timeline=self._writing))
                except Exception as e:  # noqa: BLE001 - the records stay in memory; their next change writes them
                    log.error("could not save session records: %s", e)
                self._writing = []
                for record in records:
                    self.hub.broadcast(SessionChanged(session=record))
                    sid = record.session_id
                    if record.state == "ended" and self.sessions.get(sid) is record and sid not in self._dirty:
                        del self.sessions[sid]  # written: read from the store from now on
                        self._heard.pop(sid, None)
        finally:
            self._flusher = None
