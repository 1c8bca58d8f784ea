"""Reading Claude Code's dialogs off a pane's screen (screens captured from the real CLI 2.1.328)."""

from __future__ import annotations

from pathlib import Path

import pytest

from piko import claude, claude_screen
from piko.models import Answers, Decision, HookEvent, Record
from tests.support.records import record as make_record

SCREENS = Path(__file__).parent / "fixtures" / "screens"


def screen(name: str, blank_below: int = 0) -> str:
    text = (SCREENS / f"{name}.txt").read_text()
    return text + ("\n" + " " * 120) * blank_below + "\n"


@pytest.mark.parametrize("blank_below", [0, 20])
def test_bash_permission_options(blank_below):
    options = claude_screen.screen_options(screen("screen-permission-bash", blank_below))
    assert [k for k, _ in options] == ["1", "2", "3", "4"]
    assert claude_screen.key_for_decision("allow", options) == "1"
    assert claude_screen.key_for_decision("always", options) == "2"
    assert claude_screen.key_for_decision("deny", options) == "4"


def test_write_permission_options():
    options = claude_screen.screen_options(screen("screen-permission-write"))
    assert [k for k, _ in options] == ["1", "2", "3"]
    assert claude_screen.key_for_decision("deny", options) == "3"
    assert claude_screen.key_for_decision("always", options) == "2"


def test_question_options():
    options = claude_screen.screen_options(screen("screen-askuserquestion", 5))
    assert claude_screen.key_for_label("SQLite", options) == "2"
    assert claude_screen.key_for_label("PostgreSQL", options) == "1"
    assert claude_screen.key_for_label("MySQL", options) is None


def test_no_dialog_no_options():
    after = ("❯ please run it\n\n● Here is a plan:\n  1. Yes this is a list\n  2. No dialog here\n\n"
             "❯ \n  ? for shortcuts\n")
    assert claude_screen.screen_options(after) == []
    assert claude_screen.key_for_decision("allow", []) is None
    assert claude_screen.key_for_decision("deny", []) == "Escape"


def test_numbered_list_in_the_answer_above_a_dialog_is_not_taken_for_it():
    text = "● Steps:\n  1. Build\n  2. Test\n  3. Ship\n" + screen("screen-permission-write")
    assert next(label for _, label in claude_screen.screen_options(text)) == "Yes"
    assert len(claude_screen.screen_options(text)) == 3


def _record(name: str) -> Record:
    import json

    payload = json.loads((Path(__file__).parent / "fixtures" / "hooks" / f"{name}.json").read_text())
    fields = {k: v for k, v in payload.items() if k in Record.__struct_fields__}
    event = HookEvent(hook_event_name=payload["hook_event_name"], tool_name=payload["tool_name"])
    return make_record(**{**fields, "kind": claude.kind_of(event)})


def test_hook_decisions():
    bash = _record("PermissionRequest-Bash")
    out = claude.hook_decision(bash, Decision(decision="allow"))
    assert out == {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}}
    always = claude.hook_decision(bash, Decision(decision="always"))["hookSpecificOutput"]["decision"]
    assert always["updatedPermissions"] == bash.permission_suggestions
    deny = claude.hook_decision(bash, Decision(decision="deny", message="no"))
    assert deny["hookSpecificOutput"]["decision"] == {"behavior": "deny", "message": "no"}
    ask = _record("PermissionRequest-AskUserQuestion")
    answers = {"Which database should the app use?": "SQLite"}
    out = claude.hook_decision(ask, Answers(answers=answers))["hookSpecificOutput"]["decision"]
    assert out["behavior"] == "allow" and out["updatedInput"]["answers"] == answers
    assert ask.tool_input is not None and out["updatedInput"]["questions"] == ask.tool_input["questions"]


def test_always_option_says_what_it_grants():
    bash = _record("PermissionRequest-Bash")
    options = claude.options_for("permission", bash.tool_input, bash.permission_suggestions)
    assert options[1].label == "Yes, and don't ask again (access to /tmp · accept edits mode)"
    rules = [{"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "npm test:*"}], "behavior": "allow"}]
    assert claude.describe_suggestions(rules) == "allow Bash(npm test:*)"
    assert [o.decision for o in claude.options_for("permission", {}, [])] == ["allow", "deny"]
