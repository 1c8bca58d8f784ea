"""The baseline for the WebSocket benchmarks: a minimal broadcast server, same library as piko's.

`websockets` (the library uvicorn runs piko's WebSocket on) with its asyncio server, on uvloop (the loop
uvicorn picks), per-message deflate at the library's defaults (window 12 bits, memLevel 5 — the settings
uvicorn uses for piko). What it does, and nothing more:
- a connection to `/` is a client: it gets `{"type": "snapshot", "notifications": []}`, then every
  broadcast;
- a connection to `/trigger` is the benchmark's trigger: every text message it sends is broadcast as is,
  with `websockets.broadcast`, to every client.
No HTTP routes, no auth, no JSON parsing, no storage, no per-client queue.

Run: python -m bench.baseline_server  (prints `PORT <n>` once it listens on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import signal

from websockets.asyncio.server import broadcast, serve

SNAPSHOT = '{"type": "snapshot", "notifications": []}'
clients: set = set()


async def handler(ws) -> None:
    if ws.request.path == "/trigger":
        async for message in ws:
            broadcast(clients, message)
        return
    await ws.send(SNAPSHOT)
    clients.add(ws)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(ws)


async def main() -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(handler, "127.0.0.1", 0, backlog=2048, max_size=None, ping_interval=20,
                     ping_timeout=20) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await stop


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
