"""2. Notify to browser: from the POST of an event to its arrival at every connected WebSocket client.

Both servers run in their own process, with their own fleet of `websockets` clients in this process,
connected at the same time; samples alternate piko, baseline, piko, ... so drift hits both alike.
A sample:
- piko: stamp, POST a real PermissionRequest (new session) on a keep-alive connection, stamp its arrival
  (`created`) at each client; then POST that session's UserPromptSubmit and wait until every client has the
  `resolved` (so the pending count stays where it was set, and samples don't overlap).
- baseline: stamp, send the same `created` text over the trigger WebSocket, stamp its arrival at each
  client; then the same `resolved` text, and wait for it everywhere.
Figures: p50/p99 over every delivery (one per client per sample), and over the time until the last
client had it (`all`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import (
    Baseline,
    Context,
    Fleet,
    Http,
    cleanup,
    kind_of,
    marker_of,
    ms,
    ns,
    pct,
    run,
    start_piko,
    temp_dir,
)
from bench.seed import body, broadcast_texts, permission_event, resolve_event, seed_pending

NOTIFY = "/api/orchestra/notify"
TEMPLATE = "bench-template-00000000"
SAMPLE_TIMEOUT = 10.0


class Waiter:
    """Collects the arrival times of one expected message (kind + marker) across a fleet."""

    def __init__(self, fleet: Fleet, clients: int) -> None:
        self.clients = clients
        self.marker: str | None = None
        self.kind = ""
        self.times: list[int] = []
        self.done: asyncio.Future | None = None
        fleet.on_message = self.on_message

    def expect(self, marker: str, kind: str) -> asyncio.Future:
        self.marker, self.kind, self.times = marker, kind, []
        self.done = asyncio.get_running_loop().create_future()
        return self.done

    def on_message(self, index: int, t: int, text: str) -> None:
        if self.marker is None or kind_of(text) != self.kind or marker_of(text) != self.marker:
            return
        self.times.append(t)
        if len(self.times) >= self.clients and self.done and not self.done.done():
            self.done.set_result(None)


class PikoSide:
    name = "piko"

    def __init__(self, server: Any) -> None:
        self.server = server
        self.fleet = Fleet(server.ws_url, server.auth)
        self.http = Http(server.port, server.token)

    async def open(self) -> None:
        await self.http.open()

    async def fire(self, marker: str, kind: str) -> None:
        event = permission_event(marker) if kind == "created" else resolve_event(marker)
        status, answer = await self.http.post(NOTIFY, body(event))
        if status != 200:
            raise RuntimeError(f"notify answered {status}: {answer[:200]!r}")

    async def close(self) -> None:
        await self.http.close()
        await self.fleet.close()


class BaselineSide:
    name = "baseline"

    def __init__(self, baseline: Baseline) -> None:
        self.baseline = baseline
        self.fleet = Fleet(baseline.ws_url)
        self.created, self.resolved = broadcast_texts(TEMPLATE)
        self.trigger: Any = None

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        self.trigger = await connect(self.baseline.trigger_url, max_size=None, ping_interval=None)

    async def fire(self, marker: str, kind: str) -> None:
        await self.trigger.send((self.created if kind == "created" else self.resolved).replace(TEMPLATE, marker))

    async def close(self) -> None:
        if self.trigger is not None:
            await self.trigger.close()
        await self.fleet.close()


async def _sample(side: Any, waiter: Waiter, marker: str) -> list[int] | None:
    """One event: arrival times (ns after the stamp) at every client, or None if some client missed it."""
    done = waiter.expect(marker, "created")
    t0 = ns()
    await side.fire(marker, "created")
    try:
        await asyncio.wait_for(done, SAMPLE_TIMEOUT)
    except TimeoutError:
        return None
    created = [t - t0 for t in waiter.times]
    done = waiter.expect(marker, "resolved")
    await side.fire(marker, "resolved")
    try:
        await asyncio.wait_for(done, SAMPLE_TIMEOUT)
    except TimeoutError:
        return None
    return created


def summarize(deliveries: list[float], lasts: list[float], missed: int) -> dict[str, Any]:
    return {
        "p50": pct(deliveries, 50), "p99": pct(deliveries, 99),
        "all_p50": pct(lasts, 50), "all_p99": pct(lasts, 99),
        "samples": len(lasts), "deliveries": len(deliveries), "missed": missed,
    }


async def _measure(sides: list[Any], clients: int, samples: int, gap: float, tag: str) -> dict[str, dict]:
    waiters = []
    for side in sides:
        await side.fleet.connect(clients)
        waiters.append(Waiter(side.fleet, clients))
    for side in sides:  # after the fleets: an idle keep-alive connection is closed after 5 s
        await side.open()
    out: dict[str, dict] = {}
    raw: dict[str, tuple[list[float], list[float], list[int]]] = {s.name: ([], [], [0]) for s in sides}
    await asyncio.sleep(0.2)
    for i in range(samples):
        for side, waiter in zip(sides, waiters, strict=True):
            deliveries, lasts, missed = raw[side.name]
            times = await _sample(side, waiter, f"bench-{tag}-{side.name[0]}-{i:06d}")
            if times is None:
                missed[0] += 1
                continue
            if i < 3:  # warm-up: first sample of a fresh server pays for lazy imports and caches
                continue
            deliveries.extend(ms(t) for t in times)
            lasts.append(ms(max(times)))
            await asyncio.sleep(gap)
    for side in sides:
        deliveries, lasts, missed = raw[side.name]
        out[side.name] = summarize(deliveries, lasts, missed[0])
        await side.close()
    return out


def latency_point(ctx: Context, clients: int, samples: int, *, pending: int = 0, baseline: bool = True,
                  gap: float = 0.002) -> dict[str, dict]:
    """Start piko (pre-filled with `pending` requests) and, if asked, the baseline; measure; stop them."""
    home = temp_dir(ctx, "piko-home")
    seed_pending(home, pending)
    server = start_piko(home)
    base = Baseline().start() if baseline else None
    try:
        sides: list[Any] = [PikoSide(server)]
        if base is not None:
            sides.append(BaselineSide(base))
        return run(_measure(sides, clients, samples, gap, f"{clients}c{pending}p"))
    finally:
        server.stop()
        if base is not None:
            base.stop()
        cleanup(home)


CLIENTS = (1, 10, 100, 1000)


def samples_for(clients: int, quick: bool) -> int:
    if quick:
        return {1: 60, 10: 60, 100: 40, 1000: 15}.get(clients, 20)
    return {1: 500, 10: 500, 100: 500, 1000: 100}.get(clients, 100)


def bench(ctx: Context) -> None:
    from bench.common import Row, fmt_ms, ratio

    results = {}
    for clients in CLIENTS:
        print(f"[notify->ws] {clients} client(s)", flush=True)
        point = latency_point(ctx, clients, samples_for(clients, ctx.quick), pending=10)
        results[clients] = point
        p, b = point["piko"], point["baseline"]
        goal, status = "-", "info"
        if clients == 100:
            goal = "p99 < 10 ms and <= 2x"
            ok = p["p99"] < 10 and p["p99"] <= 2 * b["p99"] and not p["missed"]
            status = "pass" if ok else "miss"
        ctx.add(Row(
            f"2. notify->ws, {clients} client{'s' if clients > 1 else ''}",
            f"p50 {fmt_ms(p['p50'])} / p99 {fmt_ms(p['p99'])}",
            f"p50 {fmt_ms(b['p50'])} / p99 {fmt_ms(b['p99'])}",
            ratio(p["p99"], b["p99"]), goal, status,
            note=(f"all clients: p50 {fmt_ms(p['all_p50'])} / p99 {fmt_ms(p['all_p99'])} "
                  f"(baseline {fmt_ms(b['all_p50'])} / {fmt_ms(b['all_p99'])}); "
                  f"{p['samples']} samples, {p['deliveries']} deliveries"
                  + (f"; MISSED piko {p['missed']} baseline {b['missed']}" if p["missed"] or b["missed"] else "")),
        ))
    ctx.data["latency_by_clients"] = results
