"""`piko cc notify`, the hook: real processes fed real payloads, against a real server and against none.
Its wait for a person's decision (PermissionRequest): tests/test_cc_notify_wait.py."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, hook_payload
from tests.support.hook import (
    PIKO_SCRIPT,
    heavy,
    hook_env as base_env,
    notify,
)
from tests.support.server import PikoServer

HOOK_FIXTURES = sorted(p.stem for p in (FIXTURES / "hooks").glob("*.json"))


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def spooled(home: Path) -> list[Path]:
    folder = home / "spool"
    return sorted(p for p in folder.glob("*.json")) if folder.is_dir() else []


def log_lines(home: Path) -> list[str]:
    path = home / "notify.log"
    return path.read_text().splitlines() if path.exists() else []


def assert_private_log(home: Path) -> None:
    assert stat.S_IMODE((home / "notify.log").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


# ---- against a real server -------------------------------------------------------------------------

@pytest.mark.parametrize("name", HOOK_FIXTURES)
def test_every_real_payload_is_posted_as_is(name: str, server: PikoServer, piko_home: Path, tmp_path: Path):
    project = tmp_path / "shop"
    (project / ".git").mkdir(parents=True)
    payload = {**hook_payload(name), "cwd": str(project)}
    result, elapsed = notify(payload, base_env(piko_home, server.url), "--no-wait", cwd=project)
    assert result.returncode == 0 and result.stdout == b"" and result.stderr == b""
    assert elapsed < 5
    assert log_lines(piko_home) == []  # nothing went wrong
    assert spooled(piko_home) == []
    records = server.request("GET", "/api/orchestra/notifications", params={"status": "all"}).json()["notifications"]
    if name.startswith(("PermissionRequest", "Notification")):
        assert len(records) == 1
    for record in records:  # whatever the lifecycle made of it, it is this event, as it was sent
        for field in ("hook_event_name", "session_id", "cwd", "tool_name", "tool_input", "notification_type"):
            assert record[field] == payload.get(field), field
        if "message" in payload:
            assert record["message"] == payload["message"]
        assert record["project_name"] == "shop" and record["env_name"] is None
        assert record["tmux_target"] is None and record["tmux_socket"] is None
        assert record["extra"]["transcript_path"] == payload["transcript_path"]  # every other field kept


def test_where_it_came_from_tmux_pane_session_and_socket(server: PikoServer, piko_home: Path, tmux, tmp_path: Path):
    pane = tmux.new_session(["sleep", "60"], name="shop-feature-x")
    project = tmp_path / "shop"
    (project / ".git").mkdir(parents=True)
    env = base_env(piko_home, server.url, TMUX=f"{tmux.socket_path},12345,0", TMUX_PANE=pane,
                   CLAUDE_CODE_SESSION_ID="sess-from-env")
    payload = {k: v for k, v in hook_payload("Notification-idle_prompt").items() if k != "session_id"}
    result, _ = notify({**payload, "cwd": str(project / "src")}, env, script=True)  # the installed entry point
    assert result.returncode == 0 and result.stdout == b""
    [record] = server.pending()
    assert record["tmux_target"] == pane
    assert record["tmux_socket"] == tmux.socket_path
    deadline = time.monotonic() + 5  # the server asks tmux for the session's name, just after
    while record["tmux_session"] is None and time.monotonic() < deadline:
        time.sleep(0.02)
        [record] = server.pending()
    assert record["tmux_session"] == "shop-feature-x"
    assert record["project_name"] == "shop" and record["env_name"] == "shop-feature-x"
    assert record["session_id"] == "sess-from-env"


def test_where_it_came_from_worktree_and_environment(server: PikoServer, piko_home: Path, tmp_path: Path):
    worktree = tmp_path / "shop" / ".piko" / "worktrees" / "feat-y" / "src"
    worktree.mkdir(parents=True)
    payload = {**hook_payload("Notification-idle_prompt"), "cwd": str(worktree)}
    assert notify(payload, base_env(piko_home, server.url))[0].returncode == 0
    [record] = server.pending()
    assert (record["project_name"], record["env_name"]) == ("shop", "feat-y")

    env = base_env(piko_home, server.url, PIKO_PROJECT="billing", PIKO_ENV_NAME="hotfix")
    assert notify({**payload, "session_id": "other"}, env)[0].returncode == 0
    latest = server.pending()[-1]
    assert (latest["project_name"], latest["env_name"]) == ("billing", "hotfix")


def test_pane_found_from_tmux_when_claude_dropped_tmux_pane(server: PikoServer, piko_home: Path, tmux, tmp_path: Path):
    """One Claude release stripped $TMUX_PANE: the hook finds its pane among its ancestors' panes."""
    payload_file = tmp_path / "payload.json"
    payload_file.write_text(json.dumps(hook_payload("Notification-idle_prompt")))
    tmux.new_session(["sleep", "60"], name="decoy")  # another pane, active in another session
    script = (f"env -u TMUX_PANE PIKO_HOME={piko_home} PIKO_URL={server.url} "
              f"{PIKO_SCRIPT} cc notify < {payload_file}; echo DONE; sleep 60")
    pane = tmux.new_session(["sh", "-c", script], name="agent")
    tmux.wait_for(pane, "DONE")
    [record] = server.pending()
    assert record["tmux_target"] == pane and record["tmux_session"] == "agent"


def test_import_loads_nothing_heavy():
    code = ("import sys, piko.cli.notify, piko.cli.notify_wait, piko.cli.notify_tmux, piko.spool; "
            "print(' '.join(sorted(m for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert not heavy(out)


def test_outside_git_the_folder_claude_started_in_names_the_project(server: PikoServer, piko_home: Path,
                                                                    tmp_path: Path):
    plain = tmp_path / "plain-project" / "sub"
    plain.mkdir(parents=True)
    payload = {**hook_payload("Notification-idle_prompt"), "cwd": str(plain)}
    env = base_env(piko_home, server.url, CLAUDE_PROJECT_DIR=str(plain.parent))
    assert notify(payload, env)[0].returncode == 0
    assert server.pending()[0]["project_name"] == "plain-project"
    assert notify({**payload, "session_id": "no-project-dir"}, base_env(piko_home, server.url))[0].returncode == 0
    assert server.pending()[-1]["project_name"] == "sub"


def test_events_spooled_while_the_server_runs_are_picked_up(server: PikoServer, piko_home: Path):
    """A hook that gave up on a busy server spooled its event: the running server still gets it."""
    from piko import spool

    spool.write_bytes(piko_home, json.dumps(hook_payload("PermissionRequest-Bash")).encode())
    deadline = time.monotonic() + 10
    while not server.pending() and time.monotonic() < deadline:
        time.sleep(0.1)
    [record] = server.pending()
    assert record["tool_name"] == "Bash"
    assert list(spool.pending(piko_home)) == []


# ---- when things go wrong ----------------------------------------------------------------------------

def test_server_down_spools_fast_and_the_server_replays_in_order(piko_home: Path):
    env = base_env(piko_home, closed_port_url())
    ask = hook_payload("PermissionRequest-Bash")
    ran = {**ask, "hook_event_name": "PostToolUse", "tool_response": {"stdout": ""}}
    del ran["permission_suggestions"]
    idle = hook_payload("Notification-idle_prompt") | {"session_id": "another-session"}
    for i, payload in enumerate((ask, ran, idle), start=1):
        result, elapsed = notify(payload, env)
        assert result.returncode == 0 and result.stdout == b""
        assert elapsed < 1.5
        assert len(spooled(piko_home)) == i
    assert all("spooled" in line for line in log_lines(piko_home))
    assert_private_log(piko_home)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in spooled(piko_home))
    assert stat.S_IMODE((piko_home / "spool").stat().st_mode) == 0o700

    srv = PikoServer(piko_home).start()
    try:
        assert spooled(piko_home) == []
        [pending] = srv.pending()
        assert pending["session_id"] == "another-session" and pending["kind"] == "idle"
        history = srv.request("GET", "/api/orchestra/notifications", params={"status": "resolved"}).json()
        [stale] = history["notifications"]
        assert stale["tool_name"] == "Bash" and stale["resolved_via"] == "event:PostToolUse"
    finally:
        srv.stop()


def test_a_server_that_never_answers_costs_about_a_second(piko_home: Path):
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        result, elapsed = notify(hook_payload("Stop"), base_env(piko_home, url))
    assert result.returncode == 0 and result.stdout == b""
    assert elapsed < 1.5
    assert len(spooled(piko_home)) == 1


@pytest.mark.parametrize("stdin, logged", [
    (b"", "empty stdin"),
    (b"{not json", "malformed stdin"),
    (b"[1, 2]", "not an object"),
    (b"\xff\xfe garbage", "malformed stdin"),
])
def test_bad_stdin_never_hurts_the_agent(stdin: bytes, logged: str, piko_home: Path):
    result, elapsed = notify(stdin, base_env(piko_home, closed_port_url()))
    assert result.returncode == 0 and result.stdout == b"" and elapsed < 1.5
    [line] = log_lines(piko_home)
    assert logged in line
    assert_private_log(piko_home)
    if stdin:  # kept for a person to look at, never replayed
        [kept] = (piko_home / "spool" / "rejected").glob("*.json")
        assert kept.read_bytes() == stdin
        assert logged in kept.with_suffix(".reason").read_text()
        assert spooled(piko_home) == []
        for folder in (piko_home / "spool", piko_home / "spool" / "rejected"):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_stdin_left_open_is_not_waited_on(piko_home: Path):
    proc = subprocess.Popen([sys.executable, "-m", "piko", "cc", "notify"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=base_env(piko_home, closed_port_url()))
    started = time.monotonic()
    try:
        assert proc.wait(timeout=3) == 0
    finally:
        proc.stdin.close()
    assert time.monotonic() - started < 1.5 and proc.stdout.read() == b""


def test_bad_token_spools_the_event_and_logs(server: PikoServer, tmp_path: Path):
    home = tmp_path / "other-home"
    home.mkdir(mode=0o700)
    (home / "token").write_text("not-the-token\n")
    result, elapsed = notify(hook_payload("PermissionRequest-Bash"), base_env(home, server.url))
    assert result.returncode == 0 and result.stdout == b"" and elapsed < 1.5
    [line] = log_lines(home)  # over TCP a server that does not know this token cannot prove it is ours
    assert "PermissionRequest" in line and "did not prove it is ours" in line and "spooled" in line
    assert_private_log(home)
    assert len(spooled(home)) == 1
    assert server.pending() == []


def test_a_refused_event_is_logged_and_kept_aside(server: PikoServer, piko_home: Path):
    payload = hook_payload("PermissionRequest-Bash") | {"tool_input": "not an object"}
    result, _ = notify(payload, base_env(piko_home, server.url))
    assert result.returncode == 0 and result.stdout == b""
    [line] = log_lines(piko_home)
    assert "400" in line and "tool_input must be a JSON object" in line
    [kept] = (piko_home / "spool" / "rejected").glob("*.json")
    assert json.loads(kept.read_text())["tool_input"] == "not an object"
    assert "tool_input must be a JSON object" in kept.with_suffix(".reason").read_text()
    assert spooled(piko_home) == []  # not retried


def test_tool_input_is_logged_only_in_debug(piko_home: Path):
    payload = hook_payload("PermissionRequest-Bash")
    secret = payload["tool_input"]["command"]
    env = base_env(piko_home, closed_port_url())
    notify(payload, env)
    assert secret not in (piko_home / "notify.log").read_text()
    notify(payload, env, "--debug")
    notify(payload, {**env, "PIKO_DEBUG": "1"})
    lines = log_lines(piko_home)
    assert len(lines) == 3 and secret not in lines[0] and secret in lines[1] and secret in lines[2]
