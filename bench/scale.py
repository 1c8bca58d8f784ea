"""7. Scale: how notify->ws latency (2) and throughput (4) grow with pending requests and with clients.

Axes: pending requests 10, 100, 1,000, 10,000 (10 clients; the state folder is pre-filled through piko's
own Orchestra before the server starts), and clients 1, 10, 100, 1,000 (10 pending). Points measured by
benchmarks 2 and 4 in the same run are reused. Throughput runs are bounded in deliveries (events x
clients), so with many clients fewer events are sent. The plot goes to bench/results/bench-scale.png
(and docs/bench-scale.png with --update-docs).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import RESULTS, Context, Row, fmt_ms, ratio
from bench.throughput import events_for, throughput_point
from bench.ws_latency import CLIENTS, latency_point, samples_for

PENDING = (10, 100, 1000, 10_000)


def sweep(ctx: Context, what: str, point: Callable[..., Any], count: Callable[[int], int],
          pending_count: int, known: dict[int, Any]) -> tuple[dict[int, Any], dict[int, Any]]:
    """One measurement over clients (10 pending), then over pending requests (10 clients), reusing the
    points benchmarks 2 and 4 already took (`known`, by clients)."""
    by_clients = dict(known)
    for clients in CLIENTS:
        if clients not in by_clients:
            print(f"[scale] {what}, {clients} clients, 10 pending", flush=True)
            by_clients[clients] = point(ctx, clients, count(clients), pending=10)
    by_pending: dict[int, Any] = {10: by_clients[10]}
    for pending in PENDING[1:]:
        print(f"[scale] {what}, 10 clients, {pending} pending", flush=True)
        by_pending[pending] = point(ctx, 10, pending_count, pending=pending, baseline=False)
    return by_clients, by_pending


def bench(ctx: Context) -> None:
    lat_clients, lat_pending = sweep(
        ctx, "latency", latency_point, lambda clients: samples_for(clients, ctx.quick),
        40 if ctx.quick else 150, ctx.data.get("latency_by_clients", {}))
    known_tp = {10: ctx.data["throughput_10"]} if "throughput_10" in ctx.data else {}
    tp_clients, tp_pending = sweep(
        ctx, "throughput", throughput_point, lambda clients: events_for(clients, ctx.quick),
        events_for(10, ctx.quick), known_tp)

    scale = {"latency_clients": lat_clients, "latency_pending": lat_pending,
             "throughput_clients": tp_clients, "throughput_pending": tp_pending}
    ctx.data["scale"] = scale

    lo, hi = lat_pending[10]["piko"], lat_pending[10_000]["piko"]
    ctx.add(Row("7. scale: notify->ws p99, 10 clients, 10k pending", fmt_ms(hi["p99"]),
                f"{fmt_ms(lo['p99'])} (10 pending)", ratio(hi["p99"], lo["p99"]),
                note=f"p50 {fmt_ms(hi['p50'])} vs {fmt_ms(lo['p50'])}"))
    lo, hi = tp_pending[10]["piko"], tp_pending[10_000]["piko"]
    ctx.add(Row("7. scale: throughput, 10 clients, 10k pending", f"{hi['rate']:,.0f} events/s, {hi['lost']} lost",
                f"{lo['rate']:,.0f} events/s (10 pending)", f"{hi['rate'] / lo['rate']:.2f}x",
                note=f"server CPU per event {hi['server_cpu_ms_per_event']:.2f} ms "
                     f"(10 pending: {lo['server_cpu_ms_per_event']:.2f} ms)"))
    top = tp_clients[1000]
    ctx.add(Row("7. scale: throughput, 1000 clients",
                f"{top['piko']['rate']:,.0f} events/s, {top['piko']['lost']} lost",
                f"{top['baseline']['rate']:,.0f} msgs/s, {top['baseline']['lost']} lost",
                f"{top['piko']['rate'] / top['baseline']['rate']:.2f}x",
                note=f"{top['piko']['events']} events x 1000 clients; server CPU per event "
                     f"{top['piko']['server_cpu_ms_per_event']:.1f} ms (baseline "
                     f"{top['baseline']['server_cpu_ms_per_event']:.1f} ms); piko at 1 client: "
                     f"{tp_clients[1]['piko']['rate']:,.0f} events/s"))
    path = plot(scale, RESULTS / "bench-scale.png")
    ctx.data["plot"] = str(path)
    print(f"[scale] plot: {path}", flush=True)


def plot(scale: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.2), dpi=110)
    (a, b), (c, d) = axes

    def series(data: dict, side: str, key: str) -> tuple[list, list]:
        xs = sorted(k for k in data if side in data[k])
        return xs, [data[x][side][key] for x in xs]

    lc = scale["latency_clients"]
    for side, colour in (("piko", "tab:blue"), ("baseline", "tab:gray")):
        for key, style in (("p50", "o-"), ("p99", "s--")):
            xs, ys = series(lc, side, key)
            a.plot(xs, ys, style, color=colour, label=f"{side} {key}")
    a.axhline(10, color="tab:red", lw=0.8, ls=":", label="goal: p99 < 10 ms @100")
    a.set(xscale="log", yscale="log", xlabel="WebSocket clients (10 pending)", ylabel="ms",
          title="notify -> every client: latency vs clients")
    a.legend(fontsize=7)

    lp = scale["latency_pending"]
    for key, style in (("p50", "o-"), ("p99", "s--")):
        xs, ys = series(lp, "piko", key)
        b.plot(xs, ys, style, color="tab:blue", label=f"piko {key}")
    base10 = lc.get(10, {}).get("baseline")
    if base10:
        b.axhline(base10["p99"], color="tab:gray", ls="--", lw=1, label="baseline p99 (10 clients)")
    b.axhline(10, color="tab:red", lw=0.8, ls=":", label="10 ms")
    b.set(xscale="log", yscale="log", xlabel="pending requests (10 clients)", ylabel="ms",
          title="notify -> every client: latency vs pending")
    b.legend(fontsize=7)

    tc = scale["throughput_clients"]
    for side, colour, unit in (("piko", "tab:blue", "events/s"), ("baseline", "tab:gray", "msgs/s")):
        xs, ys = series(tc, side, "rate")
        c.plot(xs, ys, "o-", color=colour, label=f"{side} ({unit})")
    c.axhline(1000, color="tab:red", lw=0.8, ls=":", label="goal: 1,000/s @10")
    c.set(xscale="log", yscale="log", xlabel="WebSocket clients (10 pending)", ylabel="per second, none lost",
          title="throughput vs clients")
    c.legend(fontsize=7)

    tp = scale["throughput_pending"]
    xs, ys = series(tp, "piko", "rate")
    d.plot(xs, ys, "o-", color="tab:blue", label="piko (events/s)")
    d.axhline(1000, color="tab:red", lw=0.8, ls=":", label="goal: 1,000/s")
    d.set_ylim(0, max(ys + [1000]) * 1.15)
    d.set(xscale="log", xlabel="pending requests (10 clients)", ylabel="events/s, none lost",
          title="throughput vs pending")
    d.legend(fontsize=7)

    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda v, _: f"{v:,.10g}")
    for ax in axes.flat:
        ax.grid(True, which="both", lw=0.3, alpha=0.6)
        ax.set_xticks([1, 10, 100, 1000] if ax in (a, c) else list(PENDING))
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(plain)
            axis.set_minor_formatter(NullFormatter())
    fig.suptitle("Piko Orchestra scale (2 cores, loopback, same-run baseline)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
