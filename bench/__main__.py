"""`.venv/bin/python -m bench`: run every benchmark, print the table, write bench/results/latest.md.

  --quick            a short run (fewer samples, smaller loads; about two minutes)
  --only NAME[,...]  only these: hook, ws, respond, throughput, memory, claude, scale, watcher, fleet
  --update-docs      also put the table into docs/benchmarks.md and the plot into docs/bench-scale.png

Every figure has a baseline measured in the same run; docs/benchmarks.md says what each one is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS, ROOT, Context, Row, raise_fd_limit

BENCHES = ("hook", "ws", "respond", "throughput", "memory", "claude", "scale", "watcher", "fleet")
MODULES = {"hook": "hook_cost", "ws": "ws_latency", "respond": "respond_pane", "throughput": "throughput",
           "memory": "memory", "claude": "claude_dialog", "scale": "scale",
           "watcher": "watcher", "fleet": "fleet"}
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    except ImportError:
        mem = ""
    return (f"{os.cpu_count()} cores ({cpu}), {mem}, Linux {platform.release()}, "
            f"Python {platform.python_version()}").replace(" , ", " ")


def versions() -> str:
    import importlib.metadata as md

    names = ("uvicorn", "starlette", "websockets", "uvloop", "httptools")
    out = []
    for n in names:
        try:
            out.append(f"{n} {md.version(n)}")
        except md.PackageNotFoundError:
            pass
    try:
        import subprocess

        out.append(subprocess.run(["tmux", "-V"], capture_output=True, text=True, timeout=5).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return ", ".join(out)


def table(rows: list[Row]) -> list[list[str]]:
    head = ["benchmark", "figure", "baseline (same run)", "ratio", "goal", "result"]
    return [head] + [[r.bench, r.figure, r.baseline, r.ratio, r.goal, r.status] for r in rows]


def text_table(rows: list[Row]) -> str:
    cells = table(rows)
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(ctx: Context, started: datetime, seconds: float, mode: str) -> str:
    cells = table(ctx.rows)
    out = [f"Run: {started.strftime('%Y-%m-%d %H:%M UTC')}, {mode}, {seconds / 60:.1f} min. "
           f"Machine: {machine()}.  ",
           f"Server stack: {versions()}.",
           "",
           "| " + " | ".join(cells[0]) + " |",
           "|" + "---|" * len(cells[0])]
    for row in cells[1:]:
        out.append("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
    details = [f"- **{r.bench}**: {r.note}" for r in ctx.rows if r.note]
    if details:
        out += ["", "Details:", "", *details]
    if ctx.notes:
        out += ["", "Notes:", "", *[f"- {n}" for n in ctx.notes]]
    return "\n".join(out) + "\n"


def update_docs(md: str, plot: str | None) -> None:
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{md}{END}{tail}")
    if plot and Path(plot).exists():
        shutil.copyfile(plot, ROOT / "docs" / "bench-scale.png")
    print(f"updated {DOC.relative_to(ROOT)}" + (" and docs/bench-scale.png" if plot else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about two minutes)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help=f"run only these (comma-separated or repeated): {', '.join(BENCHES)}")
    parser.add_argument("--update-docs", action="store_true",
                        help="write the table into docs/benchmarks.md and the plot into docs/")
    args = parser.parse_args(argv)
    only = [n.strip() for part in args.only for n in part.split(",") if n.strip()]
    unknown = [n for n in only if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    chosen = [b for b in BENCHES if not only or b in only]

    raise_fd_limit(8192)
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="piko-bench-"))
    ctx = Context(quick=args.quick, tmp=tmp)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    mode = "quick" if args.quick else "full"
    print(f"piko benchmarks ({mode}): {', '.join(chosen)}", flush=True)
    try:
        for name in chosen:
            print(f"== {name}", flush=True)
            began = time.monotonic()
            try:
                module = __import__(f"bench.{MODULES[name]}", fromlist=["bench"])
                module.bench(ctx)
            except KeyboardInterrupt:
                raise
            except Exception as e:  # noqa: BLE001 - one broken benchmark must not lose the others
                traceback.print_exc()
                ctx.add(Row(f"{name}", "error", status="miss", note=f"{type(e).__name__}: {e}"))
            print(f"   ({time.monotonic() - began:.0f} s)", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - t0

    print()
    print(text_table(ctx.rows))
    md = markdown(ctx, started, seconds, mode)
    (RESULTS / "latest.md").write_text(md)
    (RESULTS / "latest.json").write_text(json.dumps(
        {"started": started.isoformat(), "mode": mode, "seconds": seconds, "benchmarks": chosen,
         "rows": [r.__dict__ for r in ctx.rows], "notes": ctx.notes, "data": ctx.data},
        indent=1, default=str))
    print(f"\n{seconds / 60:.1f} min; wrote {(RESULTS / 'latest.md').relative_to(ROOT)}", flush=True)
    if args.update_docs:
        update_docs(md, ctx.data.get("plot"))
    missed = [r for r in ctx.rows if r.status == "miss"]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
