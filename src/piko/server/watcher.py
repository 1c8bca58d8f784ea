"""The watcher: notices requests answered, or agents gone, where no hook can tell us.

Claude Code fires no event when a person denies a permission in the terminal (No, or Esc), and nothing at
all when its pane is closed or Claude itself exits. While requests with a pane are pending, the watcher
asks each tmux server once per look for all its panes (server/panes.py) and resolves a request
- whose pane no longer exists (`pane_gone`), whose pane's program exited while tmux keeps the pane
  (`pane_dead`), or whose agent process (the pane's foreground process when first looked at) has exited (`claude_gone`);
- whose dialog (permission or question) was on the screen and is gone (`terminal`);
- whose dialog was never seen but Claude shows it moved on: its idle input box or "Interrupted", with
  nothing running (`terminal`: Esc pressed before the dialog was even drawn). A screen that shows neither
  the dialog nor that is given NEVER_SEEN_GRACE for the dialog to appear.
Screens are read only for panes that changed since they were last read, in one tmux call per server.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from piko import claude_screen, tmux
from piko.models import Record
from piko.server.panes import PaneKey, Panes, agent_process, process_alive

if TYPE_CHECKING:
    from piko.server.orchestra import Orchestra

log = logging.getLogger("piko.watcher")

INTERVAL = 0.4  # seconds between looks
GONE_CHECKS = 2  # consecutive looks without the dialog before it counts as answered
NEVER_SEEN_GRACE = 8.0  # a dialog never seen, on a screen that does not show Claude moved on
WATCHED_DIALOGS = ("permission", "question")

_BUSY = re.compile(r"esc to interrupt", re.IGNORECASE)  # Claude's footer while it works (or waits to ask)
_IDLE = re.compile(r"\? for shortcuts")  # the footer under Claude's idle input box
_INTERRUPTED = "Interrupted · What should Claude do instead?"


@dataclass(frozen=True)
class Screen:
    options: list[tuple[str, str]]  # the dialog's options; [] when no dialog shows
    moved_on: bool  # no dialog, nothing running, Claude waits for its next prompt


def read_screen(text: str) -> Screen:
    options = claude_screen.screen_options(text)
    lines = [line for line in text.splitlines() if line.strip()]
    footer = "\n".join(lines[-4:])
    moved_on = not options and not _BUSY.search(footer) and (
        bool(_IDLE.search(footer)) or any(_INTERRUPTED in line for line in lines[-12:]))
    return Screen(options, moved_on)


class Watcher:
    def __init__(self, orchestra: Orchestra, interval: float = INTERVAL) -> None:
        self.orchestra = orchestra
        self.interval = interval
        self.panes: Panes[Screen] = Panes(read_screen)
        self._seen: set[str] = set()  # requests whose dialog has been on screen
        self._misses: dict[str, int] = {}  # consecutive looks without it
        # request -> its pane's pid, and the agent (the pane's foreground process: pid, start time), when
        # first seen; the agent is gone when that process is, whatever it exec'ed or runs in front of it.
        self._agents: dict[str, tuple[int, tuple[int, int] | None]] = {}

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a bug here must not stop the watching
                log.exception("watcher tick failed")
            await asyncio.sleep(self.interval)

    async def tick(self) -> None:
        records = [r for r in self.orchestra.pending.values() if r.tmux_target]
        live = {r.id for r in records}
        for gone in (self._seen | self._misses.keys() | self._agents.keys()) - live:
            self._seen.discard(gone)
            self._misses.pop(gone, None)
            self._agents.pop(gone, None)
        self.panes.keep_only({_key(r) for r in records})
        fleet = self.orchestra.fleet  # sessions end the same way: one list-panes per tmux server for both
        sockets = {r.tmux_socket for r in records} | {s.tmux_socket for s in fleet.watched()}
        states = await self.panes.states(sockets) if sockets else {}
        fleet.look(states, self.orchestra.clock())
        if not records:
            return
        dialogs: dict[str | None, list[tuple[Record, tmux.PaneState]]] = {}
        for record in records:
            socket = record.tmux_socket
            panes = states[socket]
            if panes is None:
                continue  # tmux did not answer this time
            state = panes.get(_key(record)[1])
            via = self._agent_gone(record, state)
            if via:
                await self._settle(record, via)
            elif state is not None and record.kind in WATCHED_DIALOGS:
                dialogs.setdefault(socket, []).append((record, state))
        await asyncio.gather(*(self._look(socket, looks) for socket, looks in dialogs.items()))

    def _agent_gone(self, record: Record, state: tmux.PaneState | None) -> str | None:
        """Why the agent behind `record` is gone, or None while it runs."""
        if state is None:
            return "pane_gone"
        if state.dead:
            return "pane_dead"
        if record.id not in self._agents:
            self._agents[record.id] = (state.pid, agent_process(state.pid))
        pane_pid, agent = self._agents[record.id]
        if state.pid != pane_pid:
            return "claude_gone"  # the pane was respawned with another process
        if agent is not None and process_alive(*agent) is False:
            return "claude_gone"  # e.g. back at the shell Claude was started from
        return None

    async def _look(self, socket: str | None, looks: list[tuple[Record, tmux.PaneState]]) -> None:
        """Judge the dialogs of these requests, whose panes are on one tmux server, from their screens."""
        screens = await self.panes.screens(socket, list({state.id: state for _, state in looks}.values()))
        for record, state in looks:
            if state.id not in screens or record.id not in self.orchestra.pending:
                continue
            screen = screens[state.id]
            if screen is None:
                await self._settle(record, "pane_gone")
            else:
                await self._judge(record, screen)

    async def _judge(self, record: Record, screen: Screen) -> None:
        id = record.id
        if screen.options:
            self._seen.add(id)
            self._misses[id] = 0
            return
        if id not in self._seen and not screen.moved_on and _age(record) < NEVER_SEEN_GRACE:
            self._misses[id] = 0
            return
        self._misses[id] = self._misses.get(id, 0) + 1
        if self._misses[id] >= GONE_CHECKS:
            await self._settle(record, "terminal")

    async def _settle(self, record: Record, via: str) -> None:
        if record.id in self.orchestra.pending:
            log.info("request %s: %s", record.id, via)
            await self.orchestra.resolve(record.id, via)


def _key(record: Record) -> PaneKey:
    assert record.tmux_target is not None  # the watcher looks only at requests with a pane
    return (record.tmux_socket, record.tmux_target)


def _age(record: Record) -> float:
    created = datetime.fromisoformat(record.created_at.replace("Z", "+00:00")).timestamp()
    return time.time() - created
