"""Requests for the benchmarks: hook events with a marker, and state folders pre-filled with pending ones."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec

from bench.common import fixture

_PERMISSION = fixture("PermissionRequest-Bash")
_PROMPT = fixture("UserPromptSubmit")


def permission_event(session: str) -> dict[str, Any]:
    """A real PermissionRequest payload (Claude Code 2.1.328) for session `session`: creates a request."""
    return {**_PERMISSION, "session_id": session}


def resolve_event(session: str) -> dict[str, Any]:
    """A real UserPromptSubmit payload for session `session`: resolves that session's pending request
    (one `resolved` broadcast, nothing created: a Stop would leave an idle request in its place)."""
    return {**_PROMPT, "session_id": session}


def body(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def seed_pending(home: Path, count: int) -> None:
    """Fill a fresh state folder with `count` pending requests, through piko's own Orchestra (in process,
    no server: much faster than posting them). The server loads them when it starts."""
    if count <= 0:
        return
    from piko import config
    from piko.server.hub import Hub
    from piko.server.orchestra import Orchestra
    from piko.server.store import Store

    config.ensure_home_dir(home)
    store = Store(home / config.DB_FILE)

    async def seed() -> None:
        orchestra = Orchestra(store, Hub())
        for i in range(count):
            await orchestra.ingest(permission_event(f"seed-{i:06d}"))

    try:
        asyncio.run(seed())
    finally:
        store.close()


def in_thread(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` to its end on an event loop of its own, in a thread: callers may be inside a running
    loop (the throughput benchmark), where asyncio.run refuses."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work).result()


def broadcast_texts(marker: str) -> tuple[str, str]:
    """The exact texts piko broadcasts for a created and a resolved request of session `marker` (made by
    piko's own Orchestra in process): the baseline server is triggered with these, so both sides send the
    same bytes."""
    import tempfile

    from piko.server.orchestra import Orchestra
    from piko.server.store import Store

    sent: list[str] = []

    class Recorder:
        def broadcast(self, message: msgspec.Struct) -> None:
            sent.append(msgspec.json.encode(message).decode())  # as server/hub.py encodes it

    with tempfile.TemporaryDirectory() as d:
        store = Store(Path(d) / "state.db")
        try:
            orchestra = Orchestra(store, Recorder())  # type: ignore[arg-type]

            async def both() -> None:
                await orchestra.ingest(permission_event(marker))
                await orchestra.ingest(resolve_event(marker))

            in_thread(both())
        finally:
            store.close()
    by_type = {json.loads(text)["type"]: text for text in sent}  # session messages come with them too
    return by_type["created"], by_type["resolved"]
