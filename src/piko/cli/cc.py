"""`piko cc`: the Claude Code side (init, notify)."""
import click


@click.group()
def cc() -> None:
    """Connect Claude Code to Orchestra."""
