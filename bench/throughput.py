"""4. Throughput: events per second the server accepts while clients are connected, none lost.

piko: W keep-alive connections post real hook events as fast as the server answers, in pairs per session
(PermissionRequest creates a request, UserPromptSubmit resolves it: one broadcast each, and the pending count stays
where it was set). The figure is events / (first POST -> last event received by the last client); every
client must have received every event (counted per client), else the run reports what was lost.
Baseline: the minimal broadcast server, fed the same texts piko broadcasts over one trigger WebSocket as
fast as it takes them; same figure, same check. Both also report the server process's CPU time per event
(user + system, from psutil): what the server spends, apart from what the clients can take.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import Baseline, Context, Fleet, Http, Row, cleanup, kind_of, ns, run, start_piko, temp_dir
from bench.seed import body, broadcast_texts, permission_event, resolve_event, seed_pending

NOTIFY = "/api/orchestra/notify"
WORKERS = 8
TEMPLATE = "bench-template-00000000"


class Counter:
    def __init__(self, fleet: Fleet, clients: int, expected: int) -> None:
        self.counts = [0] * clients
        self.expected = expected
        self.complete = 0
        self.last = 0
        self.done = asyncio.get_running_loop().create_future()
        fleet.on_message = self.on_message

    def on_message(self, index: int, t: int, text: str) -> None:
        if kind_of(text) not in ("created", "resolved"):
            return
        self.counts[index] += 1
        if self.counts[index] == self.expected:
            self.complete += 1
            self.last = t
            if self.complete == len(self.counts) and not self.done.done():
                self.done.set_result(None)


async def _wait(counter: Counter, timeout: float) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(counter.done), timeout)
    except TimeoutError:
        pass


def cpu_s(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


async def _piko(server: Any, clients: int, events: int, timeout: float) -> dict[str, Any]:
    fleet = Fleet(server.ws_url, server.auth)
    await fleet.connect(clients)
    counter = Counter(fleet, clients, events)
    cpu0 = cpu_s(server.proc.pid)
    conns = [await Http(server.port, server.token).open() for _ in range(WORKERS)]
    pairs = iter(range(events // 2))
    errors: list[str] = []

    async def worker(http: Http) -> None:
        for i in pairs:
            for event in (permission_event(f"bench-tp-{i:07d}"), resolve_event(f"bench-tp-{i:07d}")):
                status, answer = await http.post(NOTIFY, body(event))
                if status != 200:
                    errors.append(f"{status} {answer[:120]!r}")

    t0 = ns()
    await asyncio.gather(*(worker(c) for c in conns))
    accepted = ns()
    await _wait(counter, timeout)
    cpu = cpu_s(server.proc.pid) - cpu0
    for c in conns:
        await c.close()
    await fleet.close()
    return _result(events, t0, accepted, counter, errors, cpu)


async def _baseline(baseline: Baseline, clients: int, events: int, timeout: float) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    fleet = Fleet(baseline.ws_url)
    await fleet.connect(clients)
    counter = Counter(fleet, clients, events)
    cpu0 = cpu_s(baseline.proc.pid)
    created, resolved = broadcast_texts(TEMPLATE)
    trigger = await connect(baseline.trigger_url, max_size=None, ping_interval=None)
    texts = [(created if i % 2 == 0 else resolved).replace(TEMPLATE, f"bench-tp-{i // 2:07d}")
             for i in range(events)]
    t0 = ns()
    for text in texts:
        await trigger.send(text)
    accepted = ns()
    await _wait(counter, timeout)
    cpu = cpu_s(baseline.proc.pid) - cpu0
    await trigger.close()
    await fleet.close()
    return _result(events, t0, accepted, counter, [], cpu)


def _result(events: int, t0: int, accepted: int, counter: Counter, errors: list[str], cpu: float) -> dict[str, Any]:
    received = sum(counter.counts)
    lost = events * len(counter.counts) - received
    end = counter.last if counter.done.done() else ns()
    return {
        "events": events, "clients": len(counter.counts),
        "rate": events / ((end - t0) / 1e9),
        "accept_rate": events / ((accepted - t0) / 1e9),
        "lost": lost, "errors": errors[:3], "n_errors": len(errors),
        "server_cpu_ms_per_event": cpu * 1000 / events,
    }


def throughput_point(ctx: Context, clients: int, events: int, *, pending: int = 10, baseline: bool = True,
                     timeout: float = 120) -> dict[str, dict]:
    home = temp_dir(ctx, "piko-home")
    seed_pending(home, pending)
    out: dict[str, dict] = {}
    server = start_piko(home)
    try:
        out["piko"] = run(_piko(server, clients, events, timeout))
    finally:
        server.stop()
        cleanup(home)
    if baseline:
        base = Baseline().start()
        try:
            out["baseline"] = run(_baseline(base, clients, events, timeout))
        finally:
            base.stop()
    return out


def events_for(clients: int, quick: bool) -> int:
    """Events per run: enough for a steady rate, bounded in deliveries (events x clients)."""
    n = 2000 if quick else 6000
    return max(100, min(n, (60_000 if quick else 200_000) // clients)) // 2 * 2


def bench(ctx: Context) -> None:
    print("[throughput] 10 clients", flush=True)
    point = throughput_point(ctx, 10, events_for(10, ctx.quick))
    ctx.data["throughput_10"] = point
    p, b = point["piko"], point["baseline"]
    ok = p["rate"] >= 1000 and p["lost"] == 0 and p["n_errors"] == 0
    ctx.add(Row("4. throughput, 10 clients", f"{p['rate']:,.0f} events/s, {p['lost']} lost",
                f"{b['rate']:,.0f} msgs/s, {b['lost']} lost", f"{p['rate'] / b['rate']:.2f}x",
                ">= 1,000/s, 0 lost", "pass" if ok else "miss",
                note=f"{p['events']} events; POSTs answered at {p['accept_rate']:,.0f}/s; server CPU per event "
                     f"{p['server_cpu_ms_per_event']:.2f} ms (baseline {b['server_cpu_ms_per_event']:.2f} ms)"
                     + (f"; errors: {p['errors']}" if p["n_errors"] else "")))
