"""Orchestra's hooks in a Claude Code settings file: add them, find them, remove them, and nothing else.

The settings file belongs to the person: every other key and every other hook must survive an edit, key
order and all. Orchestra's own entries are recognised by their command (`... piko ... cc notify [flags]`),
not by an exact path, so re-running `piko cc init` from a moved virtualenv (or after an upgrade that
changed the command's form: `<venv>/bin/piko cc notify` before, `<python> -I -S -c ... cc notify` now)
replaces the old entry instead of adding a second one. The file is replaced atomically, keeping its mode,
and only when something changed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOOK_EVENTS = (
    "Notification",
    "PermissionRequest",
    "PreToolUse",  # the tool a session is working on (the fleet view)
    "PostToolUse",
    "PostToolUseFailure",
    "UserPromptSubmit",
    "Stop",
    "SessionStart",
    "SessionEnd",
    "Elicitation",  # an MCP server asks the person for input: the hook waits for the answer
    "ElicitationResult",  # the person answered it in the terminal
)
WAIT_EVENTS = ("PermissionRequest", "Elicitation")
WAIT_TIMEOUT = 3600  # PermissionRequest, Elicitation: the hook waits for the person's decision
DEFAULT_TIMEOUT = 10
# What `python -I -S -c` runs: piko's folder (the first argument) onto sys.path, then piko's dispatch.
HOOK_ENTRY = "import sys;sys.path.append(sys.argv.pop(1));from piko.cli import main;sys.exit(main())"
# `cc notify`, optionally followed by flags, at the very end of the command.
_NOTIFY_TAIL = re.compile(r"(?:^|\s)cc\s+notify(?:\s+-{1,2}[\w-]+(?:=\S*)?)*\s*$")

ADDED, PRESENT, UPDATED, REMOVED = "added", "already present", "updated", "removed"


class SettingsError(Exception):
    """A settings file Orchestra will not touch; the message names the file and what is wrong."""


@dataclass
class Plan:
    """What an install or uninstall did to the settings, event by event."""

    settings: dict[str, Any]
    changes: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(what != PRESENT for what in self.changes.values())


def notify_command() -> str:
    """The hook command: the interpreter running piko now, by its absolute path (Claude's PATH may not
    have the virtualenv), started as lightly as Python starts, whatever the install:

    - `-S`: no `site`, so no .pth files, no editable-install finder, no sitecustomize, no console-script
      wrapper (older pip's imports `re`). piko's folder is handed over as an argument instead and goes
      last on sys.path, after the standard library, so nothing there can shadow it.
    - `-I`: the agent's PYTHON* variables (PYTHONPATH, PYTHONDONTWRITEBYTECODE...) and its current folder
      do not reach the hook; bytecode is cached even where PYTHONDONTWRITEBYTECODE is set.

    It still ends in `cc notify` (the arguments piko.cli.main dispatches on), so every version's
    `is_orchestra_hook` recognises it.
    """
    python = shlex.quote(os.path.abspath(sys.executable))
    return f"{python} -I -S -c {shlex.quote(HOOK_ENTRY)} {shlex.quote(package_root())} cc notify"


def package_root() -> str:
    """The folder holding this `piko` package (site-packages, or src/ for an editable install)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def is_orchestra_hook(hook: Any) -> bool:
    """Is this hook entry one Orchestra installed (any path to piko, any flags)?"""
    if not isinstance(hook, dict):
        return False
    command = hook.get("command")
    return isinstance(command, str) and "piko" in command and bool(_NOTIFY_TAIL.search(command))


def hook_entry(event: str, command: str) -> dict[str, Any]:
    timeout = WAIT_TIMEOUT if event in WAIT_EVENTS else DEFAULT_TIMEOUT
    return {"type": "command", "command": command, "timeout": timeout}


# ---- reading and writing the file -----------------------------------------------------------------

def load(path: Path) -> dict[str, Any]:
    """The settings in `path` ({} when it does not exist or is empty). SettingsError when it is not a
    JSON object, or its `hooks` is not an object of lists."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise SettingsError(f"{path}: cannot read it ({e})") from None
    if not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as e:
        raise SettingsError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg}); "
                            "the file was left as it is") from None
    if not isinstance(settings, dict):
        raise SettingsError(f"{path}: the top level is a {type(settings).__name__}, not an object; "
                            "the file was left as it is")
    hooks = settings.get("hooks")
    if hooks is not None:
        if not isinstance(hooks, dict):
            raise SettingsError(f'{path}: "hooks" is a {type(hooks).__name__}, not an object; '
                                "the file was left as it is")
        for event, groups in hooks.items():
            if not isinstance(groups, list):
                raise SettingsError(f'{path}: "hooks.{event}" is a {type(groups).__name__}, not a list; '
                                    "the file was left as it is")
    return settings


def save(path: Path, settings: dict[str, Any]) -> None:
    """Replace `path` atomically (a temporary file in the same folder, then rename), keeping its mode.

    A symlinked settings file is written through the link: the link stays, its target changes.
    """
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    text = json.dumps(settings, indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---- the edit ---------------------------------------------------------------------------------------

def install(settings: dict[str, Any], command: str, events: tuple[str, ...] = HOOK_EVENTS) -> Plan:
    """Make each event run `command` exactly once, in a group without a matcher.

    An Orchestra entry already there is kept (or its command and timeout brought up to date); any
    further Orchestra entries for that event (an old path, a second copy) are removed.
    """
    hooks = settings.setdefault("hooks", {})
    plan = Plan(settings)
    for event in events:
        wanted = hook_entry(event, command)
        groups = hooks.setdefault(event, [])
        kept: dict[str, Any] | None = None
        touched: list[dict[str, Any]] = []
        for group in groups:
            if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
                continue
            matches_all = group.get("matcher") in (None, "", "*")
            for hook in list(group["hooks"]):
                if not is_orchestra_hook(hook):
                    continue
                if kept is None and matches_all:
                    kept = hook
                else:
                    group["hooks"].remove(hook)
                    touched.append(group)
        removed_any = bool(touched)
        _drop_emptied(groups, touched)
        if kept is None:
            groups.append({"hooks": [wanted]})
            plan.changes[event] = UPDATED if removed_any else ADDED
        elif any(kept.get(k) != v for k, v in wanted.items()) or removed_any:
            kept.update(wanted)
            plan.changes[event] = UPDATED
        else:
            plan.changes[event] = PRESENT
    return plan


def uninstall(settings: dict[str, Any]) -> Plan:
    """Remove every Orchestra entry, from any event; groups and events left empty by that go too."""
    plan = Plan(settings)
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return plan
    for event in list(hooks):
        groups = hooks[event]
        touched: list[dict[str, Any]] = []
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                mine = [h for h in group["hooks"] if is_orchestra_hook(h)]
                if mine:
                    group["hooks"] = [h for h in group["hooks"] if not is_orchestra_hook(h)]
                    touched.append(group)
        if touched:
            _drop_emptied(groups, touched)
            plan.changes[event] = REMOVED
            if not groups:
                del hooks[event]
    if plan.changes and not hooks:
        del settings["hooks"]
    return plan


def _drop_emptied(groups: list[Any], touched: list[dict[str, Any]]) -> None:
    """Remove the groups that removing Orchestra's entries left empty (a person's own empty ones stay)."""
    groups[:] = [g for g in groups if not (any(g is t for t in touched) and not g["hooks"])]
