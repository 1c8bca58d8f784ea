"""Answers that cannot arrive too early: an answer given before the dialog is drawn, or before the hook
listens, is held a few seconds and then carried out; one that cannot be delivered fails with a reason.

Real server, real tmux, the real hook (`piko cc notify`); tests/test_early_answers_cli.py does the same
with the real Claude Code CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import msgspec
import pytest
from msgspec.structs import replace

from piko import claude
from piko.models import Answers, Decision, Record
from tests.conftest import FIXTURES, hook_payload
from tests.support.hook import hook_env
from tests.support.records import record as make_record
from tests.support.server import recv_json
from tests.support.tmux import FAKE_DIALOG


def late_dialog_pane(tmux, screen: str, delay: float) -> str:
    """A pane that draws a captured Claude Code dialog only after `delay` seconds, as Claude does."""
    return tmux.new_session(["sh", "-c", f'sleep {delay}; exec "$0" "$1" "$2"', sys.executable,
                             str(FAKE_DIALOG), str(FIXTURES / "screens" / screen)])


def permission_on(server, tmux, pane: str, payload: str = "PermissionRequest-Bash") -> str:
    return server.notify(**hook_payload(payload) | {"tmux_target": pane, "tmux_socket": tmux.socket_path})["id"]


@pytest.mark.parametrize("body", [{"response": "1", "response_type": "option"}, {"decision": "deny"}])
def test_an_answer_sent_before_the_dialog_is_drawn_is_pressed_once_it_is(server, tmux, body):
    pane = late_dialog_pane(tmux, "screen-permission-write.txt", delay=1.0)
    id = permission_on(server, tmux, pane, "PermissionRequest-Write")
    r = server.respond(notification_id=id, **body)  # the old server: 409 no_prompt at once
    assert r.status_code == 200, r.text
    assert r.json()["delivered_via"] == "keys"
    screen = tmux.wait_for(pane, "GOT:")
    assert ("GOT:'1'" if "response" in body else "GOT:'3'") in screen  # No is option 3 on a Write dialog
    assert server.get(id)["status"] == "resolved"


def start_hook(server, piko_home, payload: str = "PermissionRequest-Bash") -> subprocess.Popen:
    hook = subprocess.Popen([sys.executable, "-m", "piko", "cc", "notify"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=hook_env(piko_home, server.url))
    assert hook.stdin is not None
    hook.stdin.write(json.dumps(hook_payload(payload)).encode())
    hook.stdin.close()
    return hook


def finished(hook: subprocess.Popen) -> bytes:
    """The hook's stdout, once it has exited."""
    hook.wait(timeout=10)
    assert hook.stdout is not None
    return hook.stdout.read()


@pytest.mark.parametrize("body, behavior", [
    ({"response": "1", "response_type": "option"}, "allow"),
    ({"response": "3", "response_type": "option"}, "deny"),
    ({"decision": "allow"}, "allow"),
])
def test_an_answer_sent_the_instant_the_request_appears_goes_through_its_hook(server, piko_home, body, behavior):
    """The answer leaves at the WebSocket's `created`, before the hook listens: it waits for the hook, and
    an option number reaches it as the option's decision (no tmux pane at all here)."""
    with server.ws() as ws:
        assert recv_json(ws)["type"] == "snapshot"
        hook = start_hook(server, piko_home)
        message = recv_json(ws, timeout=10)
        assert message["type"] == "created" and not message["notification"]["hook_waiting"]
        r = server.respond(notification_id=message["notification"]["id"], **body)
    out = finished(hook)
    assert r.status_code == 200, r.text  # the old server: 409 no_pane for an option
    assert r.json()["delivered_via"] == "hook"
    decision = json.loads(out)["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == behavior
    assert hook.returncode == 0


def test_an_early_answer_to_a_question_reaches_its_hook_as_the_options_label(server, piko_home):
    with server.ws() as ws:
        recv_json(ws)
        hook = start_hook(server, piko_home, "PermissionRequest-AskUserQuestion")
        record = recv_json(ws, timeout=10)["notification"]
        r = server.respond(notification_id=record["id"], response="2", response_type="option")
    out = finished(hook)
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook", r.text
    question = record["tool_input"]["questions"][0]
    answers = json.loads(out)["hookSpecificOutput"]["decision"]["updatedInput"]["answers"]
    assert answers == {question["question"]: question["options"][1]["label"]}


@pytest.mark.parametrize("body", [{"response": "1", "response_type": "option"}, {"decision": "allow"},
                                  {"decision": "deny"}])
def test_an_answer_that_cannot_be_delivered_fails_with_a_reason_after_the_hold(server, tmux, body):
    """No dialog is ever drawn and no hook waits: after the hold, 409 with a reason; nothing was typed (not
    even Esc for deny, which would interrupt Claude), and the request stays pending."""
    pane = tmux.echo_pane()
    id = permission_on(server, tmux, pane)
    started = time.monotonic()
    r = server.respond(notification_id=id, **body)
    assert r.status_code == 409 and r.json()["code"] == "no_prompt", r.text
    assert "no hook is waiting" in r.json()["error"] and "nothing was typed" in r.json()["error"]
    assert time.monotonic() - started >= 4.5  # it was held, not refused at once
    assert "GOT" not in tmux.capture(pane)
    assert server.get(id)["status"] == "pending"


def test_a_held_answer_stops_when_the_request_is_answered_meanwhile(server, tmux):
    """While an answer is held, the session moves on (answered in the terminal): nothing is typed."""
    import concurrent.futures

    pane = tmux.echo_pane()
    id = permission_on(server, tmux, pane)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answer = pool.submit(server.respond, notification_id=id, response="1", response_type="option")
        time.sleep(1.0)
        server.notify(hook_event_name="UserPromptSubmit",
                      session_id=hook_payload("PermissionRequest-Bash")["session_id"])
        r = answer.result(timeout=10)
    assert r.status_code == 409 and r.json()["code"] == "already_resolved", r.text
    assert server.get(id)["resolved_via"] == "event:UserPromptSubmit"
    assert "GOT" not in tmux.capture(pane)


def test_text_for_a_dialog_that_is_about_to_be_drawn_is_not_typed_into_it(server, tmux):
    """Typed text ending in Enter, landing as the dialog appears, would choose its first option."""
    pane = late_dialog_pane(tmux, "screen-permission-bash.txt", delay=1.0)
    id = permission_on(server, tmux, pane)
    r = server.respond(notification_id=id, response="do something else")
    assert r.status_code == 409 and r.json()["code"] == "dialog_showing", r.text
    time.sleep(0.3)
    assert "GOT" not in tmux.capture(pane)


# ---- which decision an option number is -----------------------------------------------------------

def record_of(payload: str) -> Record:
    event, _ = claude.normalize_event(hook_payload(payload))
    kind = claude.kind_of(event)
    assert kind is not None
    options = claude.options_for(kind, event.tool_input, event.permission_suggestions)
    return make_record(kind=kind, tool_input=event.tool_input, options=msgspec.to_builtins(options))


def decisions(record: Record, keys: str) -> list[str]:
    answers = [claude.option_answer(record, k) for k in keys]
    return [a.decision if isinstance(a, Decision) else repr(a) for a in answers]


def test_option_numbers_of_a_permission_are_its_decisions():
    record = record_of("PermissionRequest-Bash")
    assert decisions(record, "123") == ["allow", "always", "deny"]
    assert claude.option_answer(record, "4") is None
    record = replace(record, options=claude.options_for("permission", None, None))  # no suggestions: Yes, No
    assert decisions(record, "12") == ["allow", "deny"]


def test_an_option_of_a_question_is_its_label_only_when_it_is_the_only_question():
    record = record_of("PermissionRequest-AskUserQuestion")
    assert record.tool_input is not None
    question = record.tool_input["questions"][0]
    assert claude.option_answer(record, "1") == Answers(
        answers={question["question"]: question["options"][0]["label"]})
    record = replace(record, tool_input={"questions": [question, dict(question, question="And another?")]})
    assert claude.option_answer(record, "1") is None  # several questions: only keys on the dialog
