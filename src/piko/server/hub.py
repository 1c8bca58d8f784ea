"""The hub: every open WebSocket, and the fan-out of each change to all of them.

Each client has a bounded queue and its own writer task, so a slow or stuck client never delays the others:
a message is encoded once and queued for everyone without waiting; a client whose queue is full is closed
(code 1013) and, when it reconnects, starts again from a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger("piko.hub")

QUEUE_LIMIT = 1024
CLOSE_TOO_SLOW = 1013
CLOSE_UNSUPPORTED = 1003
CLOSE_GOING_AWAY = 1001
_encoder = msgspec.json.Encoder()


class Subscriber:
    def __init__(self, ws: WebSocket, limit: int) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str] = asyncio.Queue(limit)
        self.writer: asyncio.Task[None] | None = None
        self.closer: asyncio.Task[None] | None = None
        self.visible = False  # the page says its inbox is in a visible tab (server/push.py holds back)

    def offer(self, text: str) -> bool:
        """Queue `text` without waiting; False when the client has fallen too far behind."""
        if self.closer is not None:
            return True
        try:
            self.queue.put_nowait(text)
            return True
        except asyncio.QueueFull:
            return False

    def close(self, code: int, reason: str) -> None:
        """Drop what is queued and close the socket with `code`.

        The writer is cancelled first: it may be stuck sending to a peer that stopped reading. The close
        frame then waits for the peer to read (or the keepalive ping to time out and drop the connection),
        holding no more than one message of ours meanwhile.
        """
        if self.closer is not None:
            return
        if self.writer is not None:
            self.writer.cancel()
        while not self.queue.empty():
            self.queue.get_nowait()
        self.closer = asyncio.create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code, reason)

    async def pump(self) -> None:
        """Send queued messages in order, until cancelled."""
        while True:
            await self.ws.send_text(await self.queue.get())


class Hub:
    def __init__(self, queue_limit: int = QUEUE_LIMIT) -> None:
        self.clients: set[Subscriber] = set()
        self.queue_limit = queue_limit

    def __len__(self) -> int:
        return len(self.clients)

    def broadcast(self, message: msgspec.Struct) -> None:
        """Encode `message` (a models.ServerMessage) once, and queue it for everyone."""
        self.broadcast_text(_encoder.encode(message).decode())

    def broadcast_text(self, text: str) -> None:
        for client in list(self.clients):
            if not client.offer(text):
                log.warning("closing a WebSocket client that fell %d messages behind", self.queue_limit)
                client.close(CLOSE_TOO_SLOW, "client too slow; reconnect for a fresh snapshot")

    def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "server shutting down") -> None:
        for client in list(self.clients):
            client.close(code, reason)

    async def serve(self, ws: WebSocket, snapshot: Callable[[], str]) -> None:
        """Run one accepted client: snapshot first, then every broadcast, until either side closes.

        The client is registered and its snapshot queued in one step, with no await between, so it
        misses no change and sees none twice.
        """
        client = Subscriber(ws, self.queue_limit)
        client.offer(snapshot())
        self.clients.add(client)
        writer = client.writer = asyncio.create_task(client.pump())
        try:
            await self._read(client, writer)
        finally:
            self.clients.discard(client)
            writer.cancel()
            if client.closer is not None:
                with contextlib.suppress(BaseException):
                    await client.closer

    async def _read(self, client: Subscriber, writer: asyncio.Task[None]) -> None:
        ws = client.ws
        receiver = None
        while True:
            receiver = asyncio.ensure_future(ws.receive())
            done, _ = await asyncio.wait({receiver, writer}, return_when=asyncio.FIRST_COMPLETED)
            if writer in done:
                receiver.cancel()
                return
            try:
                message = receiver.result()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                client.close(CLOSE_UNSUPPORTED, "binary messages are not supported; send JSON text")
                continue
            try:
                data = json.loads(text)
            except ValueError:
                client.close(CLOSE_UNSUPPORTED, "messages must be JSON")
                continue
            if isinstance(data, dict) and data.get("type") == "ping":
                client.offer('{"type":"pong"}')
            elif isinstance(data, dict) and data.get("type") == "presence" and isinstance(data.get("visible"), bool):
                client.visible = data["visible"]
            else:
                client.close(CLOSE_UNSUPPORTED, 'unknown message; a client sends {"type":"ping"} or '
                                                '{"type":"presence","visible":true|false}')
