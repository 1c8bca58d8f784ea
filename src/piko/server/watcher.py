"""The watcher: notices requests answered where no hook can tell us.

Claude Code fires no event when a person denies a permission in the terminal (No, or Esc), and nothing at
all when its pane is closed. While a permission or question is pending, the watcher reads its pane a few
times a second: once the dialog has been seen and is then gone from the screen, the request is resolved as
answered in the terminal; a pane that no longer exists resolves any request from it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from piko import tmux
from piko.server.orchestra import dialog_options

log = logging.getLogger("piko.watcher")

INTERVAL = 0.4  # seconds between looks at each pane
GONE_CHECKS = 2  # consecutive looks without the dialog before it counts as answered
NEVER_SEEN_GRACE = 8.0  # a dialog never seen at all is given this long to appear before it is judged gone
MAX_PARALLEL = 8


class Watcher:
    def __init__(self, orchestra: Any, interval: float = INTERVAL) -> None:
        self.orchestra = orchestra
        self.interval = interval
        self._seen: set[str] = set()  # requests whose dialog has been on screen
        self._misses: dict[str, int] = {}  # consecutive looks without it
        self._limit = asyncio.Semaphore(MAX_PARALLEL)

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a bug here must not stop the watching
                log.exception("watcher tick failed")
            await asyncio.sleep(self.interval)

    async def tick(self) -> None:
        records = [r for r in self.orchestra.pending.values() if r.get("tmux_target")]
        live = {r["id"] for r in records}
        for gone in (self._seen | self._misses.keys()) - live:
            self._seen.discard(gone)
            self._misses.pop(gone, None)
        await asyncio.gather(*(self._look(r) for r in records))

    async def _look(self, record: dict[str, Any]) -> None:
        async with self._limit:
            socket, target = record.get("tmux_socket"), record["tmux_target"]
            try:
                options = await dialog_options(socket, target)
            except tmux.PaneGone:
                self._settle(record, "pane_gone")
                return
            except tmux.TmuxError as e:
                log.debug("cannot read pane %s: %s", target, e)
                return
        if record["kind"] not in ("permission", "question") or record["status"] != "pending":
            return
        id = record["id"]
        if options:
            self._seen.add(id)
            self._misses[id] = 0
            return
        if id not in self._seen and _age(record) < NEVER_SEEN_GRACE:
            return
        self._misses[id] = self._misses.get(id, 0) + 1
        if self._misses[id] >= GONE_CHECKS:
            self._settle(record, "terminal")

    def _settle(self, record: dict[str, Any], via: str) -> None:
        if record["status"] == "pending" and record["id"] in self.orchestra.pending:
            self.orchestra.resolve(record, via)


def _age(record: dict[str, Any]) -> float:
    from datetime import datetime

    created = datetime.fromisoformat(record["created_at"].replace("Z", "+00:00")).timestamp()
    return time.time() - created
