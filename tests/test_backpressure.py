"""A slow or stuck WebSocket client never delays the others: past its bounded queue it is disconnected."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time

import httpx

EVENTS = 1500  # more than the per-client queue (1024) plus what the stuck socket's small buffers hold
PADDING = "x" * 20_000


class StuckClient:
    """A WebSocket client written by hand that completes the handshake and then reads nothing,
    with a small receive buffer so the server feels it at once."""

    def __init__(self, server) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /api/orchestra/ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                           f"Authorization: Bearer {server.token}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(1)
        assert self.buffer.startswith(b"HTTP/1.1 101"), self.buffer

    def frames(self, timeout: float = 10):
        """Read until the server's close frame; yields (opcode, payload) of every frame."""
        self.sock.settimeout(timeout)
        data, i = b"", 0
        while True:
            frame = _parse(data, i)
            if frame is None:
                chunk = self.sock.recv(1 << 20)
                assert chunk, "connection closed without a close frame"
                data += chunk
                continue
            opcode, payload, i = frame
            yield opcode, payload
            if opcode == 0x8:
                return


def _parse(data: bytes, i: int):
    """One unmasked server frame at data[i:], or None if it is not all there yet."""
    if len(data) < i + 2:
        return None
    opcode, length, j = data[i] & 0x0F, data[i + 1] & 0x7F, i + 2
    if length == 126:
        if len(data) < j + 2:
            return None
        length, j = struct.unpack(">H", data[j:j + 2])[0], j + 2
    elif length == 127:
        if len(data) < j + 8:
            return None
        length, j = struct.unpack(">Q", data[j:j + 8])[0], j + 8
    if len(data) < j + length:
        return None
    return opcode, data[j:j + length], j + length


def test_stuck_client_is_dropped_and_fast_client_gets_everything(server):
    received: list[str] = []
    with server.ws(ping_interval=None) as fast:
        stuck = StuckClient(server)

        def read_fast() -> None:
            while len(received) < EVENTS + 1:
                kind = json.loads(fast.recv(timeout=30))["type"]
                if kind != "session":  # the fleet's session messages come beside them
                    received.append(kind)

        reader = threading.Thread(target=read_fast, daemon=True)
        reader.start()
        started = time.monotonic()
        with httpx.Client(base_url=server.url, headers=server.auth, timeout=10) as http:
            for i in range(EVENTS):
                r = http.post("/api/orchestra/notify", json={
                    "hook_event_name": "Notification", "notification_type": "idle_prompt",
                    "session_id": f"s{i}", "message": PADDING})
                assert r.status_code == 200
        reader.join(30)
        elapsed = time.monotonic() - started
        assert received[0] == "snapshot" and received.count("created") == EVENTS
        # The stuck client got a prefix of the stream, then a close frame with 1013.
        frames = list(stuck.frames())
        texts = [json.loads(p) for op, p in frames if op == 0x1]
        closes = [p for op, p in frames if op == 0x8]
        assert texts[0]["type"] == "snapshot" and 1 < len(texts) < EVENTS
        assert len(closes) == 1 and struct.unpack(">H", closes[0][:2])[0] == 1013
        assert b"too slow" in closes[0]
    # It reconnects and gets a fresh, complete snapshot.
    with server.ws(max_size=None) as again:
        snap = json.loads(again.recv(timeout=10))
        assert snap["type"] == "snapshot" and len(snap["notifications"]) == EVENTS
    print(f"{EVENTS} events to a fast client beside a stuck one in {elapsed:.1f}s; "
          f"the stuck one got {len(texts)} before it was closed")
