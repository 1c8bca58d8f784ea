"""5. Memory: the server's RSS idle, and with 1,000 WebSocket clients and 10,000 pending requests.

piko (fresh state folder): RSS one second after start (median of 5 looks, 0.1 s apart); then 10,000 real
PermissionRequest events posted over 8 keep-alive connections (10,000 pending requests); then 1,000
WebSocket clients connected, 50 at a time, each reading its snapshot (all 10,000 pending: ~12 MB of
JSON); RSS one second after the last one (steady) and the peak while they connected (sampled every 50 ms).
--quick connects 250 clients (the goal is judged only with 1,000).
Baseline: the minimal broadcast server (bench/baseline_server.py), idle and with the same 1,000 clients.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

from bench.common import (
    Baseline,
    Context,
    Fleet,
    Http,
    Row,
    RssSampler,
    cleanup,
    ratio,
    rss_mb,
    run,
    start_piko,
    temp_dir,
)
from bench.seed import body, permission_event

NOTIFY = "/api/orchestra/notify"


def steady_rss(pid: int, wait: float = 1.0) -> float:
    time.sleep(wait)
    looks = []
    for _ in range(5):
        looks.append(rss_mb(pid))
        time.sleep(0.1)
    return statistics.median(looks)


async def _post_pending(server, count: int) -> None:
    conns = [await Http(server.port, server.token).open() for _ in range(8)]
    numbers = iter(range(count))

    async def worker(http: Http) -> None:
        for i in numbers:
            status, answer = await http.post(NOTIFY, body(permission_event(f"bench-mem-{i:06d}")))
            if status != 200:
                raise RuntimeError(f"notify answered {status}: {answer[:200]!r}")

    await asyncio.gather(*(worker(c) for c in conns))
    for c in conns:
        await c.close()


async def _load(url: str, headers: dict, clients: int, pid: int,
                hold: Callable[[], float]) -> tuple[float, float, int]:
    fleet = Fleet(url, headers)
    with RssSampler(pid) as sampler:
        await fleet.connect(clients, batch=50, timeout=300)
        await asyncio.sleep(0.2)
    steady = await asyncio.to_thread(hold)
    snapshot = fleet.snapshot_bytes
    await fleet.close()
    return steady, max(sampler.peak, steady), snapshot


def bench(ctx: Context) -> None:
    clients, pending = (250 if ctx.quick else 1000), 10_000
    home = temp_dir(ctx, "piko-home")
    server = start_piko(home)
    base = Baseline().start()
    try:
        pid, bpid = server.proc.pid, base.proc.pid
        idle, base_idle = steady_rss(pid), steady_rss(bpid, 0)
        print(f"[memory] idle {idle:.1f} MB (baseline {base_idle:.1f}); posting {pending} pending", flush=True)
        started = time.monotonic()
        run(_post_pending(server, pending))
        posted = time.monotonic() - started
        with_pending = steady_rss(pid)
        print(f"[memory] {with_pending:.1f} MB with {pending} pending (posted in {posted:.1f} s); "
              f"connecting {clients} clients", flush=True)
        started = time.monotonic()
        loaded, peak, snapshot = run(_load(server.ws_url, server.auth, clients, pid, lambda: steady_rss(pid)))
        connect_s = time.monotonic() - started
        base_loaded, _base_peak, _ = run(_load(base.ws_url, {}, clients, bpid, lambda: steady_rss(bpid)))
    finally:
        server.stop()
        base.stop()
        cleanup(home)

    ctx.data["memory"] = {"idle": idle, "base_idle": base_idle, "pending_only": with_pending, "loaded": loaded,
                          "peak": peak, "base_loaded": base_loaded, "snapshot_bytes_each": snapshot / clients,
                          "connect_s": connect_s, "post_s": posted}
    ctx.add(Row("5. memory, idle", f"{idle:.1f} MB", f"{base_idle:.1f} MB (minimal ws server)",
                ratio(idle, base_idle), "< 60 MB", "pass" if idle < 60 else "miss"))
    full = clients == 1000
    ctx.add(Row(f"5. memory, {clients} clients + {pending:,} pending", f"{loaded:.1f} MB (peak {peak:.0f})",
                f"{base_loaded:.1f} MB ({clients} clients)", ratio(loaded, base_loaded),
                "< 250 MB" if full else "< 250 MB at 1,000 clients (full run)",
                ("pass" if loaded < 250 and peak < 250 else "miss") if full else "info",
                note=f"{with_pending:.1f} MB with the {pending:,} pending alone; each client's snapshot "
                     f"{snapshot / clients / 1e6:.1f} MB; {clients} clients connected in {connect_s:.0f} s; "
                     f"{pending:,} events posted in {posted:.1f} s"))
