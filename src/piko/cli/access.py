"""Who can reach your agents: `piko login-url`, `piko sessions`, `piko token rotate`.

Each asks the running server with the token (client.py), as `piko respond` does. Browser sessions are
explained in server/sessions.py.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from typing import Any, NoReturn

import click

from piko import config
from piko.client import ApiError, Client, Unreachable, token_file


class NotRunning(click.ClickException):
    """The server did not answer."""


def fail(message: str) -> NoReturn:
    click.echo(f"piko: {message}", err=True)
    sys.exit(1)


def call(method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
    """The server's answer to one API call with the token; a clear message and exit 1 otherwise."""
    try:
        client = Client(timeout=timeout)
    except ValueError as e:
        fail(f"$PIKO_URL is not usable: {e}")
    try:
        return client.call(method, path, body)
    except Unreachable as e:
        raise NotRunning(f"cannot reach the Orchestra server at {client.url}: {e}. "
                                   "Is `piko server` running?") from None
    except ApiError as e:
        if e.status == 401:
            fail(f"the server at {client.url} refused the token from {token_file()} ({e.message})")
        fail(f"the server answered {e.status}: {e.message}")


@click.command("login-url")
def login_url() -> None:
    """Print a fresh one-time link that signs a browser in.

    The link works once, within a few minutes ($PIKO_LOGIN_LINK_SECONDS on the server, default 300), and
    holds a one-time code, never the token.
    """
    link = call("POST", "/api/auth/login-links")
    click.echo(link["url"])
    click.echo(f"(one browser, once, until {link['expires_at']})", err=True)


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the sessions as JSON.")
@click.pass_context
def sessions(ctx: click.Context, as_json: bool) -> None:
    """List the signed-in browsers; `piko sessions revoke ID|--all` signs them out.

    A session ends after 7 days without use, 30 days after sign-in, on "Sign out" in the browser, when it
    is revoked here, or when the token is rotated (`piko token rotate`).
    """
    if ctx.invoked_subcommand is not None:
        return
    live = call("GET", "/api/auth/sessions")["sessions"]
    if as_json:
        click.echo(json.dumps({"sessions": live}, indent=2))
        return
    if not live:
        click.echo("No browser is signed in.")
        return
    for s in live:
        click.echo(f"{s['id']}  signed in {s['created_at']}  last used {s['last_seen_at']}  "
                   f"ends by {min(s['expires_at'], s['idle_expires_at'])}  {s['user_agent'] or '?'}")


def end_sessions(id: str | None, every: bool, listing: str, kind: str, usage: str) -> list[str]:
    """End every browser and device session (`every`), or the one `kind` listed at `listing` (GET, its
    answer's list named as the path ends; DELETE `listing/<id>`) whose id starts with `id`: the ids ended.
    `usage` is the sentence for giving both or neither."""
    if every == (id is not None):
        raise click.UsageError(usage)
    if every:
        return list(call("DELETE", "/api/auth/sessions")["revoked"])
    assert id is not None
    name = listing.rsplit("/", 1)[1]
    matches = [s["id"] for s in call("GET", listing)[name] if s["id"].startswith(id)]
    if len(matches) != 1:
        fail(f"no {kind} {id!r}" if not matches else f"{id!r} matches several {kind}s: " + ", ".join(matches))
    return list(call("DELETE", f"{listing}/{matches[0]}")["revoked"])


@sessions.command()
@click.argument("id", required=False)
@click.option("--all", "every", is_flag=True, help="Sign out every browser.")
def revoke(id: str | None, every: bool) -> None:
    """End a browser session (its page is signed out at once), or --all of them."""
    ended = end_sessions(id, every, "/api/auth/sessions", "browser session",
                         "give one session ID (see `piko sessions`) or --all")
    click.echo(f"Signed out {len(ended)} browser session(s){': ' + ', '.join(ended) if ended else ''}.")


@click.group()
def token() -> None:
    """The server's token ($PIKO_HOME/token)."""


@token.command()
def rotate() -> None:
    """Replace the token and sign out every browser.

    Hooks and the piko command read the token file each time, so they go on working. When the server is
    not running the file is replaced here, and the browsers' sessions end when it next starts.
    """
    try:
        ended = call("POST", "/api/auth/token/rotate")["revoked"]
    except NotRunning:
        rotate_offline()
        return
    click.echo(f"New token written to {token_file()}; {len(ended)} browser session(s) ended. "
               "Sign browsers in again with `piko login-url`.")


def rotate_offline() -> None:
    from piko.server.auth import write_new_token

    home = config.piko_home()
    if not (home / config.TOKEN_FILE).exists():
        fail(f"there is no token in {home} yet: `piko server` makes one when it first starts")
    try:  # the server's own lock: no server may start while the file is replaced
        fd = os.open(home / "server.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        fail(f"cannot open {home / 'server.lock'}: {e.strerror}")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        fail(f"a piko server is running on {home} but cannot be reached at {config.server_url()}: "
             "set $PIKO_URL to its address and try again")
    try:
        write_new_token(home / config.TOKEN_FILE)
    finally:
        os.close(fd)
    click.echo(f"The server is not running: new token written to {token_file()}. "
               "Browser sessions made under the old token end when it next starts.")
