"""`piko cc init`: the real command against real settings files."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from piko.claude_settings import HOOK_ENTRY, HOOK_EVENTS, is_orchestra_hook, package_root
from tests.conftest import hook_payload

PIKO_SCRIPT = Path(sys.executable).parent / "piko"

USER_SETTINGS: dict = {
    "permissions": {"allow": ["Bash(npm test)"], "deny": ["Read(.env)"]},
    "env": {"FOO": "bar"},
    "hooks": {
        "PostToolUse": [{"matcher": "Write|Edit", "hooks": [{"type": "command", "command": "prettier --write"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "say done", "timeout": 5}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./guard.sh"}]}],
    },
    "model": "opus",
}


def piko(*args: str, cwd: Path, home: Path | None = None, script: bool = False,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [str(PIKO_SCRIPT)] if script else [sys.executable, "-m", "piko"]
    full_env = {**os.environ, **({"HOME": str(home)} if home else {}), **(env or {})}
    return subprocess.run([*command, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=30)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "myapp"
    (root / ".git").mkdir(parents=True)
    (root / "src" / "deep").mkdir(parents=True)
    return root


def write_settings(path: Path, settings: object) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")
    return path.read_bytes()


def orchestra_hooks(settings: dict, event: str) -> list[dict]:
    return [h for group in settings["hooks"].get(event, []) for h in group["hooks"] if is_orchestra_hook(h)]


def test_init_merges_into_existing_settings_and_twice_changes_nothing(project: Path):
    path = project / ".claude" / "settings.json"
    write_settings(path, USER_SETTINGS)
    path.chmod(0o640)

    first = piko("cc", "init", cwd=project / "src" / "deep", script=True)  # from a subfolder: the git root's file
    assert first.returncode == 0, first.stderr
    assert str(path) in first.stdout
    for event in HOOK_EVENTS:
        assert f"{event}" in first.stdout
    assert first.stdout.count("added") == len(HOOK_EVENTS)

    settings = json.loads(path.read_text())
    assert list(settings) == list(USER_SETTINGS)  # key order kept
    for key in ("permissions", "env", "model"):
        assert settings[key] == USER_SETTINGS[key]
    # every hook of the person's survives, in place
    assert settings["hooks"]["PostToolUse"][0] == USER_SETTINGS["hooks"]["PostToolUse"][0]
    assert settings["hooks"]["Stop"][0] == USER_SETTINGS["hooks"]["Stop"][0]
    assert settings["hooks"]["PreToolUse"][0] == USER_SETTINGS["hooks"]["PreToolUse"][0]
    for event in HOOK_EVENTS:
        [hook] = orchestra_hooks(settings, event)
        assert hook["type"] == "command"
        assert hook["timeout"] == (3600 if event in ("PermissionRequest", "Elicitation") else 10)  # they wait
        executable, *rest = shlex.split(hook["command"])
        assert rest == ["-I", "-S", "-c", HOOK_ENTRY, package_root(), "cc", "notify"]
        assert os.path.isabs(executable) and os.access(executable, os.X_OK)
        assert os.path.isfile(os.path.join(package_root(), "piko", "cli", "notify.py"))
    assert path.read_text().endswith("}\n") and '\n  "hooks": {\n' in path.read_text()  # 2-space indent
    assert path.stat().st_mode & 0o777 == 0o640

    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    time.sleep(0.01)
    second = piko("cc", "init", cwd=project)
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime


def test_uninstall_removes_only_orchestras_hooks(project: Path):
    path = project / ".claude" / "settings.json"
    write_settings(path, USER_SETTINGS)
    assert piko("cc", "init", cwd=project).returncode == 0

    gone = piko("cc", "init", "--uninstall", cwd=project)
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout.count("removed") == len(HOOK_EVENTS)
    assert json.loads(path.read_text()) == USER_SETTINGS
    assert list(json.loads(path.read_text())["hooks"]) == list(USER_SETTINGS["hooks"])

    again = piko("cc", "init", "--uninstall", cwd=project)
    assert again.returncode == 0 and "nothing changed" in again.stdout


def test_a_moved_piko_is_replaced_not_duplicated(project: Path):
    path = project / ".claude" / "settings.json"
    old = "/old/place/.venv/bin/piko cc notify"
    write_settings(path, {"hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": old, "timeout": 10},
                            {"type": "command", "command": "say done"}]}],
        "PermissionRequest": [{"hooks": [{"type": "command", "command": old + " --no-wait", "timeout": 60}]},
                              {"matcher": "Bash", "hooks": [{"type": "command", "command": old}]}],
    }})
    result = piko("cc", "init", cwd=project)
    assert result.returncode == 0, result.stderr
    settings = json.loads(path.read_text())
    for event in HOOK_EVENTS:
        [hook] = orchestra_hooks(settings, event)
        assert not hook["command"].startswith("/old/") and " -I -S -c " in hook["command"]
    assert settings["hooks"]["Stop"][0]["hooks"][1] == {"type": "command", "command": "say done"}
    assert orchestra_hooks(settings, "PermissionRequest")[0]["timeout"] == 3600
    assert len(settings["hooks"]["PermissionRequest"]) == 1  # the matcher group held only the old entry
    assert "Stop" in result.stdout and "updated" in result.stdout


def test_uninstall_removes_the_old_and_the_new_forms_of_the_command(project: Path):
    path = project / ".claude" / "settings.json"
    mine = {"type": "command", "command": "say done"}
    write_settings(path, {"hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": "'/old place/.venv/bin/piko' cc notify --no-wait"},
                            mine]}],
        "Notification": [{"hooks": [{"type": "command", "command": "/usr/bin/python3 -m piko cc notify"}]}],
    }})
    assert piko("cc", "init", cwd=project).returncode == 0  # adds the new form beside the person's own hook
    gone = piko("cc", "init", "--uninstall", cwd=project)
    assert gone.returncode == 0, gone.stderr
    assert json.loads(path.read_text()) == {"hooks": {"Stop": [{"hooks": [mine]}]}}


@pytest.mark.parametrize("content, where", [
    ('{\n  "permissions": {"allow": []},\n  "hooks": {,}\n}\n', ":3:"),
    ('[1, 2]\n', "not an object"),
    ('{"hooks": []}\n', '"hooks" is a list'),
    ('{"hooks": {"Stop": {"hooks": []}}}\n', '"hooks.Stop" is a dict'),
])
def test_a_file_that_is_not_valid_settings_is_refused_and_left_untouched(project: Path, content: str, where: str):
    path = project / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(content)
    for args in (("cc", "init"), ("cc", "init", "--uninstall")):
        result = piko(*args, cwd=project)
        assert result.returncode == 1
        assert str(path) in result.stderr and where in result.stderr, result.stderr
        assert "left as it is" in result.stderr
        assert path.read_text() == content
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]  # no temporary file left behind


def test_local_and_user_files(project: Path, tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    local = piko("cc", "init", "--local", cwd=project, home=home)
    assert local.returncode == 0, local.stderr
    assert orchestra_hooks(json.loads((project / ".claude" / "settings.local.json").read_text()), "Stop")
    assert not (project / ".claude" / "settings.json").exists()

    user = piko("cc", "init", "--user", cwd=project, home=home)
    assert user.returncode == 0, user.stderr
    user_file = home / ".claude" / "settings.json"
    assert str(user_file) in user.stdout
    assert len(orchestra_hooks(json.loads(user_file.read_text()), "PermissionRequest")) == 1


def test_the_installed_command_works_from_claudes_environment(project: Path, server, piko_home: Path):
    """Run the command exactly as written, through a shell with a PATH that has no virtualenv."""
    assert piko("cc", "init", cwd=project).returncode == 0
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    [hook] = orchestra_hooks(settings, "Notification")
    payload = {**hook_payload("Notification-idle_prompt"), "cwd": str(project)}
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/"), "PIKO_HOME": str(piko_home),
           "PIKO_URL": server.url}
    result = subprocess.run(["/bin/sh", "-c", hook["command"]], input=json.dumps(payload), cwd=project / "src",
                            env=env, capture_output=True, text=True, timeout=10)
    assert result.returncode == 0 and result.stdout == ""
    [record] = server.pending()
    assert record["kind"] == "idle" and record["project_name"] == "myapp"
