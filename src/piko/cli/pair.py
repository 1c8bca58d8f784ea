"""Other devices (a phone): `piko pair` shows a QR code and a link that pair one, `piko devices` lists the
signed-in browsers and devices, `piko devices revoke ID|--all` ends them.

A pairing is a one-time login code for a named device (server/sessions.py), over the server's HTTPS URL
(`piko server --remote`); the session it makes is the device's own credential, listed and revocable.
"""

from __future__ import annotations

import io
import json
import sys

import click
import segno

from piko.cli.access import call, end_sessions
from piko.server.sessions import DEFAULT_PAIRING_SECONDS, MAX_PAIRING_SECONDS


def qr_text(url: str) -> str:
    """The QR code of `url` as text: two rows of modules per line, in half blocks (light modules are drawn,
    so it reads on a dark terminal; the quiet zone is drawn too)."""
    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True)
    return out.getvalue()


@click.command()
@click.option("--name", default="phone", show_default=True, help="The device's name, as `piko devices` shows it.")
@click.option("--seconds", type=click.IntRange(10, MAX_PAIRING_SECONDS), default=DEFAULT_PAIRING_SECONDS,
              show_default=True, help="How long the code is good for (it works once).")
def pair(name: str, seconds: int) -> None:
    """Pair a phone or another device: scan the QR code (or open the link) on it.

    The server must serve HTTPS (`piko server --remote`). The code works once, within --seconds; the device
    gets its own credential, which `piko devices revoke` ends.
    """
    link = call("POST", "/api/auth/pairings", {"name": name, "seconds": seconds})
    click.echo(qr_text(link["url"]), nl=False)
    click.echo(link["url"])
    click.echo(f"Scan it with {link['name']!r} (or open the link there): it pairs one device, once, "
               f"until {link['expires_at']}.")
    host = link["url"].split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    if host in ("127.0.0.1", "localhost", "[::1]"):
        click.echo("Note: this link names this machine's loopback address, which a phone cannot reach: start "
                   "the server with --allow-host NAME (the name in your certificate).", err=True)


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
@click.pass_context
def devices(ctx: click.Context, as_json: bool) -> None:
    """List the paired devices and signed-in browsers; `piko devices revoke ID|--all` ends them."""
    if ctx.invoked_subcommand is not None:
        return
    listed = call("GET", "/api/auth/devices")["devices"]
    if as_json:
        click.echo(json.dumps({"devices": listed}, indent=2))
        return
    if not listed:
        click.echo("No device is paired and no browser is signed in.")
        return
    for d in listed:
        label = d["name"] or d["user_agent"] or "?"
        click.echo(f"{d['id']}  {d['kind']:<7}  {label}  since {d['created_at']}  last used {d['last_seen_at']}")


@devices.command("revoke")
@click.argument("id", required=False)
@click.option("--all", "every", is_flag=True, help="End every device and browser session.")
def revoke_device(id: str | None, every: bool) -> None:
    """End a device's credential at once (its page closes; its next call is refused), or --all."""
    ended = end_sessions(id, every, "/api/auth/devices", "device", "give one ID (see `piko devices`) or --all")
    click.echo(f"Revoked {len(ended)} device(s){': ' + ', '.join(ended) if ended else ''}.", file=sys.stdout)
