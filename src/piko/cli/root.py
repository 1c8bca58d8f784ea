"""The root command and its subcommands."""

from __future__ import annotations

import click

from piko import __version__
from piko.cli.access import login_url, sessions, token
from piko.cli.cc import cc
from piko.cli.pair import devices, pair
from piko.cli.respond import respond
from piko.cli.server import server
from piko.cli.targets import notify_targets


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="piko")
def cli() -> None:
    """Piko Orchestra: one live inbox for every Claude Code agent waiting on you."""


cli.add_command(server)
cli.add_command(cc)
cli.add_command(respond)
cli.add_command(login_url)
cli.add_command(sessions)
cli.add_command(token)
cli.add_command(pair)
cli.add_command(devices)
cli.add_command(notify_targets)
