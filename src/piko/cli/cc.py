"""`piko cc`: the Claude Code side. `init` installs Orchestra's hooks; `notify` is the hook itself."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from piko import claude_settings as cs


@click.group()
def cc() -> None:
    """Connect Claude Code to Orchestra."""


@cc.command()
@click.option("--local", "scope", flag_value="local",
              help="Write .claude/settings.local.json (this project, not committed).")
@click.option("--user", "scope", flag_value="user", help="Write ~/.claude/settings.json (every project).")
@click.option("--uninstall", is_flag=True, help="Remove Orchestra's hooks (and only those).")
def init(scope: str | None, uninstall: bool) -> None:
    """Add Orchestra's hooks to this project's .claude/settings.json.

    Every other setting and hook in the file is kept; running it again changes nothing. The hooks run
    this piko by its absolute path, so they work from Claude Code's environment.
    """
    path = settings_path(scope)
    try:
        settings = cs.load(path)
        if uninstall:
            plan = cs.uninstall(settings)
            command = None
        else:
            command = cs.notify_command()
            plan = cs.install(settings, command)
        if plan.changed:
            cs.save(path, plan.settings)
    except cs.SettingsError as e:
        raise click.ClickException(str(e)) from None
    except OSError as e:
        raise click.ClickException(f"{path}: cannot write it ({e.strerror or e}); the file was left as it is") from None
    report(path, plan, command)


def settings_path(scope: str | None) -> Path:
    if scope == "user":
        return Path.home() / ".claude" / "settings.json"
    name = "settings.local.json" if scope == "local" else "settings.json"
    return project_root(Path.cwd()) / ".claude" / name


def project_root(cwd: Path) -> Path:
    """The git work tree holding `cwd` (where Claude Code keeps a project's .claude/), else `cwd`."""
    from piko.cli.notify import git_root  # the same rule the hook names projects by

    root = git_root(str(cwd))
    return Path(root) if root else cwd


def report(path: Path, plan: cs.Plan, command: str | None) -> None:
    if not plan.changes:
        click.echo(f"{path}: no Orchestra hooks to remove; nothing changed.")
        return
    if not plan.changed:
        click.echo(f"{path}: Orchestra's hooks are already there; nothing changed.")
        return
    click.echo(f"{path}:")
    width = max(len(event) for event in plan.changes)
    for event, what in plan.changes.items():
        click.echo(f"  {event:<{width}}  {what}")
    if command:
        click.echo(f"Hook command: {command}")


@cc.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
            add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def notify(args: tuple[str, ...]) -> None:
    """The hook: read one Claude Code event on stdin, post it to the server (always exits 0)."""
    # `piko cc notify` is normally dispatched before click is even imported (piko.cli.main); this entry
    # is for `piko cc --help` and for callers that go through click anyway.
    from piko.cli.notify import main

    sys.exit(main(list(args)))

