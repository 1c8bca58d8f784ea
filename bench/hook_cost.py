"""1. Hook cost: wall time of the hook command `piko cc init` writes, on a real payload, against the bare
interpreter of the same virtualenv, for every documented way to install piko (bench/installs.py).

Every run is timed from posix_spawn to exit with the payload file as stdin and stdout/stderr to /dev/null,
the commands in turn (A B C D A B C D ...), 60 rounds (15 with --quick). Figures are medians; a ratio is
the median over the rounds of each run against its round's baseline run. Each install's baseline is
`<venv>/bin/python -c pass` (the very interpreter its hook runs on; `python3` on PATH may be a pyenv shim,
~100 ms). The hook environment has PYTHONDONTWRITEBYTECODE=1, as Claude Code's has on these machines.
A hook command is run as the shell would exec it (its words, shlex-split): the `sh -c` around it is the
same for every form.

Per install kind, two phases, each with its own baseline runs:
- before: the install as its installer left it, its console script `<venv>/bin/piko cc notify` (the
  command `piko cc init` wrote until now);
- after: `piko cc init` run with that install (it also caches bytecode), and the command it wrote.
For the project's .venv (scripts/setup), also, with the written command (one warm-up run of each first):
- server up: posting a real Stop event to a running server on its Unix socket in $PIKO_HOME;
- server down: a fresh PIKO_HOME, where no server listens (it spools);
- over TCP (info): PIKO_URL set: the server proves it holds the token first;
- in tmux (info): $TMUX and $TMUX_PANE set, as under Claude Code in tmux (the hook asks tmux nothing then:
  the server names the pane's session itself).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

from bench import installs
from bench.common import FIXTURES, Context, Row, cleanup, fmt_ms, median, ratio, start_piko, temp_dir


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

    runs = 15 if ctx.quick else 60
    payload = FIXTURES / "Stop.json"
    built, problems = installs.build(temp_dir(ctx, "installs"))
    for problem in problems:
        ctx.note(problem)
    base_env = {**{k: v for k, v in os.environ.items()
                   if not k.startswith("PIKO_") and k not in ("TMUX", "TMUX_PANE")}, "PYTHONDONTWRITEBYTECODE": "1"}
    home = temp_dir(ctx, "piko-home")
    spool_home = temp_dir(ctx, "piko-spool-home")
    server = start_piko(home)
    tmux = TmuxServer()
    try:
        up_env = {**base_env, "PIKO_HOME": str(home)}
        before = _measure({f"{i.kind}|{name}": (argv, up_env) for i in built for name, argv in (
            ("baseline", [str(i.python), "-c", "pass"]), ("hook", [str(i.script), "cc", "notify"]))}, payload, runs)
        written = {i.kind: shlex.split(init_command(i, temp_dir(ctx, "project"))) for i in built}
        after = _measure({f"{i.kind}|{name}": (argv, up_env) for i in built for name, argv in (
            ("baseline", [str(i.python), "-c", "pass"]), ("hook", written[i.kind]))}, payload, runs)

        pane = tmux.echo_pane()
        hook = written[built[0].kind]
        times = _measure({
            "baseline": ([str(built[0].python), "-c", "pass"], base_env),
            "up": (hook, up_env),
            "down": (hook, {**base_env, "PIKO_HOME": str(spool_home)}),
            "tcp": (hook, {**up_env, "PIKO_URL": server.url}),
            "tmux": (hook, {**up_env, "TMUX": f"{tmux.socket_path},0,0", "TMUX_PANE": pane}),
        }, payload, runs)
        spooled = len(list((spool_home / "spool").glob("*.json"))) if (spool_home / "spool").is_dir() else 0
        log = home / "notify.log"
        logged = log.read_text() if log.exists() else ""
    finally:
        server.stop()
        tmux.kill()
        cleanup(home)
        cleanup(spool_home)

    ctx.data["hook_ms"] = {name: median(v) for name, v in times.items()}
    ctx.data["hook_installs_ms"] = {"before": {k: median(v) for k, v in before.items()},
                                    "after": {k: median(v) for k, v in after.items()},
                                    "commands": {k: shlex.join(v) for k, v in written.items()}}
    for name, label, goal in (("up", "server up", True), ("down", "server down (spools)", True),
                              ("tcp", "server up, over TCP", False), ("tmux", "server up, in tmux", False)):
        _row(ctx, f"1. hook cost, {label}", times[name], times["baseline"], goal)
    for i in built:
        _row(ctx, f"1. hook cost, {i.kind}: console script (before)", before[f"{i.kind}|hook"],
             before[f"{i.kind}|baseline"], False)
        _row(ctx, f"1. hook cost, {i.kind}: cc init's command", after[f"{i.kind}|hook"],
             after[f"{i.kind}|baseline"], True)
    if spooled < runs:
        ctx.note(f"hook cost: only {spooled} of {runs + 1} server-down runs spooled their event")
    if logged.strip():
        ctx.note(f"hook cost: notify.log with the server up says: {logged.strip()[:300]}")


def init_command(install: installs.Install, project: Path) -> str:
    """Run that install's `piko cc init` in an empty project; the Stop hook's command it wrote."""
    (project / ".git").mkdir()
    subprocess.run([str(install.script), "cc", "init"], cwd=project, check=True, capture_output=True, timeout=120)
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    return str(settings["hooks"]["Stop"][0]["hooks"][0]["command"])


def _measure(commands: dict[str, tuple[list[str], dict[str, str]]], payload: Path, runs: int) -> dict[str, list[float]]:
    """One untimed run of each command (the page cache), then `runs` rounds of all of them in turn."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv, env in commands.values():
        _time(argv, env, payload)
    for _ in range(runs):
        for name, (argv, env) in commands.items():
            times[name].append(_time(argv, env, payload))
    return times


def _row(ctx: Context, label: str, values: list[float], base: list[float], goal: bool) -> None:
    """The ratio is the median of the rounds' ratios (each run against the baseline run of its round): on
    a loaded machine a burst hits both runs of a round, and the pairing keeps it out of the ratio."""
    value, ordered, n = median(values), sorted(values), len(values)
    paired = median([v / b for v, b in zip(values, base, strict=True)])
    ok = paired <= 1.3
    ctx.add(Row(label, fmt_ms(value), f"{fmt_ms(median(base))} (python -c pass)", f"{paired:.2f}x",
                "<= 1.3x" if goal else "-", ("pass" if ok else "miss") if goal else "info",
                note=f"median of {n}; p10-p90 {fmt_ms(ordered[n // 10])}-{fmt_ms(ordered[n * 9 // 10])}; "
                     f"ratio of the medians {ratio(value, median(base))}"))
