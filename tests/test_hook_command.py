"""The hook command `piko cc init` writes, run as Claude Code runs it: through `sh -c`, from the agent's
environment, against a real server. It must load only the hook's light modules, whatever the install and
whatever the agent's PYTHON* variables and current folder hold."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from piko.claude_settings import HOOK_EVENTS, is_orchestra_hook
from tests.conftest import hook_payload
from tests.support.hook import heavy
from tests.support.server import PikoServer

SRC = Path(__file__).resolve().parents[1] / "src"


def init(project: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "piko", "cc", "init"], check=False, cwd=project,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=60)


def hook_commands(project: Path) -> dict[str, str]:
    """Each event's Orchestra hook command, read back from the settings file."""
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    return {event: h["command"] for event in HOOK_EVENTS for group in settings["hooks"][event]
            for h in group["hooks"] if is_orchestra_hook(h)}


def agent_env(piko_home: Path, **extra: str) -> dict[str, str]:
    """Claude Code's environment for a hook: a PATH without the virtualenv, bytecode writing off."""
    return {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/"), "PIKO_HOME": str(piko_home),
            "PYTHONDONTWRITEBYTECODE": "1", **extra}


def run_hook(command: str, payload: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """Run `command` as Claude Code does: `sh -c`, a real payload (sent from `cwd`) on stdin."""
    event = {**hook_payload(payload), "cwd": str(cwd)}
    return subprocess.run(["/bin/sh", "-c", command], check=False, input=json.dumps(event).encode(), env=env, cwd=cwd,
                          capture_output=True, timeout=20)


def with_import_log(command: str) -> str:
    """The same command with `-X importtime` after the interpreter: stderr then lists every import."""
    python, *rest = shlex.split(command)
    return shlex.join([python, "-X", "importtime", *rest])


def imported(stderr: bytes) -> list[str]:
    return [line.split("|")[-1].strip() for line in stderr.decode().splitlines()
            if line.startswith("import time:") and not line.rstrip().endswith("package")]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "my project"
    (root / ".git").mkdir(parents=True)
    return root


def test_the_written_command_posts_the_event_and_loads_only_light_modules(project: Path, server: PikoServer,
                                                                           piko_home: Path):
    result = init(project)
    assert result.returncode == 0, result.stderr
    commands = hook_commands(project)
    assert set(commands) == set(HOOK_EVENTS) and len(set(commands.values())) == 1
    command = commands["Stop"]
    python, *flags = shlex.split(command)
    assert python == os.path.abspath(sys.executable) and flags[:3] == ["-I", "-S", "-c"]

    done = run_hook(command, "Stop", agent_env(piko_home), cwd=project)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    idle = run_hook(with_import_log(command), "Notification-idle_prompt", agent_env(piko_home), cwd=project)
    assert idle.returncode == 0 and idle.stdout == b""
    modules = imported(idle.stderr)
    assert "piko.cli.notify" in modules and "piko.client" in modules  # it did run the hook
    assert not heavy(modules), heavy(modules)
    assert not [m for m in modules if m in ("site", "sitecustomize") or m.startswith("__editable__")]
    # nor os: the hook's modules use posix and piko.lightos (os would be a third of its budget)
    assert not [m for m in modules if m in ("os", "posixpath", "stat", "_collections_abc")], modules
    assert {r["kind"] for r in server.pending()} == {"idle"}  # both events reached the server
    assert not (piko_home / "notify.log").exists()


def test_the_agents_python_settings_and_folder_cannot_reach_the_hook(project: Path, server: PikoServer,
                                                                     piko_home: Path, tmp_path: Path):
    """A PYTHONPATH or a current folder holding a module named like the standard library's would be
    imported by a hook run as a plain script; the written command ignores both."""
    assert init(project).returncode == 0
    command = hook_commands(project)["Notification"]
    planted = tmp_path / "planted"
    planted.mkdir()
    for name in ("__future__", "_socket", "_json", "select", "piko"):
        trap = planted / f"{name}.py"
        trap.write_text("raise SystemExit('planted module imported')\n")
        shutil.copy(trap, project / trap.name)
    env = agent_env(piko_home, PYTHONPATH=str(planted), PYTHONHOME="/nowhere")
    result = run_hook(command, "Notification-idle_prompt", env, cwd=project)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert [r["kind"] for r in server.pending()] == ["idle"]


def test_a_folder_with_spaces_and_quotes_and_an_uncompiled_copy(tmp_path: Path, server: PikoServer, piko_home: Path):
    """piko living under a path that needs quoting, with no bytecode yet: init caches the bytecode (even
    with PYTHONDONTWRITEBYTECODE set) and the command it writes runs."""
    site = tmp_path / "it's a \"site\" $HOME"
    shutil.copytree(SRC / "piko", site / "piko", ignore=shutil.ignore_patterns("__pycache__"))
    project = tmp_path / "proj"
    (project / ".git").mkdir(parents=True)
    result = init(project, {"PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr
    command = hook_commands(project)["Stop"]
    assert shlex.split(command)[-3:] == [str(site), "cc", "notify"]
    tag = sys.implementation.cache_tag
    for module in ("__init__", "cli/__init__", "cli/notify", "client", "config", "fastjson", "spool"):
        source = site / "piko" / f"{module}.py"
        assert (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").is_file(), module

    ran = run_hook(command, "Notification-idle_prompt", agent_env(piko_home), cwd=project)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, b"", b"")
    assert [(r["kind"], r["project_name"]) for r in server.pending()] == [("idle", "proj")]
