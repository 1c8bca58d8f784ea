"""An MCP elicitation answered with `piko respond` through a real waiting `piko cc notify` hook (a real
server): accept with the form's fields (typed as the form says), decline, cancel; wrong fields refused
with a sentence; without a waiting hook a clear refusal; dismissed, the hook prints nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import hook_payload
from tests.support.hook import hook_env, waiting_hook
from tests.support.server import PikoServer


def respond(server: PikoServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "piko", "respond", *args], env=hook_env(home, server.url),
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def waiting(server: PikoServer, home: Path, session: str) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """A real `piko cc notify` waiting on the captured Elicitation event; and its request."""
    return waiting_hook(server, home, {**hook_payload("Elicitation"), "session_id": session})


def output_of(hook: subprocess.Popen[bytes]) -> str:
    try:
        assert hook.wait(timeout=10) == 0
        assert hook.stdout is not None
        return hook.stdout.read().decode()
    finally:
        if hook.poll() is None:
            hook.kill()


def test_accept_with_typed_fields_reaches_the_hook_exactly(server: PikoServer, piko_home: Path) -> None:
    hook, request = waiting(server, piko_home, "accept")
    shown = respond(server, piko_home, request["id"], "--show")
    assert shown.returncode == 0, shown.stderr
    assert "MCP server pikostub asks for input" in shown.stdout and "Tell me about you" in shown.stdout
    assert "color (Color): one of red, green, blue, required" in shown.stdout
    result = respond(server, piko_home, request["id"], "--accept", "--field", "name=Ann Lee",
                     "--field", "urgent=yes", "--field", "color=Green", "--field", "count=3")
    assert result.returncode == 0, result.stderr
    assert "through the waiting hook" in result.stdout
    assert json.loads(output_of(hook)) == {"hookSpecificOutput": {
        "hookEventName": "Elicitation", "action": "accept",
        "content": {"name": "Ann Lee", "urgent": True, "color": "green", "count": 3}}}


def test_decline_and_cancel(server: PikoServer, piko_home: Path) -> None:
    for action in ("decline", "cancel"):
        hook, request = waiting(server, piko_home, action)
        assert respond(server, piko_home, request["id"], f"--{action}").returncode == 0
        assert json.loads(output_of(hook)) == {"hookSpecificOutput": {"hookEventName": "Elicitation",
                                                                      "action": action}}


def test_wrong_fields_are_refused_with_a_sentence_and_the_hook_keeps_waiting(server: PikoServer,
                                                                             piko_home: Path) -> None:
    hook, request = waiting(server, piko_home, "wrong")
    try:
        unknown = respond(server, piko_home, request["id"], "--accept", "--field", "age=3")
        assert unknown.returncode == 2 and "the form has no field 'age'" in unknown.stderr
        typed = respond(server, piko_home, request["id"], "--accept", "--field", "count=many")
        assert typed.returncode == 2 and "field count is an integer" in typed.stderr
        missing = respond(server, piko_home, request["id"], "--accept", "--field", "name=Ann")
        assert missing.returncode == 1 and "field color (Color) is required" in missing.stderr
        stray = respond(server, piko_home, request["id"], "--decline", "--field", "name=Ann")
        assert stray.returncode == 2 and "--field goes with --accept" in stray.stderr
        assert hook.poll() is None and server.get(request["id"])["status"] == "pending"
        # Dismissed from Piko: the hook ends with nothing printed (Claude Code shows its own form).
        assert server.request("DELETE", f"/api/orchestra/notifications/{request['id']}").status_code == 200
        assert output_of(hook) == ""
    finally:
        if hook.poll() is None:
            hook.kill()


def test_another_kind_and_no_waiting_hook_are_clear_errors(server: PikoServer, piko_home: Path) -> None:
    notify = subprocess.run([sys.executable, "-m", "piko", "cc", "notify", "--no-wait"],
                            input=json.dumps(hook_payload("Elicitation")).encode(), env=hook_env(piko_home),
                            capture_output=True, timeout=30)
    assert notify.returncode == 0 and notify.stdout == b""
    [request] = server.pending()
    result = respond(server, piko_home, request["id"], "--accept", "--field", "name=Ann", "--field", "color=red")
    assert result.returncode == 1 and "no hook waits for this MCP elicitation" in result.stderr
    assert server.get(request["id"])["status"] == "pending"
    permission = subprocess.run([sys.executable, "-m", "piko", "cc", "notify", "--no-wait"],
                                input=json.dumps({**hook_payload("PermissionRequest-Bash"),
                                                  "session_id": "other"}).encode(),
                                env=hook_env(piko_home), capture_output=True, timeout=30)
    assert permission.returncode == 0
    [other] = [r for r in server.pending() if r["session_id"] == "other"]
    wrong = respond(server, piko_home, other["id"], "--decline")
    assert wrong.returncode == 2 and "not an MCP elicitation" in wrong.stderr


def test_the_picker_asks_each_field_in_turn(server: PikoServer, piko_home: Path, tmux: Any) -> None:
    from tests.test_respond_cli import run_in_pane

    hook, request = waiting(server, piko_home, "picker")
    try:
        pane = run_in_pane(tmux, server, piko_home, request["id"])
        tmux.wait_for(pane, r"MCP server pikostub asks for input(.|\n)*Answer the MCP server:")
        tmux.cmd("send-keys", "-t", pane, "Enter")  # Accept
        tmux.wait_for(pane, r"\? Your name")
        tmux.cmd("send-keys", "-t", pane, "Enter")  # empty: it is required
        tmux.wait_for(pane, r"This field is required")
        tmux.cmd("send-keys", "-t", pane, "-l", "Ann")
        tmux.cmd("send-keys", "-t", pane, "Enter")
        tmux.wait_for(pane, r"\? Urgent")
        tmux.cmd("send-keys", "-t", pane, "y")  # a confirm takes y at once
        tmux.wait_for(pane, r"\? Color")
        tmux.cmd("send-keys", "-t", pane, "Down", "Down", "Enter")  # Blue
        tmux.wait_for(pane, r"\? How many")
        tmux.cmd("send-keys", "-t", pane, "-l", "12")
        tmux.cmd("send-keys", "-t", pane, "Enter")
        tmux.wait_for(pane, r"field count is at most 10")
        tmux.cmd("send-keys", "-t", pane, "BSpace", "BSpace")
        tmux.cmd("send-keys", "-t", pane, "-l", "2")
        tmux.cmd("send-keys", "-t", pane, "Enter")
        tmux.wait_for(pane, r"EXIT:0")
        assert json.loads(output_of(hook)) == {"hookSpecificOutput": {
            "hookEventName": "Elicitation", "action": "accept",
            "content": {"name": "Ann", "urgent": True, "color": "blue", "count": 2}}}
    finally:
        if hook.poll() is None:
            hook.kill()
