"""`piko respond` for the full dialogs: a plan's mode, several questions (multiSelect, own words), the
suggestions to grant, and a request's detail in the terminal. A real server, real waiting hooks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import TWO_QUESTIONS, hook_payload
from tests.support.hook import hook_env, waiting_hook
from tests.support.server import PikoServer


def respond(server: PikoServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "piko", "respond", *args], env=hook_env(home, server.url),
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def decision_of(hook: subprocess.Popen[bytes]) -> dict[str, Any]:
    try:
        hook.wait(timeout=10)
        assert hook.stdout is not None
        out: dict[str, Any] = json.loads(hook.stdout.read())["hookSpecificOutput"]["decision"]
        return out
    finally:
        if hook.poll() is None:
            hook.kill()


def plan_payload() -> dict[str, Any]:
    return {**hook_payload("PermissionRequest-Bash"), "tool_name": "ExitPlanMode",
            "tool_input": {"plan": "# Plan\n\n1. Go\n", "planFilePath": "/h/.claude/plans/p.md"},
            "permission_suggestions": None}


def test_plan_keep_with_feedback_and_plan_auto(server: PikoServer, piko_home: Path) -> None:
    hook, request = waiting_hook(server, piko_home, plan_payload())
    shown = respond(server, piko_home, request["id"], "--show")
    assert shown.returncode == 0 and "1. Go" in shown.stdout, shown.stderr
    bad = respond(server, piko_home, request["id"], "--plan", "auto", "--message", "x")
    assert bad.returncode == 2 and "--message goes with --deny or --plan keep" in bad.stderr
    result = respond(server, piko_home, request["id"], "--plan", "keep", "--message", "split step 1")
    assert result.returncode == 0, result.stderr
    assert decision_of(hook) == {"behavior": "deny", "message": "split step 1"}

    hook, request = waiting_hook(server, piko_home, {**plan_payload(), "session_id": "second"})
    assert respond(server, piko_home, request["id"], "--plan", "auto").returncode == 0
    assert decision_of(hook)["updatedPermissions"] == [{"type": "setMode", "mode": "acceptEdits",
                                                       "destination": "session"}]


def test_two_questions_with_a_multiselect_and_own_words(server: PikoServer, piko_home: Path) -> None:
    payload = {**hook_payload("PermissionRequest-AskUserQuestion"), "tool_input": TWO_QUESTIONS}
    hook, request = waiting_hook(server, piko_home, payload)
    short = respond(server, piko_home, request["id"], "--answer", "Auth")
    assert short.returncode == 2 and "one --answer or --other per question" in short.stderr
    result = respond(server, piko_home, request["id"], "--answer", "Auth,Cache", "--other", "Auth, but  mine")
    assert result.returncode == 0, result.stderr
    assert decision_of(hook)["updatedInput"]["answers"] == {"Which features?": "Auth, Cache",
                                                           "Which database?": "Auth, but  mine"}


def test_always_with_chosen_suggestions_and_the_diff_shown(server: PikoServer, piko_home: Path,
                                                           tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("a\nb\nc\n")
    payload = {**hook_payload("PermissionRequest-Write"), "tool_name": "Edit",
               "tool_input": {"file_path": str(target), "old_string": "b", "new_string": "B"}}
    hook, request = waiting_hook(server, piko_home, payload)
    shown = respond(server, piko_home, request["id"], "--show")
    assert shown.returncode == 0, shown.stderr
    assert "-b\n+B\n c" in shown.stdout and " a\n" in shown.stdout
    assert "don't ask again [1]: access to /home/dev/myapp for this session" in shown.stdout
    wrong = respond(server, piko_home, request["id"], "--allow", "--suggestion", "1")
    assert wrong.returncode == 2 and "--suggestion goes with --always" in wrong.stderr
    result = respond(server, piko_home, request["id"], "--always", "--suggestion", "1")
    assert result.returncode == 0, result.stderr
    assert decision_of(hook)["updatedPermissions"] == [payload["permission_suggestions"][1]]


# ---- the picker, in a real tmux pane ----------------------------------------------------------------

def picker(tmux: Any, server: PikoServer, home: Path, id: str) -> str:
    from tests.test_respond_cli import run_in_pane
    return run_in_pane(tmux, server, home, id)


def keys(tmux: Any, pane: str, *names: str) -> None:
    for name in names:
        tmux.cmd("send-keys", "-t", pane, name)


def test_the_picker_shows_the_plan_and_sends_it_back_with_feedback(server: PikoServer, piko_home: Path,
                                                                  tmux: Any) -> None:
    hook, request = waiting_hook(server, piko_home, plan_payload())
    pane = picker(tmux, server, piko_home, request["id"])
    tmux.wait_for(pane, r"1\. Go(.|\n)*Approve the plan\?")
    keys(tmux, pane, "Down", "Down", "Enter")
    tmux.wait_for(pane, r"What should Claude change\?")
    tmux.cmd("send-keys", "-t", pane, "-l", "more tests")
    keys(tmux, pane, "Enter")
    tmux.wait_for(pane, r"EXIT:0")
    assert decision_of(hook) == {"behavior": "deny", "message": "more tests"}


def test_the_picker_asks_every_question_and_reviews_them(server: PikoServer, piko_home: Path, tmux: Any) -> None:
    payload = {**hook_payload("PermissionRequest-AskUserQuestion"), "tool_input": TWO_QUESTIONS}
    hook, request = waiting_hook(server, piko_home, payload)
    pane = picker(tmux, server, piko_home, request["id"])
    tmux.wait_for(pane, r"Which features\?")
    keys(tmux, pane, "Space", "Down", "Down", "Space", "Enter")  # Auth and Cache
    tmux.wait_for(pane, r"Which database\?")
    keys(tmux, pane, "Down", "Down", "Enter")  # Other
    tmux.wait_for(pane, r"Your answer:")
    tmux.cmd("send-keys", "-t", pane, "-l", "DuckDB, really")
    keys(tmux, pane, "Enter")
    tmux.wait_for(pane, r"Which database\? → DuckDB, really(.|\n)*Send these answers\?")
    keys(tmux, pane, "Enter")
    tmux.wait_for(pane, r"EXIT:0")
    assert decision_of(hook)["updatedInput"]["answers"] == {"Which features?": "Auth, Cache",
                                                           "Which database?": "DuckDB, really"}
