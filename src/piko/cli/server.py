"""`piko server`: run the Orchestra server."""

from __future__ import annotations

from pathlib import Path

import click

from piko import config


@click.command()
@click.option("--host", default=None,
              help=f"Address to listen on [default: {config.DEFAULT_HOST}; with --remote: the tailnet's "
                   "address, or 0.0.0.0]. Beyond loopback only with TLS.")
@click.option("--port", default=config.DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Another host name the server answers to (e.g. a LAN name), besides loopback.")
@click.option("--access-log", is_flag=True, help="Log every HTTP request.")
@click.option("--remote", is_flag=True,
              help="Serve HTTPS for other devices (pair them with `piko pair`): with --cert/--key, or the "
                   "tailnet's address and certificate when tailscale is installed.")
@click.option("--cert", type=click.Path(dir_okay=False, path_type=Path), help="TLS certificate (PEM).")
@click.option("--key", type=click.Path(dir_okay=False, path_type=Path),
              help="Its private key (PEM): a file of yours, owner-only (chmod 600).")
def server(host: str | None, port: int, allowed_hosts: tuple[str, ...], access_log: bool, remote: bool,
           cert: Path | None, key: Path | None) -> None:
    """Run the server: web UI, API and WebSocket, state in $PIKO_HOME (default ~/.piko)."""
    from piko.server.main import StartupError, serve

    try:
        serve(host, port, config.piko_home(), allowed_hosts=allowed_hosts, access_log=access_log,
              remote=remote, cert=cert, key=key)
    except StartupError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        pass
