"""`piko notify-targets`: where messages about new requests go, through apprise (server/targets.py).

Each asks the running server with the token (client.py), as `piko sessions` does.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from piko.cli.access import NotRunning, call, fail
from piko.client import ApiError, Client, Unreachable

SEND_TIMEOUT = 45.0  # a test waits for the target's answer (the server gives up after 30 s)


def describe(target: dict[str, Any]) -> str:
    content = "with the command" if target["content"] else "without content"
    return f"{target['id']}  {target['url']}  delay {target['delay']:g} s, {content}"


def one_id(prefix: str) -> str:
    matches = [t["id"] for t in call("GET", "/api/notify-targets")["targets"] if t["id"].startswith(prefix)]
    if len(matches) != 1:
        fail(f"no notify target {prefix!r} (see `piko notify-targets`)" if not matches
             else f"{prefix!r} matches several targets: " + ", ".join(matches))
    return str(matches[0])


@click.group("notify-targets", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the targets as JSON.")
@click.pass_context
def notify_targets(ctx: click.Context, as_json: bool) -> None:
    """List where new requests are announced; add, remove and test targets.

    A target is an apprise URL (ntfy://, slack://, tgram://, matrix://, mailto://, json://, ... see
    https://github.com/caronc/apprise/wiki). It is told "Claude needs you in <project>/<env>" after its
    delay, unless the request was answered first; at most one message per 10 s, a burst summed up in one.
    """
    if ctx.invoked_subcommand is not None:
        return
    targets = call("GET", "/api/notify-targets")["targets"]
    if as_json:
        click.echo(json.dumps({"targets": targets}, indent=2))
    elif not targets:
        click.echo("No notify targets. Add one with `piko notify-targets add URL`.")
    for target in [] if as_json else targets:
        click.echo(describe(target))


@notify_targets.command()
@click.argument("url")
@click.option("--delay", type=click.FloatRange(0, 86400), default=0, show_default=True, metavar="SECONDS",
              help="Only notify when the request is still unanswered after this long.")
@click.option("--content", is_flag=True,
              help="Include the tool and the command (they pass through the service's servers).")
def add(url: str, delay: float, content: bool) -> None:
    """Add a target: an apprise URL, or - to read it from stdin (kept out of shell history and ps).

    The URL holds the service's secrets: the server keeps it in its owner-only state folder and shows it
    masked.
    """
    if url == "-":
        url = sys.stdin.readline().strip()
    target = call("POST", "/api/notify-targets", {"url": url, "delay": delay, "content": content})["target"]
    click.echo(f"Added {describe(target)}")


@notify_targets.command()
@click.argument("id")
def remove(id: str) -> None:
    """Remove a target (an ID from `piko notify-targets`, or its first letters)."""
    removed = call("DELETE", f"/api/notify-targets/{one_id(id)}")["removed"]
    click.echo(f"Removed notify target {removed}.")


@notify_targets.command()
@click.argument("id", required=False)
def test(id: str | None) -> None:
    """Send a test message to one target, or to every target."""
    ids = [one_id(id)] if id is not None else [t["id"] for t in call("GET", "/api/notify-targets")["targets"]]
    if not ids:
        fail("there are no notify targets to test: add one with `piko notify-targets add URL`")
    failed = 0
    for target in ids:
        try:
            Client(timeout=SEND_TIMEOUT).call("POST", f"/api/notify-targets/{target}/test")
            click.echo(f"{target}: sent")
        except ApiError as e:
            click.echo(f"{target}: failed ({e.message})", err=True)
            failed += 1
        except Unreachable as e:
            raise NotRunning(f"cannot reach the Orchestra server: {e}. Is `piko server` running?") from None
    if failed:
        sys.exit(1)
