"""`piko cc`: the Claude Code side. `init` installs Orchestra's hooks; `notify` is the hook itself."""

from __future__ import annotations

import os
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

    Every other setting and hook in the file is kept; running it again changes nothing (or brings an
    older hook command up to date). The hooks run this piko's Python by its absolute path, so they work
    from Claude Code's environment; piko's bytecode is cached here so that no run has to compile it.
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
    if command and not compile_modules():
        click.echo(f"Note: cannot cache piko's bytecode under {cs.package_root()}; the hook will take longer "
                   "on each run until it can.", err=True)


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


def compile_modules() -> bool:
    """Write piko's missing or stale bytecode into the __pycache__ folders next to its sources, where the
    hook (`python -I`: no PYTHONPYCACHEPREFIX) looks for it. pip compiles at install time, but not for an
    editable install nor `uv tool install`; and the hook cannot cache it itself where the agent's user
    may not write. False when some of it could not be written."""
    import compileall

    prefix, sys.pycache_prefix = sys.pycache_prefix, None
    try:
        return bool(compileall.compile_dir(os.path.join(cs.package_root(), "piko"), quiet=2))
    finally:
        sys.pycache_prefix = prefix


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

