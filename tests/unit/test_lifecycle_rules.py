"""The lifecycle rules (server/lifecycle.py) as pure functions: an event and the session's pending request
in, the change out. Real hook payloads from Claude Code (tests/fixtures/hooks)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from msgspec.structs import replace

from piko import claude
from piko.models import HookEvent, Record
from piko.server import fleet_rules, lifecycle
from piko.server.lifecycle import Create, Enrich, Ignore, Resolve
from tests.unit.conftest import FIXTURES

STAMP = "2026-01-01T00:00:00.000Z"


def event(name: str, **changes: Any) -> tuple[HookEvent, dict[str, Any]]:
    body = json.loads((FIXTURES / "hooks" / f"{name}.json").read_text())
    body.update(changes)
    return claude.normalize_event(body)


def apply(name: str, current: Record | None = None, **changes: Any) -> lifecycle.Change:
    fields, extra = event(name, **changes)
    return lifecycle.apply_event(fields, extra, current, new_id="abc123abc123", stamp=STAMP)


def pending(name: str, **changes: Any) -> Record:
    change = apply(name, **changes)
    assert isinstance(change, Create)
    return change.record


@pytest.mark.parametrize("name, kind", [
    ("PermissionRequest-Bash", "permission"),
    ("PermissionRequest-Write", "permission"),
    ("PermissionRequest-AskUserQuestion", "question"),
    ("Notification-permission_prompt", "permission"),
    ("Notification-idle_prompt", "idle"),
])
def test_an_event_that_asks_creates_a_request(name: str, kind: str) -> None:
    change = apply(name)
    assert isinstance(change, Create) and change.replaces is None
    record = change.record
    assert (record.id, record.status, record.kind) == ("abc123abc123", "pending", kind)
    assert record.created_at == record.updated_at == STAMP
    assert record.resolution is None and record.resolved_via is None
    assert record.typing_since is msgspec.UNSET and "typing_since" not in msgspec.to_builtins(record)


def test_the_record_has_every_documented_field_and_its_summary() -> None:
    record = msgspec.to_builtins(pending("PermissionRequest-Bash"))
    assert set(record) >= {"id", "status", "kind", "hook_event_name", "notification_type", "message", "title",
                           "session_id", "cwd", "tool_name", "tool_input", "permission_suggestions",
                           "project_name", "env_name", "names_given", "tmux_session", "tmux_target",
                           "tmux_socket", "extra", "options", "summary", "hook_waiting", "created_at",
                           "updated_at", "resolved_at", "response", "response_type", "resolved_via",
                           "resolution"}
    assert record["summary"] == "touch /tmp/build-marker"
    assert [o["decision"] for o in record["options"]] == ["allow", "always", "deny"]
    assert "transcript_path" in record["extra"]


def test_a_files_summary_is_relative_to_the_sessions_folder() -> None:
    record = pending("PermissionRequest-Write")
    assert record.summary == "mock-written.txt"


def test_a_question_is_summed_up_by_its_first_question() -> None:
    record = pending("PermissionRequest-AskUserQuestion")
    assert record.tool_input is not None and record.summary == record.tool_input["questions"][0]["question"]
    assert all(set(o) == {"key", "label", "description"} for o in msgspec.to_builtins(record.options))


@pytest.mark.parametrize("name", ["PermissionRequest-Bash", "PermissionRequest-AskUserQuestion"])
def test_the_permission_prompt_notification_enriches_the_dialog_it_tells_of(name: str) -> None:
    current = pending(name, title=None, cwd="/mine")
    change = apply("Notification-permission_prompt", current, title="Permission needed", cwd="/theirs")
    assert isinstance(change, Enrich) and change.record is current
    enriched = change.enriched
    assert enriched.notification_type == "permission_prompt"
    assert enriched.title == "Permission needed"  # filled in
    assert enriched.message == "Claude needs your permission"  # filled in
    assert enriched.cwd == "/mine"  # never overwritten
    assert enriched.hook_event_name == current.hook_event_name == "PermissionRequest"
    assert current.title is None  # the pending request itself is a value: unchanged


def test_enriching_keeps_the_requests_own_extra_fields() -> None:
    current = replace(pending("PermissionRequest-Bash"), extra={"transcript_path": "mine", "only_mine": 1})
    change = apply("Notification-permission_prompt", current, transcript_path="theirs", only_theirs=2)
    assert isinstance(change, Enrich)
    assert change.enriched.extra["transcript_path"] == "mine"
    assert change.enriched.extra["only_theirs"] == 2 and change.enriched.extra["only_mine"] == 1


def test_idle_prompt_enriches_an_idle_request_and_replaces_a_dialog() -> None:
    idle = pending("Notification-idle_prompt")
    assert isinstance(apply("Notification-idle_prompt", idle), Enrich)
    dialog = pending("PermissionRequest-Bash")
    change = apply("Notification-idle_prompt", dialog)
    assert isinstance(change, Create) and change.replaces is dialog and change.via == "replaced"


def test_a_new_permission_replaces_the_sessions_pending_request() -> None:
    old = pending("PermissionRequest-Bash")
    change = apply("PermissionRequest-Write", old)
    assert isinstance(change, Create) and change.replaces is old and change.via == "replaced"


def test_stop_opens_an_idle_request_with_claudes_last_words() -> None:
    old = pending("PermissionRequest-Bash")
    change = apply("Stop", old, last_assistant_message="All   done.\nBye")
    assert isinstance(change, Create) and change.replaces is old and change.via == "event:Stop"
    assert change.record.kind == "idle" and change.record.message == "All done. Bye"
    assert change.record.summary == "All done. Bye"


def test_stop_without_a_session_is_ignored() -> None:
    assert isinstance(apply("Stop", session_id=None), Ignore)


@pytest.mark.parametrize("name", ["UserPromptSubmit", "SessionEnd"])
def test_the_session_moving_on_resolves_its_request(name: str) -> None:
    current = pending("PermissionRequest-Bash")
    change = apply(name, current)
    assert isinstance(change, Resolve) and change.record is current and change.via == f"event:{name}"


def test_a_tool_that_ran_resolves_only_its_own_permission() -> None:
    write = pending("PermissionRequest-Write")
    fields, _ = event("PostToolUse-Write")
    assert isinstance(apply("PostToolUse-Write", write), Resolve)
    other = apply("PostToolUse-Write", write, tool_name="Edit")
    assert isinstance(other, Ignore)
    changed = apply("PostToolUse-Write", write, tool_input={**(fields.tool_input or {}), "file_path": "/else"})
    assert isinstance(changed, Ignore)


def test_a_questions_post_tool_use_with_its_answers_resolves_it() -> None:
    question = pending("PermissionRequest-AskUserQuestion")
    assert isinstance(apply("PostToolUse-AskUserQuestion", question), Resolve)


@pytest.mark.parametrize("name", ["PreToolUse-Bash", "SessionStart", "UserPromptSubmit", "PostToolUse-Write"])
def test_events_that_neither_ask_nor_answer_anything_pending_are_ignored(name: str) -> None:
    assert isinstance(apply(name), Ignore)


def test_informational_notifications_are_ignored_and_others_are_notices() -> None:
    assert isinstance(apply("Notification-idle_prompt", notification_type="auth_success"), Ignore)
    notice = apply("Notification-idle_prompt", notification_type="something_new")
    assert isinstance(notice, Create) and notice.record.kind == "notice"


@pytest.mark.parametrize("name", ["PermissionRequest-Bash", "PermissionRequest-AskUserQuestion"])
def test_a_notice_leaves_a_pending_dialog_pending(name: str) -> None:
    """A notice asks nothing: the permission or question still on screen (its hook waiting) stays the
    session's pending request, and the notice is kept as an event in the session's timeline."""
    dialog = pending(name)
    assert isinstance(apply("Notification-idle_prompt", dialog, notification_type="elicitation_dialog"), Ignore)
    fields, extra = event("Notification-idle_prompt", notification_type="elicitation_dialog",
                          message="Claude Code needs your input for the MCP server")
    entry = fleet_rules.timeline_event(fields, extra, STAMP)
    assert (entry.event, entry.summary) == ("Notification", "Claude Code needs your input for the MCP server")


def test_a_notice_replaces_a_pending_idle_prompt_or_notice() -> None:
    for older in (pending("Notification-idle_prompt"), pending("Notification-idle_prompt", notification_type="x")):
        change = apply("Notification-idle_prompt", older, notification_type="elicitation_dialog")
        assert isinstance(change, Create) and change.record.kind == "notice" and change.replaces is older


@pytest.mark.parametrize("via, sentence", [
    ("terminal", "Answered in the terminal."),
    ("event:Stop", "The agent moved on (Stop)."),
    ("replaced", "Replaced by a newer request of the same agent."),
    ("hook", "Answered from Piko Orchestra, through the waiting hook."),
])
def test_closing_says_how_in_one_sentence(via: str, sentence: str) -> None:
    record = replace(pending("PermissionRequest-Bash"), hook_waiting=True)
    closed = lifecycle.closing(record, "resolved", via, "2026-01-01T00:00:09.000Z", "allow", "decision")
    assert closed.resolution == sentence and closed.resolved_via == via
    assert closed.resolved_at == closed.updated_at == "2026-01-01T00:00:09.000Z"
    assert (closed.status, closed.response, closed.response_type, closed.hook_waiting) == (
        "resolved", "allow", "decision", False)
    assert record.status == "pending" and record.hook_waiting  # a new value; the pending one is left as it was


def test_updating_makes_the_summary_again() -> None:
    record = pending("Notification-idle_prompt", message="old")
    changed = lifecycle.updating(record, "2026-01-01T00:00:05.000Z", message="new  words")
    assert changed.summary == "new words" and changed.updated_at == "2026-01-01T00:00:05.000Z"
    assert changed.message == "new  words" and record.summary == "old"


def test_a_session_named_by_piko_names_the_project_and_env_unless_given() -> None:
    record = pending("PermissionRequest-Bash", tmux_session=None, project_name="guess", env_name=None)
    named = lifecycle.session_named(record, "piko/shop/feature-x\n")
    assert named is not None and (named.tmux_session, named.env_name, named.project_name) == (
        "piko/shop/feature-x", "feature-x", "shop")
    assert named == replace(record, tmux_session="piko/shop/feature-x", env_name="feature-x", project_name="shop")
    record = replace(record, names_given=["project"])
    named = lifecycle.session_named(record, "piko/shop/feature-x")
    assert named is not None and named.project_name == "guess"
    record = replace(record, tmux_session="known")
    assert lifecycle.session_named(record, "other") is None


def test_the_fields_checked_by_hand_are_the_models_fields() -> None:
    """normalize_event's field list and the models cannot drift apart: one shape."""
    from piko import models

    event_fields = set(models.HookEvent.__struct_fields__) - {"piko_event_key"}
    assert set(claude.KNOWN_FIELDS) == event_fields
    assert event_fields <= set(models.Record.__struct_fields__)
    record = msgspec.to_builtins(pending("PermissionRequest-Bash"))
    assert set(record) == set(models.Record.__struct_fields__) - {"typing_since"}
