"""1. Hook cost: wall time of `piko cc notify` on a real payload, against the bare interpreter.

Commands, run N times each in turn (A B C D A B C D ...), every run timed from posix_spawn to exit with
the payload file as stdin and stdout/stderr to /dev/null; medians compared:
- baseline: `<python> -c pass`, where <python> is the very interpreter the hook runs on (.venv/bin/python).
  (`python3` on PATH may be a pyenv shim, a shell script that takes ~100 ms: not a fair baseline.)
- server up: `.venv/bin/piko cc notify` posting a real Stop event to a running server, on its Unix socket
  in $PIKO_HOME (the hook's usual way);
- server down: the same with a fresh PIKO_HOME, where no server listens (it spools);
- over TCP (info): server up, with PIKO_URL set: the server proves it holds the token first (one more
  round trip on the same connection, and hmac to load);
- in tmux (info): server up, run as Claude Code runs it inside tmux ($TMUX, $TMUX_PANE set); the hook
  asks tmux nothing then (the server names the pane's session itself).
One untimed warm-up run of each first, with bytecode writing allowed: the figures are for cached bytecode.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.common import (
    FIXTURES,
    Context,
    Row,
    cleanup,
    fmt_ms,
    median,
    piko_bin,
    ratio,
    start_piko,
    temp_dir,
    venv_python,
)


def _time(argv: list[str], env: dict[str, str], payload: Path) -> float:
    """Spawn, wait, return the wall time in ms. posix_spawn with stdin from the payload file: no pipe and
    no helper thread in this process, so the spawner adds as little as possible to both sides."""
    started = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_OPEN, 0, str(payload), os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ])
    os.waitpid(pid, 0)
    return (time.perf_counter_ns() - started) / 1e6


def bench(ctx: Context) -> None:
    from tests.support.tmux import TmuxServer

    runs = 12 if ctx.quick else 40
    payload = FIXTURES / "Stop.json"
    # Without PYTHONDONTWRITEBYTECODE, so the warm-up run leaves piko's bytecode cached, as after the first
    # run of any install: with it set (and an editable install) every run would compile the hook again.
    base_env = {k: v for k, v in os.environ.items()
                if not k.startswith("PIKO_") and k not in ("TMUX", "TMUX_PANE", "PYTHONDONTWRITEBYTECODE")}
    home = temp_dir(ctx, "piko-home")
    spool_home = temp_dir(ctx, "piko-spool-home")
    server = start_piko(home)
    tmux = TmuxServer()
    try:
        pane = tmux.echo_pane()
        up_env = {**base_env, "PIKO_HOME": str(home)}
        down_env = {**base_env, "PIKO_HOME": str(spool_home)}
        tcp_env = {**up_env, "PIKO_URL": server.url}
        tmux_env = {**up_env, "TMUX": f"{tmux.socket_path},0,0", "TMUX_PANE": pane}
        piko = [piko_bin(), "cc", "notify"]
        commands = {
            "baseline": ([venv_python(), "-c", "pass"], base_env),
            "up": (piko, up_env),
            "down": (piko, down_env),
            "tcp": (piko, tcp_env),
            "tmux": (piko, tmux_env),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for argv, env in commands.values():  # warm the page cache
            _time(argv, env, payload)
        for _ in range(runs):
            for name, (argv, env) in commands.items():
                times[name].append(_time(argv, env, payload))
        spooled = len([p for p in (spool_home / "spool").glob("*.json")]) if (spool_home / "spool").is_dir() else 0
        log = (home / "notify.log")
        problems = log.read_text() if log.exists() else ""
    finally:
        server.stop()
        tmux.kill()
        cleanup(home)
        cleanup(spool_home)

    base = median(times["baseline"])
    ctx.data["hook_ms"] = {name: median(v) for name, v in times.items()}
    for name, label, goal in (("up", "server up", True), ("down", "server down (spools)", True),
                              ("tcp", "server up, over TCP", False), ("tmux", "server up, in tmux", False)):
        value = median(times[name])
        ok = value <= 1.3 * base
        ctx.add(Row(f"1. hook cost, {label}", fmt_ms(value), f"{fmt_ms(base)} (python -c pass)",
                    ratio(value, base), "<= 1.3x" if goal else "-",
                    ("pass" if ok else "miss") if goal else "info",
                    note=f"median of {runs}; p10-p90 {fmt_ms(sorted(times[name])[runs // 10])}"
                         f"-{fmt_ms(sorted(times[name])[runs * 9 // 10])}"))
    if spooled < runs:
        ctx.note(f"hook cost: only {spooled} of {runs + 1} server-down runs spooled their event")
    if problems.strip():
        ctx.note(f"hook cost: notify.log with the server up says: {problems.strip()[:300]}")
