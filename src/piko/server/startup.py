"""Work the server does when it starts: replay the hook events spooled while it was down, keep picking
up events spooled while it runs (a hook that timed out on a busy server), watch the panes of pending
requests (server/watcher.py), and prune the tables that only grow (server/retention.py), now and hourly."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from piko import spool
from piko.server import retention
from piko.server.watcher import Watcher

log = logging.getLogger("piko.server")

SPOOL_SCAN_INTERVAL = 2.0


async def replay_spool(orchestra: Any, home: Path) -> int:
    """Ingest spooled events in order. One that cannot be ingested, for any reason, is set aside in
    spool/rejected/ with the reason, never retried and never in the way of the events behind it.
    Returns how many were ingested."""
    for line in spool.enforce_caps(home):
        log.warning("%s", line)
    count = 0
    for path in spool.pending(home):
        try:
            await orchestra.ingest_once(json.loads(spool.read(path)))
        except FileNotFoundError:
            continue  # set aside meanwhile by a hook keeping the spool under its cap
        except Exception as e:  # noqa: BLE001 - whatever it is, this event must not block the others
            reason = f"{type(e).__name__}: {e}"
            try:
                kept = spool.set_aside(path, reason)
            except Exception as failed:  # noqa: BLE001
                log.error("spooled event %s could not be ingested (%s) nor set aside (%s)", path, reason, failed)
                continue
            log.warning("spooled event %s could not be ingested (%s); kept in %s", os.path.basename(path),
                        reason, kept)
            continue
        os.unlink(path)
        count += 1
    return count


def tasks(home: Path) -> list[Callable[[Any], Awaitable[asyncio.Task[None] | None]]]:
    """Start-up steps, in order; a step may return a background task, cancelled at shutdown."""

    async def replay(app: Any) -> None:
        try:
            n = await replay_spool(app.state.orchestra, home)
        except Exception:  # the spool must never keep the server from starting
            log.exception("replaying the spool failed; the server starts anyway")
            return
        if n:
            log.warning("replayed %d hook event(s) spooled while the server was down", n)

    async def keep_replaying(app: Any) -> asyncio.Task[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(SPOOL_SCAN_INTERVAL)
                try:
                    await replay_spool(app.state.orchestra, home)
                except Exception:  # a bad file must not stop the scanning
                    log.exception("replaying the spool failed")

        return asyncio.create_task(loop())

    async def watch(app: Any) -> asyncio.Task[None]:
        return asyncio.create_task(Watcher(app.state.orchestra).run())

    async def maintain(app: Any) -> asyncio.Task[None]:
        async def loop() -> None:
            while True:
                try:
                    gone = await retention.maintain(app.state.orchestra.store)
                except Exception:  # the next round tries again
                    log.exception("pruning the store failed")
                else:
                    if any(gone.values()):
                        log.info("pruned the store: %s", gone)
                await asyncio.sleep(retention.MAINTENANCE_EVERY)

        return asyncio.create_task(loop())

    return [replay, keep_replaying, watch, maintain]
