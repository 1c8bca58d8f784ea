"""Session records (the fleet view) against a real server process: the API, the WebSocket, the store,
`piko status`, and a session ended by its tmux pane going away."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import hook_payload
from tests.support.hook import hook_env
from tests.support.server import PikoServer, recv_json

SID = "6651d148-b4a9-4b59-a8f8-88a4fb326920"  # the fixtures' session


def sessions(server: PikoServer, **params: str) -> list[dict[str, Any]]:
    r = server.request("GET", "/api/orchestra/sessions", params=params)
    assert r.status_code == 200, r.text
    return r.json()["sessions"]


def session_until(server: PikoServer, sid: str, check: Any, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    found: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        r = server.request("GET", f"/api/orchestra/sessions/{sid}")
        found = r.json()["session"] if r.status_code == 200 else None
        if found is not None and check(found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"session {sid} never got there: {found}")


def status(server: PikoServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "piko", "status", *args], env=hook_env(home, server.url),
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_events_drive_the_session_and_the_websocket_announces_it(server, tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/feat-x\n")
    where = {"cwd": str(repo), "project_name": "shop", "env_name": "feat-x", "session_id": SID}
    with server.ws() as ws:
        assert recv_json(ws, skip=()) == {"type": "snapshot", "notifications": [], "sessions": []}
        server.notify(**{**hook_payload("UserPromptSubmit"), **where})
        server.notify(**{**hook_payload("PreToolUse-Bash"), **where})
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["tool_name"] != "Bash":
            message = recv_json(ws, skip=())
            assert message["type"] == "session"
            seen.append(message["session"])
    now = sessions(server)
    assert [s["session_id"] for s in now] == [SID]
    s = now[0]
    assert (s["state"], s["tool_name"], s["tool_summary"]) == ("working", "Bash", "touch /tmp/build-marker")
    assert (s["last_prompt"], s["project_name"], s["env_name"]) == ("please [write] it", "shop", "feat-x")
    assert s["git_branch"] == "feat-x" and s["cwd"] == str(repo) and s["quiet"] is False
    assert sessions(server, state="idle") == [] and len(sessions(server, state="working")) == 1

    request = server.notify(**{**hook_payload("PermissionRequest-Bash"), **where})["notification"]
    waiting = session_until(server, SID, lambda s: s["state"] == "waiting")
    assert waiting["request_id"] == request["id"]
    with server.ws() as ws:  # a new client finds it in its snapshot
        snapshot = recv_json(ws, skip=())
        assert [x["session_id"] for x in snapshot["sessions"]] == [SID]
        assert snapshot["sessions"][0]["state"] == "waiting"
    assert server.request("DELETE", f"/api/orchestra/notifications/{request['id']}").status_code == 200
    session_until(server, SID, lambda s: s["state"] == "working" and s["request_id"] is None)
    server.notify(**hook_payload("Stop"))
    idle = session_until(server, SID, lambda s: s["state"] == "idle")
    assert idle["last_answer"].startswith("Done.") and idle["tool_name"] is None

    detail = server.request("GET", f"/api/orchestra/sessions/{SID}").json()
    kinds = [(e["kind"], e["event"]) for e in detail["timeline"]]
    assert kinds[:4] == [("event", "UserPromptSubmit"), ("event", "PreToolUse"),
                         ("event", "PermissionRequest"), ("request", "PermissionRequest")]
    answer = next(e for e in detail["timeline"] if e["kind"] == "answer" and e["request_id"] == request["id"])
    assert (answer["via"], answer["by"]) == ("dismiss", "token")  # who answered, how
    assert kinds[-2:] == [("event", "Stop"), ("request", "Stop")]  # Stop makes an idle request


def test_session_end_hides_it_unless_asked_and_it_survives_a_restart(server, piko_home):
    server.notify(**hook_payload("SessionStart"))
    server.notify(hook_event_name="UserPromptSubmit", session_id="other", prompt="go")
    session_until(server, "other", lambda s: s["state"] == "working")
    server.notify(**hook_payload("SessionEnd"))
    ended = session_until(server, SID, lambda s: s["state"] == "ended")
    assert ended["ended_via"] == "event:SessionEnd"
    assert [s["session_id"] for s in sessions(server)] == ["other"]
    assert {s["session_id"] for s in sessions(server, include="ended")} == {SID, "other"}
    assert [s["session_id"] for s in sessions(server, state="ended")] == [SID]
    server.restart()
    assert [(s["session_id"], s["state"]) for s in sessions(server)] == [("other", "working")]
    assert server.request("GET", f"/api/orchestra/sessions/{SID}").json()["session"]["state"] == "ended"


def test_bad_queries_get_a_sentence(server):
    for params in ({"state": "busy"}, {"include": "all"}):
        r = server.request("GET", "/api/orchestra/sessions", params=params)
        assert r.status_code == 400 and r.json()["code"] == "bad_request" and r.json()["error"]
    r = server.request("GET", "/api/orchestra/sessions/nope")
    assert r.status_code == 404 and "nope" in r.json()["error"]


def test_piko_status_prints_the_table_and_json(server, piko_home):
    env = status(server, piko_home)
    assert env.returncode == 0 and env.stdout.strip() == "No Claude Code sessions."
    server.notify(hook_event_name="UserPromptSubmit", session_id="s-work", prompt="build \x1b[31mit",
                  project_name="shop", env_name="feat-x")
    server.notify(hook_event_name="PreToolUse", session_id="s-work", tool_name="Bash",
                  tool_input={"command": "sleep 4"}, project_name="shop", env_name="feat-x")
    request = server.notify(**{**hook_payload("PermissionRequest-Bash"), "session_id": "s-wait",
                               "project_name": "shop", "env_name": "main"})["notification"]
    server.notify(hook_event_name="Stop", session_id="s-idle", project_name="blog", env_name="main")
    session_until(server, "s-idle", lambda s: s["state"] == "idle")
    as_json = status(server, piko_home, "--json")
    assert as_json.returncode == 0
    states = {s["session_id"]: s["state"] for s in json.loads(as_json.stdout)["sessions"]}
    assert states == {"s-work": "working", "s-wait": "waiting", "s-idle": "idle"}
    table = status(server, piko_home)
    assert table.returncode == 0 and "\x1b" not in table.stdout  # no colors when not a terminal
    lines = table.stdout.splitlines()
    assert lines[0] == "blog/main" and lines[2] == "shop/feat-x" and lines[4] == "shop/main"
    assert "idle" in lines[1] and "working" in lines[3] and "Bash: sleep 4" in lines[3]
    assert "waiting" in lines[5] and f"request {request['id']}" in lines[5]
    server.notify(hook_event_name="PostToolUse", session_id="s-work", tool_name="Bash",
                  tool_input={"command": "sleep 4"})
    session_until(server, "s-work", lambda s: s["tool_name"] is None)
    prompt_line = next(line for line in status(server, piko_home).stdout.splitlines() if "s-work" in line)
    assert "> build ⟨U+001B⟩[31mit" in prompt_line  # a control character is shown, never sent to the terminal


def test_killing_its_pane_ends_the_session(server, tmux):
    pane = tmux.echo_pane()
    server.notify(hook_event_name="UserPromptSubmit", session_id="s-pane", prompt="go", tmux_target=pane,
                  tmux_socket=tmux.socket_path)
    session_until(server, "s-pane", lambda s: s["state"] == "working")
    time.sleep(1)  # the watcher has looked at it alive
    assert session_until(server, "s-pane", lambda s: True)["state"] == "working"
    tmux.kill_pane(pane)
    ended = session_until(server, "s-pane", lambda s: s["state"] == "ended")
    assert ended["ended_via"] == "pane_gone"


def test_piko_status_watch_redraws_until_ctrl_c(server, piko_home):
    import signal

    watch = subprocess.Popen([sys.executable, "-m", "piko", "status", "--watch"], env=hook_env(piko_home, server.url),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert watch.stdout is not None
        assert watch.stdout.readline() == "\n" and watch.stdout.readline() == "No Claude Code sessions.\n"
        server.notify(hook_event_name="UserPromptSubmit", session_id="s-later", prompt="go on",
                      project_name="shop", env_name="main")
        deadline = time.monotonic() + 10
        while "shop/main" not in watch.stdout.readline():  # a later redraw shows it
            assert time.monotonic() < deadline
        assert "working" in watch.stdout.readline()
    finally:
        watch.send_signal(signal.SIGINT)
        assert watch.wait(10) == 0  # Ctrl-C: a clean exit
