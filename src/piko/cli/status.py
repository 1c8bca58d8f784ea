"""`piko status`: every Claude Code session the server knows, as a table grouped by project and environment."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import datetime
from typing import Any, NoReturn

import click

from piko import claude
from piko.client import ApiError, Client, NotOurs, Unreachable, token_file

REFRESH = 1.0  # seconds between reads with --watch
STATE_COLORS = {"working": "green", "waiting": "yellow", "idle": "cyan", "ended": "bright_black"}
CLEAR = "\x1b[H\x1b[J"  # cursor home, erase below: the table is redrawn in place


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the sessions as JSON.")
@click.option("--watch", is_flag=True, help="Redraw the table every second, until Ctrl-C.")
@click.option("--all", "include_ended", is_flag=True, help="Include the sessions that have ended.")
def status(as_json: bool, watch: bool, include_ended: bool) -> None:
    """Show every Claude Code session: working, waiting on you, idle or ended.

    \b
    piko status            the sessions, grouped by project and environment
    piko status --watch    the same, redrawn every second (Ctrl-C to stop)
    piko status --json     as JSON ({"sessions": [...]}, as GET /api/orchestra/sessions)
    piko status --all      with the ended ones
    """
    if as_json and watch:
        raise click.UsageError("--json and --watch do not go together")
    try:
        client = Client(timeout=10.0)
    except ValueError as e:
        fail(f"$PIKO_URL is not usable: {e}")
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    if not watch:
        sessions = read(client, include_ended)
        if as_json:
            click.echo(json.dumps({"sessions": sessions}, ensure_ascii=False, indent=2))
        else:
            click.echo(table(sessions, color, time.time()), color=color)
        return
    try:
        while True:
            text = table(read(client, include_ended), color, time.time())
            click.echo((CLEAR if sys.stdout.isatty() else "\n") + text, color=color)
            time.sleep(REFRESH)
    except KeyboardInterrupt:
        return


def fail(message: str) -> NoReturn:
    click.echo(f"piko status: {message}", err=True)
    sys.exit(1)


def read(client: Client, include_ended: bool) -> list[dict[str, Any]]:
    path = "/api/orchestra/sessions" + ("?include=ended" if include_ended else "")
    try:
        sessions: list[dict[str, Any]] = client.call("GET", path)["sessions"]
    except NotOurs as e:
        fail(str(e))
    except Unreachable as e:
        fail(f"cannot reach the Orchestra server: {e}. Is `piko server` running?")
    except ApiError as e:
        if e.status == 401:
            fail(f"the server at {client.url} refused the token from {token_file()} ({e.message})")
        fail(f"the server answered {e.status}: {e.message}")
    return sessions


def _seconds(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def duration(since: str | None, now: float) -> str:
    """How long since `since`: 42s, 3m12s, 2h05m, 4d03h."""
    start = _seconds(since)
    if start is None:
        return "?"
    s = max(0, int(now - start))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def group_of(session: dict[str, Any]) -> str:
    project, env = session.get("project_name"), session.get("env_name")
    name = f"{project}/{env}" if project and env else (project or env or session.get("tmux_session")
                                                        or session.get("cwd") or "(no project)")
    branch = session.get("git_branch")
    return claude.reveal(name + (f"  [{branch}]" if branch else ""))


def doing(session: dict[str, Any]) -> str:
    """What the session is on: its tool while working, else its last prompt (or how it ended)."""
    if session["state"] == "ended":
        text = f"ended: {session.get('ended_via') or '?'}"
    elif session.get("tool_name"):
        text = f"{session['tool_name']}: {session.get('tool_summary') or ''}".rstrip(": ")
    elif session.get("last_prompt"):
        text = f"> {session['last_prompt']}"
    else:
        text = ""
    return claude.reveal(" ".join(text.split()))


def table(sessions: list[dict[str, Any]], color: bool, now: float) -> str:
    if not sessions:
        return "No Claude Code sessions."
    width = shutil.get_terminal_size((120, 24)).columns
    groups: dict[str, list[dict[str, Any]]] = {}
    for session in sessions:
        groups.setdefault(group_of(session), []).append(session)
    lines: list[str] = []
    for name in sorted(groups):
        lines.append(click.style(name, bold=True) if color else name)
        for s in sorted(groups[name], key=lambda s: s["since"]):
            state = s["state"] + (" (quiet)" if s.get("quiet") else "")
            cell = f"{state:<16}"
            if color:
                cell = click.style(cell, fg="magenta" if s.get("quiet") else STATE_COLORS.get(s["state"]))
            request = f"request {s['request_id']}  " if s.get("request_id") else ""
            head = f"  {s['session_id'][:8]}  "
            rest = f"{duration(s['since'], now):>7}  {request}{doing(s)}"
            room = max(10, width - len(head) - 16)
            lines.append(head + cell + (rest if len(rest) <= room else rest[:room - 1] + "…"))
    return "\n".join(lines)
