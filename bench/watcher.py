"""8. Watcher: the CPU the pane watcher costs with 50 requests waiting on 50 real tmux panes.

One tmux server on a private socket runs 50 panes, each showing a captured Claude Code permission dialog
(tests/support/fake_dialog.py). A real `piko server` runs beside it. CPU is read with psutil from the piko
server (its own time plus its reaped children: every `tmux` client it forks) and from the tmux server
process, over a window of N seconds, in these phases of one run:
- idle: no request pending (the same-run baseline);
- old watcher: no request pending in piko; instead a process of its own runs the watcher as it was (one
  `tmux capture-pane` per pending pane every 0.4 s, at most 8 at once, each screen parsed) for the 50
  panes; its CPU and its children's are added;
- piko: 50 PermissionRequest events, one per pane, pending in piko (after a warm-up: the first look reads
  every screen once);
- idle, 5 changing, and piko, 5 changing: the same, while 5 of the 50 panes get a line of output every
  0.2 s (written to the pane's tty, the dialog stays): the cost grows with the panes that change.
After the piko phases every request must still be pending: the watcher resolved none of the dialogs on
screen.
Then, alone, the two ways of noticing which panes changed: one `tmux -C` control-mode client (its
%output lines), and `list-panes -a` forked 2.5 times a second, on 50 quiet panes and with 5 changing.

`python -m bench.watcher old SOCKET PANE...` is the old watcher's loop (the bench's baseline only).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

from bench.common import ROOT, Context, Row, cleanup, fixture, ratio, start_piko, temp_dir

PANES = 50
CHANGING = 5
SCREEN = ROOT / "tests" / "fixtures" / "screens" / "screen-permission-bash.txt"
GOAL = 0.05  # of a core, for 50 pending


def _cpu(procs: list) -> float:
    total = 0.0
    for p in procs:
        t = p.cpu_times()
        total += t.user + t.system + t.children_user + t.children_system
    return total


def _measure(procs: list, seconds: float) -> float:
    """Cores used by `procs` (and their reaped children) over `seconds`."""
    before, t0 = _cpu(procs), time.monotonic()
    time.sleep(seconds)
    return (_cpu(procs) - before) / (time.monotonic() - t0)


def _scribbler(ttys: list[str], stop: threading.Event) -> None:
    n = 0
    while not stop.wait(0.2):
        n += 1
        for tty in ttys:
            with open(tty, "w") as f:
                f.write(f"\x1b7\x1b[1;1Hother output {n}\x1b8")


def _while_changing(ttys: list[str], procs: list, seconds: float) -> float:
    stop = threading.Event()
    writer = threading.Thread(target=_scribbler, args=(ttys, stop), daemon=True)
    writer.start()
    try:
        time.sleep(1.0)
        return _measure(procs, seconds)
    finally:
        stop.set()
        writer.join(5)


def bench(ctx: Context) -> None:
    import httpx
    import psutil

    from tests.support.tmux import TmuxServer

    seconds = 5.0 if ctx.quick else 15.0
    home = temp_dir(ctx, "piko-home")
    server = start_piko(home)
    tmux = TmuxServer()
    old: subprocess.Popen | None = None
    try:
        panes = [tmux.dialog_pane(SCREEN) for _ in range(PANES)]
        socket = tmux.socket_path
        tmux_proc = psutil.Process(int(tmux.cmd("display-message", "-p", "#{pid}")))
        assert server.proc is not None
        piko_proc = psutil.Process(server.proc.pid)
        watched = [piko_proc, tmux_proc]
        time.sleep(1.0)

        idle = _measure(watched, seconds)
        ttys = [tmux.cmd("display-message", "-p", "-t", p, "#{pane_tty}").strip() for p in panes[:CHANGING]]
        idle_changing = _while_changing(ttys, watched, seconds)

        old = subprocess.Popen([sys.executable, "-m", "bench.watcher", "old", socket, *panes], cwd=ROOT)
        time.sleep(1.0)
        before = _measure([*watched, psutil.Process(old.pid)], seconds)
        old.terminate()
        old.wait(10)
        old = None

        event = fixture("PermissionRequest-Bash")
        ids = []
        for n, pane in enumerate(panes):
            body = {**event, "session_id": f"bench-watcher-{n}", "tmux_target": pane, "tmux_socket": socket,
                    "tmux_session": "bench"}
            r = httpx.post(server.url + "/api/orchestra/notify", json=body, headers=server.auth, timeout=10)
            assert r.status_code == 200, r.text
            ids.append(r.json()["id"])
        time.sleep(2.0)
        now = _measure(watched, seconds)

        changing = _while_changing(ttys, watched, seconds)

        pending = {r["id"] for r in server.pending()}
        kept = sum(id in pending for id in ids)
    finally:
        if old is not None:
            old.kill()
            old.wait()
        server.stop()
        tmux.kill()
        cleanup(home)

    ctx.data["watcher_cores"] = {"idle": idle, "idle_changing": idle_changing, "old": before, "piko": now,
                                 "piko_changing": changing, "seconds": seconds, "panes": PANES, "changing": CHANGING}
    ok = now < GOAL and kept == PANES
    ctx.add(Row(f"8. watcher, {PANES} pending on {PANES} panes", f"{now:.3f} core",
                f"{idle:.3f} core (idle, none pending)", ratio(now, idle), f"< {GOAL} core",
                "pass" if ok else "miss",
                note=f"old watcher (a capture-pane per pane every 0.4 s): {before:.3f} core, "
                     f"{ratio(before, now)} piko's; {seconds:.0f} s windows; piko server + its tmux "
                     f"clients + the tmux server; {kept}/{PANES} still pending after"))
    ctx.add(Row(f"8. watcher, {PANES} pending, {CHANGING} panes changing", f"{changing:.3f} core",
                f"{idle_changing:.3f} core (none pending, {CHANGING} changing)", ratio(changing, idle_changing),
                "-", "info",
                note=f"{CHANGING} panes get a line of output every 0.2 s (written by the bench to their tty); "
                     f"above its baseline: {changing - idle_changing:.3f} core, against {now - idle:.3f} core "
                     "with none changing"))
    _alternatives(ctx, seconds)


def _alternatives(ctx: Context, seconds: float) -> None:
    """How a pane's change can be noticed, alone: one `tmux -C` control-mode client reading %output, or
    `list-panes -a` forked 2.5 times a second (from this small process). Control mode needs a session to
    attach to and only reports that session's panes, so here the 50 panes are windows of one session."""
    import psutil

    from tests.support.tmux import FAKE_DIALOG, TmuxServer

    tmux = TmuxServer()
    try:
        dialog = [sys.executable, str(FAKE_DIALOG), str(SCREEN)]
        panes = [tmux.new_session(dialog, name="agents")]
        panes += [tmux.cmd("new-window", "-d", "-P", "-F", "#{pane_id}", "-t", "agents", *dialog).strip()
                  for _ in range(PANES - 1)]
        time.sleep(1.0)
        server = psutil.Process(int(tmux.cmd("display-message", "-p", "#{pid}")))
        me = psutil.Process()
        control = subprocess.Popen(["tmux", "-L", tmux.name, "-C", "attach", "-t", "agents"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        changed: set[bytes] = set()

        def read() -> None:
            assert control.stdout
            for line in control.stdout:
                if line.startswith(b"%output "):
                    changed.add(line.split(b" ", 2)[1])

        threading.Thread(target=read, daemon=True).start()
        time.sleep(1.0)
        ttys = [tmux.cmd("display-message", "-p", "-t", p, "#{pane_tty}").strip() for p in panes[:CHANGING]]
        control_quiet = _measure([server, psutil.Process(control.pid), me], seconds)
        control_changing = _while_changing(ttys, [server, psutil.Process(control.pid), me], seconds)
        control.kill()
        control.wait()
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(0.4):
                subprocess.run(["tmux", "-L", tmux.name, "list-panes", "-a", "-F", "#{pane_id} #{window_activity}"],
                               capture_output=True, timeout=5)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        time.sleep(1.0)
        poll_quiet = _measure([server, me], seconds)
        poll_changing = _while_changing(ttys, [server, me], seconds)
        stop.set()
        poller.join(5)
    finally:
        tmux.kill()
    ctx.data["watcher_alternatives"] = {"control_quiet": control_quiet, "control_changing": control_changing,
                                        "poll_quiet": poll_quiet, "poll_changing": poll_changing}
    ctx.add(Row("8. noticing changes: list-panes poll", f"{poll_quiet:.4f} core",
                f"{control_quiet:.4f} core (tmux -C client)", "-", "-", "info",
                note=f"{PANES} quiet panes, no screen reads; with {CHANGING} changing: {poll_changing:.4f} core "
                     f"polled vs {control_changing:.4f} core with control mode ({len(changed)} panes reported)"))


# ---- the old watcher, for the baseline -------------------------------------------------------------

async def _old_watcher(socket: str, panes: list[str], interval: float = 0.4, parallel: int = 8) -> None:
    from piko import claude_screen, tmux

    limit = asyncio.Semaphore(parallel)

    async def look(pane: str) -> None:
        async with limit:
            claude_screen.screen_options(await tmux.capture(socket, pane, join=True))

    while True:
        await asyncio.gather(*(look(p) for p in panes))
        await asyncio.sleep(interval)


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[1] == "old":
    if str(ROOT / "src") not in sys.path:
        sys.path.insert(0, str(ROOT / "src"))
    try:
        asyncio.run(_old_watcher(sys.argv[2], sys.argv[3:]))
    except KeyboardInterrupt:
        pass
