"""9. Fleet: the server keeps up with 20 agents each making 10 tool calls a second.

piko: 20 simulated Claude sessions, one keep-alive connection each, post a PostToolUse (the last call ends)
and a PreToolUse (the next begins) every 100 ms: 400 hook events a second, for SECONDS, to a real server,
with one WebSocket client. Each PreToolUse carries its send time in its command, so a `session` message
that shows it gives the latency from the event's POST to the client seeing it (coalesced messages show the
newest call; older ones are not counted). Figures: events accepted per second, session messages
delivered, latency p50/p95, server CPU (user + system, psutil) as a share of one core, POST p95.
Baseline (same run, another fresh server): the same load of the same events without a session id, which
the fleet ignores (so does the rest of the server): what parsing and answering the events costs alone.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bench.common import Context, Fleet, Http, Row, cleanup, kind_of, ms, ns, pct, run, start_piko, temp_dir

NOTIFY = "/api/orchestra/notify"
SESSIONS = 20
CALLS_PER_SECOND = 10
PREFIX = "bench-sleep "


def _event(name: str, session: str | None, command: str) -> bytes:
    event: dict[str, Any] = {"hook_event_name": name, "tool_name": "Bash", "cwd": "/tmp",
                             "tool_input": {"command": command}, "tool_use_id": "toolu_bench"}
    if session is not None:
        event["session_id"] = session
    return json.dumps(event).encode()


def _cpu(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


async def _load(server: Any, seconds: float, with_sessions: bool) -> dict[str, Any]:
    clients = Fleet(server.ws_url, server.auth)
    await clients.connect(1)
    sent: dict[str, int] = {}  # command -> its PreToolUse's send time
    latencies: list[float] = []
    messages = [0]

    def on_message(index: int, t: int, text: str) -> None:
        if kind_of(text) != "session":
            return
        messages[0] += 1
        summary = json.loads(text)["session"].get("tool_summary")
        if summary in sent:
            latencies.append(ms(t - sent.pop(summary)))

    clients.on_message = on_message
    conns = [await Http(server.port, server.token).open() for _ in range(SESSIONS)]
    posts: list[float] = []
    errors: list[str] = []
    cpu0 = _cpu(server.proc.pid)
    t0 = ns()
    period = 1e9 / CALLS_PER_SECOND

    async def agent(n: int, http: Http) -> None:
        session = f"bench-fleet-{n:02d}" if with_sessions else None
        call = 0
        while (due := t0 + call * period + n * period / SESSIONS) < t0 + seconds * 1e9:
            await asyncio.sleep(max(0.0, (due - ns()) / 1e9))
            previous = f"{PREFIX}{n}-{call - 1}"
            command = f"{PREFIX}{n}-{call}"
            for name, text in (("PostToolUse", previous), ("PreToolUse", command)):
                began = ns()
                if name == "PreToolUse" and with_sessions:
                    sent[command] = began
                status, answer = await http.post(NOTIFY, _event(name, session, text))
                posts.append(ms(ns() - began))
                if status != 200:
                    errors.append(f"{status} {answer[:120]!r}")
            call += 1

    await asyncio.gather(*(agent(n, c) for n, c in enumerate(conns)))
    elapsed = (ns() - t0) / 1e9
    await asyncio.sleep(0.5)  # the last coalesced messages
    cpu = _cpu(server.proc.pid) - cpu0
    for c in conns:
        await c.close()
    await clients.close()
    return {"events": len(posts), "rate": len(posts) / elapsed, "messages": messages[0],
            "messages_per_s": messages[0] / elapsed, "latency_p50": pct(latencies, 50) if latencies else 0.0,
            "latency_p95": pct(latencies, 95) if latencies else 0.0, "samples": len(latencies),
            "cpu_share": cpu / elapsed, "post_p95": pct(posts, 95), "errors": errors[:3], "n_errors": len(errors)}


def fleet_point(ctx: Context, seconds: float) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, with_sessions in (("piko", True), ("baseline", False)):
        home = temp_dir(ctx, f"piko-home-fleet-{name}")
        server = start_piko(home)
        try:
            out[name] = run(_load(server, seconds, with_sessions))
        finally:
            server.stop()
            cleanup(home)
    return out


def bench(ctx: Context) -> None:
    seconds = 5.0 if ctx.quick else 15.0
    print(f"[fleet] {SESSIONS} sessions x {CALLS_PER_SECOND} tool calls/s for {seconds:.0f} s", flush=True)
    point = fleet_point(ctx, seconds)
    ctx.data["fleet"] = point
    p, b = point["piko"], point["baseline"]
    offered = SESSIONS * CALLS_PER_SECOND * 2
    ok = p["rate"] >= 0.95 * offered and p["n_errors"] == 0 and p["latency_p95"] <= 250 and p["cpu_share"] < 1.0
    ctx.add(Row("9. fleet, 20 agents x 10 tool calls/s",
                f"{p['rate']:,.0f} events/s; {p['messages_per_s']:,.0f} session msgs/s; "
                f"event->client p95 {p['latency_p95']:.0f} ms; CPU {p['cpu_share']:.0%}",
                f"{b['rate']:,.0f} events/s; CPU {b['cpu_share']:.0%}",
                f"CPU {p['cpu_share'] / b['cpu_share']:.2f}x" if b["cpu_share"] else "-",
                f">= {0.95 * offered:.0f} events/s, p95 <= 250 ms, CPU < 1 core", "pass" if ok else "miss",
                note=f"{p['events']} events over {seconds:.0f} s; latency p50 {p['latency_p50']:.0f} ms "
                     f"({p['samples']} samples); POST p95 {p['post_p95']:.1f} ms (baseline {b['post_p95']:.1f} ms)"
                     + (f"; errors: {p['errors']}" if p["n_errors"] else "")))
