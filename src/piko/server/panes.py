"""Watching many tmux panes cheaply: one `tmux list-panes` per tmux server says which panes changed, and
only those have their screen read again, all in one more tmux call.

A pane's screen is read (`capture-pane`) when it was never read, when its window had output at or after
the second of the last read (tmux keeps that time in whole seconds), when its cursor, history or size
moved, when its program was restarted, or when the last read is older than RECHECK (a slow safety net).
What was read is parsed once and kept until the pane changes again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from piko import tmux

log = logging.getLogger("piko.watcher")

RECHECK = 10.0  # seconds: a pane that looks unchanged is still read again this often

T = TypeVar("T")
PaneKey = tuple[str | None, str]  # (tmux socket, pane id)


@dataclass
class _Read(Generic[T]):
    value: T  # what the parser made of the screen
    pid: int
    geometry: str
    taken: float  # wall-clock time of the read (tmux's activity times are wall-clock too)


class Panes(Generic[T]):
    def __init__(self, parse: Callable[[str], T], recheck: float = RECHECK) -> None:
        self.parse = parse
        self.recheck = recheck
        self.captures: Counter[PaneKey] = Counter()  # screen reads per pane (for tests and debugging)
        self._reads: dict[PaneKey, _Read[T]] = {}

    async def states(self, sockets: Iterable[str | None]) -> dict[str | None, dict[str, tmux.PaneState] | None]:
        """Every pane of each tmux server, one call per server. {} for a server that is gone (so are its
        panes); None for one that failed to answer (nothing can be said about its panes this time)."""
        sockets = list(sockets)
        answers = await asyncio.gather(*(self._states(s) for s in sockets))
        return dict(zip(sockets, answers, strict=True))

    @staticmethod
    async def _states(socket: str | None) -> dict[str, tmux.PaneState] | None:
        try:
            return await tmux.list_panes(socket)
        except tmux.PaneGone:
            return {}
        except tmux.TmuxError as e:
            log.debug("cannot list the panes of tmux server %s: %s", socket, e)
            return None

    async def screens(self, socket: str | None, states: list[tmux.PaneState]) -> dict[str, T | None]:
        """The parsed screens of these panes of one tmux server, by pane id; None for a pane found gone.

        Only panes that may have changed since their last read are read, all in one tmux call. A pane
        that cannot be read (and is not gone) is left out.
        """
        now = time.time()
        stale = [s for s in states if self._stale(self._reads.get((socket, s.id)), s, now)]
        found: dict[str, T | None] = {}
        if stale:
            taken = time.time()
            try:
                texts = await tmux.capture_many(socket, [s.id for s in stale])
            except tmux.TmuxError:  # one of them went away meanwhile: read them one by one
                texts = {}
                for state in stale:
                    try:
                        texts[state.id] = await tmux.capture(socket, state.id, join=True)
                    except tmux.PaneGone:
                        found[state.id] = None
                    except tmux.TmuxError:
                        pass
            for state in stale:
                if state.id in texts:
                    self.captures[(socket, state.id)] += 1
                    self._reads[(socket, state.id)] = _Read(
                        self.parse(texts[state.id]), state.pid, state.geometry, taken)
            stale = [s for s in stale if s.id not in texts]  # not read this time: nothing to say
        for state in states:
            read = self._reads.get((socket, state.id))
            if state.id not in found and read is not None and state not in stale:
                found[state.id] = read.value
        return found

    def _stale(self, read: _Read[T] | None, state: tmux.PaneState, now: float) -> bool:
        return (read is None or read.pid != state.pid or read.geometry != state.geometry
                or state.activity >= int(read.taken) or now - read.taken >= self.recheck)

    def keep_only(self, keys: set[PaneKey]) -> None:
        """Forget the screens of panes no longer watched."""
        for key in self._reads.keys() - keys:
            del self._reads[key]


def agent_process(pane_pid: int) -> tuple[int, int] | None:
    """(pid, start time) of the process in the pane's foreground: the agent, when it is looked at while
    its request is pending. None when the process table cannot be read (no /proc)."""
    stat = _stat(pane_pid)
    if stat is None:
        return None
    foreground = int(stat[5])  # tpgid: the terminal's foreground process group, named by its leader
    pid = foreground if foreground > 0 else pane_pid
    own = _stat(pid)
    if own is None:
        return None
    return pid, int(own[19])


def process_alive(pid: int, started: int) -> bool | None:
    """Is process `pid`, started at `started` (so not another one that got its number), still running?
    `exec` keeps the process: a wrapper that execs the agent is still the agent. None without /proc."""
    if not os.path.isdir("/proc/self"):
        return None
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z" and int(stat[19]) == started


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the program's name (state, ppid, pgrp, ...), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].decode().split()
    except (OSError, IndexError):
        return None
