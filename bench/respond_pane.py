"""3. Answer to pane: from `POST /respond` to the text appearing in the tmux pane.

A tmux server on a private socket runs one echo pane (tests/support/echo_lines.py: prints every line it
reads as GOT:<repr>). piko holds one idle request targeting that pane. A sample, alternating:
- piko: stamp; in a thread POST /api/orchestra/respond {"response": "<unique text>"} (keep-alive
  connection); meanwhile poll `tmux capture-pane` until GOT:'<text>' is on the screen; stamp.
  Then a new idle request for the next sample (not timed).
- baseline: stamp; in a thread run what piko runs, directly: `tmux send-keys -t <pane> -l -- <text>`,
  sleep ENTER_PAUSE (src/piko/tmux.py), `tmux send-keys -t <pane> Enter`; meanwhile the same polling; stamp.
Polling runs `tmux capture-pane` back to back (a sleep of ~2 ms between): the same cost on both sides.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time

from bench.common import Context, Row, cleanup, fixture, fmt_ms, median, pct, ratio, start_piko, temp_dir

POLL = 0.002
TIMEOUT = 5.0


def _wait_for(tmux, pane: str, needle: str, started: int) -> float:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        screen = subprocess.run(["tmux", "-L", tmux.name, "capture-pane", "-p", "-J", "-t", pane],
                                capture_output=True, text=True, timeout=5).stdout
        if needle in screen:
            return (time.perf_counter_ns() - started) / 1e6
        time.sleep(POLL)
    raise TimeoutError(f"{needle!r} did not appear in the pane within {TIMEOUT}s")


def bench(ctx: Context) -> None:
    from piko.tmux import ENTER_PAUSE
    from tests.support.tmux import TmuxServer

    runs = 8 if ctx.quick else 25
    home = temp_dir(ctx, "piko-home")
    server = start_piko(home)
    tmux = TmuxServer()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {**server.auth, "Content-Type": "application/json"}
    times: dict[str, list[float]] = {"piko": [], "direct": []}
    errors: list[str] = []
    try:
        pane = tmux.echo_pane()
        socket = tmux.socket_path
        idle = fixture("Notification-idle_prompt")

        def new_request(i: int) -> str:
            event = {**idle, "session_id": f"bench-respond-{i}", "tmux_target": pane, "tmux_socket": socket}
            conn.request("POST", "/api/orchestra/notify", json.dumps(event), headers)
            r = conn.getresponse()
            data = json.loads(r.read())
            assert r.status == 200 and data["action"] == "created", data
            return data["id"]

        def piko_answer(id: str, text: str) -> None:
            conn.request("POST", "/api/orchestra/respond", json.dumps({"notification_id": id, "response": text}),
                         headers)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                errors.append(f"respond answered {r.status}: {body[:200]!r}")

        def direct(text: str) -> None:
            cmd = ["tmux", "-S", socket]
            subprocess.run([*cmd, "send-keys", "-t", pane, "-l", "--", text], check=True, timeout=5)
            time.sleep(ENTER_PAUSE)
            subprocess.run([*cmd, "send-keys", "-t", pane, "Enter"], check=True, timeout=5)

        def sample(name: str, i: int) -> None:
            text = f"bench-{name}-{i:04d}"
            id = new_request(i) if name == "piko" else ""
            time.sleep(0.05)
            started = time.perf_counter_ns()
            worker = threading.Thread(target=piko_answer if name == "piko" else direct,
                                      args=(id, text) if name == "piko" else (text,))
            worker.start()
            elapsed = _wait_for(tmux, pane, f"GOT:'{text}'", started)
            worker.join(10)
            if i > 0:  # the first of each is a warm-up
                times[name].append(elapsed)
            subprocess.run(["tmux", "-L", tmux.name, "clear-history", "-t", pane], timeout=5)

        for i in range(runs + 1):
            sample("piko", i)
            sample("direct", i)
    finally:
        conn.close()
        server.stop()
        tmux.kill()
        cleanup(home)

    p, d = median(times["piko"]), median(times["direct"])
    ctx.data["respond_ms"] = {"piko": times["piko"], "direct": times["direct"]}
    ctx.add(Row("3. respond->pane", fmt_ms(p), f"{fmt_ms(d)} (tmux direct, incl. {ENTER_PAUSE * 1000:.0f} ms pause)",
                ratio(p, d), "<= 1.5x", "pass" if p <= 1.5 * d and not errors else "miss",
                note=f"median of {runs}; p90 {fmt_ms(pct(times['piko'], 90))} vs {fmt_ms(pct(times['direct'], 90))}"))
    if errors:
        ctx.note("respond->pane: " + "; ".join(errors[:3]))
