"""The hook mailbox: PermissionRequest (and Elicitation) hooks waiting for a decision, and the decisions
handed to them.

A hook waits on `POST .../wait` (only with its wait key, server/waitkeys.py) for the request it created.
An answer for that request is handed to it here as the hook's output and counts as delivered only once
the hook's connection took it (`acknowledged`); a request resolved some other way releases its hook
with nothing (it exits quietly and leaves Claude's own dialog in charge).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("piko.mailbox")

ACK_TIMEOUT = 2.0  # how long a decision handed to a hook may take to leave the server

HookOutput = dict[str, Any]


class Mailbox:
    def __init__(self) -> None:
        self._waiters: dict[str, asyncio.Future[HookOutput | None]] = {}
        self._acks: dict[str, asyncio.Future[None]] = {}

    def waiting(self, id: str) -> bool:
        """Is a hook waiting for the decision on request `id`?"""
        waiter = self._waiters.get(id)
        return waiter is not None and not waiter.done()

    def attach(self, id: str) -> asyncio.Future[HookOutput | None]:
        """A hook starts waiting for request `id`; the same hook reconnecting replaces its dead connection."""
        old = self._waiters.get(id)
        if old is not None and not old.done():
            old.cancel()
        future: asyncio.Future[HookOutput | None] = asyncio.get_running_loop().create_future()
        self._waiters[id] = future
        return future

    def detach(self, id: str, future: asyncio.Future[HookOutput | None]) -> bool:
        """The hook's connection ended (answered, timed out, killed, or the server is stopping). True when
        it was the one waiting for `id`."""
        if not future.done():
            future.cancel()
        if self._waiters.get(id) is future:
            del self._waiters[id]
            return True
        return False

    def release(self, id: str) -> None:
        """Request `id` was resolved some other way: its hook exits with no decision."""
        waiter = self._waiters.pop(id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def acknowledged(self, id: str) -> None:
        """The decision for `id` was written to its hook's connection."""
        ack = self._acks.get(id)
        if ack is not None and not ack.done():
            ack.set_result(None)

    async def hand(self, id: str, output: HookOutput, timeout: float = ACK_TIMEOUT) -> bool:
        """Give `output` to the hook waiting for `id`; False when no hook took it within `timeout`."""
        waiter = self._waiters.get(id)
        if waiter is None or waiter.done():
            return False
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks[id] = ack
        try:
            waiter.set_result(output)
            await asyncio.wait_for(ack, timeout)
            return True
        except TimeoutError:
            log.warning("the hook for %s did not take its decision; answering with keys", id)
            return False
        finally:
            self._acks.pop(id, None)
            if self._waiters.get(id) is waiter:
                del self._waiters[id]

    def close(self) -> None:
        """Release every waiting hook at once: the server is going away (the hook retries)."""
        for waiter in list(self._waiters.values()):
            if not waiter.done():
                waiter.cancel()
