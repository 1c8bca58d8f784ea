"""`piko server`: run the Orchestra server."""

from __future__ import annotations

import click

from piko import config


@click.command()
@click.option("--host", default=config.DEFAULT_HOST, show_default=True,
              help="Address to listen on. Anything but loopback prints a warning.")
@click.option("--port", default=config.DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Another host name the server answers to (e.g. a LAN name), besides loopback.")
@click.option("--access-log", is_flag=True, help="Log every HTTP request.")
def server(host: str, port: int, allowed_hosts: tuple[str, ...], access_log: bool) -> None:
    """Run the server: web UI, API and WebSocket, state in $PIKO_HOME (default ~/.piko)."""
    from piko.server.main import StartupError, serve

    try:
        serve(host, port, config.piko_home(), allowed_hosts=allowed_hosts, access_log=access_log)
    except StartupError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        pass
