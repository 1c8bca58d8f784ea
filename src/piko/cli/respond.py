"""`piko respond`."""
import click


@click.command()
def respond() -> None:
    """Answer a waiting agent."""
