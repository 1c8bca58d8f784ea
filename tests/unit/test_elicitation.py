"""MCP elicitation (an MCP server asks the person for input): the form read off its requested_schema, the
content checked against it, the lifecycle rules, and the answer through the API to a waiting hook only.
Real Elicitation / ElicitationResult payloads from Claude Code 2.1.328 (tests/fixtures/hooks)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import msgspec
import pytest

from piko import claude, elicitation, models
from piko.server import delivery, fleet_rules, lifecycle
from piko.server.app import App
from piko.server.lifecycle import Create, Ignore, Resolve
from tests.unit.conftest import FIXTURES, screen

STAMP = "2026-01-01T00:00:00.000Z"
PANE = {"tmux_target": "%7", "tmux_session": "work", "tmux_socket": "/nonexistent/piko-unit/tmux.sock"}
GOOD = {"name": "Ann", "urgent": True, "color": "green", "count": 3}


def hook(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "hooks" / f"{name}.json").read_text())
    body.update(changes)
    return body


def apply(name: str, current: models.Record | None = None, **changes: Any) -> lifecycle.Change:
    fields, extra = claude.normalize_event(hook(name, **changes))
    return lifecycle.apply_event(fields, extra, current, new_id="abc123abc123", stamp=STAMP)


def pending_elicitation() -> models.Record:
    change = apply("Elicitation")
    assert isinstance(change, Create)
    return change.record


def form_fields() -> list[dict[str, Any]]:
    """The form's fields as the wire has them."""
    wire: list[dict[str, Any]] = msgspec.to_builtins(pending_elicitation())["detail"]["fields"]
    return wire


# ---- the form --------------------------------------------------------------------------------------

def test_the_request_names_the_server_the_message_and_the_forms_fields() -> None:
    record = msgspec.to_builtins(pending_elicitation())
    assert record["kind"] == "elicitation" and record["summary"] == "Tell me about you"
    msgspec.convert(record, models.Record)  # the wire matches the model
    detail = record["detail"]
    assert (detail["kind"], detail["server"], detail["message"], detail["mode"]) == \
        ("elicitation", "pikostub", "Tell me about you", "form")
    fields = {f["name"]: f for f in detail["fields"]}
    assert list(fields) == ["name", "urgent", "color", "count"]  # the schema's order
    assert fields["name"]["type"] == "string" and fields["name"]["title"] == "Your name"
    assert fields["name"]["description"] == "Who is asking" and fields["name"]["required"]
    assert fields["urgent"]["type"] == "boolean" and fields["urgent"]["default"] is False
    assert not fields["urgent"]["required"]
    assert fields["color"]["enum"] == ["red", "green", "blue"]
    assert fields["color"]["enum_labels"] == ["Red", "Green", "Blue"] and fields["color"]["required"]
    assert (fields["count"]["type"], fields["count"]["minimum"], fields["count"]["maximum"]) == ("integer", 1, 10)


def test_titled_choices_and_unknown_types_are_read_too() -> None:
    [choice, other] = elicitation.fields_of({"type": "object", "properties": {
        "size": {"type": "string", "oneOf": [{"const": "s", "title": "Small"}, {"const": "l", "title": "Large"}]},
        "tags": {"type": "array", "items": {"type": "string"}}}})
    assert choice["enum"] == ["s", "l"] and choice["enum_labels"] == ["Small", "Large"]
    assert other["type"] == "other"
    assert elicitation.fields_of(None) == [] and elicitation.fields_of({"properties": []}) == []


@pytest.mark.parametrize("content, sentence", [
    ({"urgent": True, "color": "red"}, "field name (Your name) is required"),
    ({"name": "Ann"}, "field color (Color) is required"),
    ({"name": 3, "color": "red"}, "field name is a string"),
    ({"name": "Ann", "color": "purple"}, "field color is one of red, green, blue"),
    ({"name": "Ann", "color": "red", "urgent": "yes"}, "field urgent is a boolean"),
    ({"name": "Ann", "color": "red", "count": 2.5}, "field count is an integer"),
    ({"name": "Ann", "color": "red", "count": 11}, "field count is at most 10"),
    ({"name": "Ann", "color": "red", "count": True}, "field count is a integer"),
    ({"name": "Ann", "color": "red", "age": 3}, "the form has no field 'age'"),
    (["Ann"], "content is an object"),
])
def test_content_that_does_not_fit_the_form_is_refused_with_a_sentence(content: Any, sentence: str) -> None:
    fields = form_fields()
    with pytest.raises(ValueError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        elicitation.check_content(fields, content)


def test_content_that_fits_is_kept_as_given_and_optional_fields_may_be_left_out() -> None:
    fields = form_fields()
    assert elicitation.check_content(fields, GOOD) == GOOD
    assert elicitation.check_content(fields, {"name": "Bo", "color": "red", "count": 4.0}) == \
        {"name": "Bo", "color": "red", "count": 4}
    assert elicitation.check_content(fields, {"name": "Bo", "color": "red", "urgent": None}) == \
        {"name": "Bo", "color": "red"}


def test_command_line_values_take_the_fields_type() -> None:
    fields = {f["name"]: f for f in form_fields()}
    assert elicitation.parse_text(fields["urgent"], "yes") is True
    assert elicitation.parse_text(fields["count"], "7") == 7
    assert elicitation.parse_text(fields["color"], "Green") == "green"  # a choice's label names it
    with pytest.raises(ValueError, match="boolean"):
        elicitation.parse_text(fields["urgent"], "maybe")
    with pytest.raises(ValueError, match="integer"):
        elicitation.parse_text(fields["count"], "seven")


def test_the_hooks_output_carries_content_with_accept_only() -> None:
    assert elicitation.hook_output("accept", {"a": 1}) == \
        {"hookSpecificOutput": {"hookEventName": "Elicitation", "action": "accept", "content": {"a": 1}}}
    assert elicitation.hook_output("decline", None) == \
        {"hookSpecificOutput": {"hookEventName": "Elicitation", "action": "decline"}}


# ---- the lifecycle ---------------------------------------------------------------------------------

def test_its_own_notification_and_the_ones_after_it_create_nothing() -> None:
    record = pending_elicitation()
    assert isinstance(apply("Notification-idle_prompt", record, notification_type="elicitation_dialog",
                            message="Claude Code needs your input"), Ignore)
    for told in ("elicitation_response", "elicitation_complete"):
        assert isinstance(apply("Notification-idle_prompt", None, notification_type=told), Ignore)
    # Without a pending elicitation (the hook not installed), the dialog's Notification is a notice.
    change = apply("Notification-idle_prompt", None, notification_type="elicitation_dialog")
    assert isinstance(change, Create) and change.record.kind == "notice"


def test_elicitation_result_resolves_an_elicitation_only() -> None:
    record = pending_elicitation()
    change = apply("ElicitationResult", record)
    assert isinstance(change, Resolve) and change.via == "event:ElicitationResult"
    permission = apply("PermissionRequest-Bash")
    assert isinstance(permission, Create)
    assert isinstance(apply("ElicitationResult", permission.record), Ignore)
    assert isinstance(apply("ElicitationResult", None), Ignore)


def test_the_mcp_tool_ending_resolves_it_but_another_servers_tool_does_not() -> None:
    record = pending_elicitation()
    ended = apply("PostToolUse-Write", record, tool_name="mcp__pikostub__ask", tool_input={"text": "x"})
    assert isinstance(ended, Resolve) and ended.via == "event:PostToolUse"
    other = apply("PostToolUse-Write", record, tool_name="mcp__other__echo", tool_input={"text": "x"})
    assert isinstance(other, Ignore)
    assert isinstance(apply("Stop", record), Create)  # the turn ended: an idle prompt replaces it


def test_a_session_waits_on_an_elicitation_in_the_fleet() -> None:
    assert "elicitation" in fleet_rules.DIALOG_KINDS


# ---- the API: the hook only --------------------------------------------------------------------------

async def notify(api: httpx.AsyncClient, name: str, **changes: Any) -> dict[str, Any]:
    r = await api.post("/api/orchestra/notify", json=hook(name, **changes))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def test_an_answer_goes_to_the_waiting_hook_as_its_output(app: App, api: httpx.AsyncClient) -> None:
    answer = await notify(api, "Elicitation", **PANE)
    assert answer["action"] == "created" and answer["wait_key"]  # its hook may wait
    record = answer["notification"]
    orchestra = app.state.parts.orchestra
    future = await orchestra.attach_hook(record["id"])
    respond = asyncio.create_task(api.post("/api/orchestra/respond", json={
        "notification_id": record["id"], "elicitation": {"action": "accept", "content": GOOD}}))
    output = await asyncio.wait_for(future, 5)
    orchestra.hook_acknowledged(record["id"])
    r = await respond
    assert r.status_code == 200 and r.json()["delivered_via"] == "hook", r.text
    assert output == {"hookSpecificOutput": {"hookEventName": "Elicitation", "action": "accept", "content": GOOD}}
    done = r.json()["notification"]
    assert (done["status"], done["response_type"], done["response"]) == ("resolved", "elicitation", GOOD)


async def test_decline_reaches_the_hook_without_content(app: App, api: httpx.AsyncClient) -> None:
    record = (await notify(api, "Elicitation", **PANE))["notification"]
    orchestra = app.state.parts.orchestra
    future = await orchestra.attach_hook(record["id"])
    respond = asyncio.create_task(api.post("/api/orchestra/respond", json={
        "notification_id": record["id"], "elicitation": {"action": "decline"}}))
    assert await asyncio.wait_for(future, 5) == {
        "hookSpecificOutput": {"hookEventName": "Elicitation", "action": "decline"}}
    orchestra.hook_acknowledged(record["id"])
    r = await respond
    assert r.status_code == 200 and r.json()["notification"]["response"] == "decline"


async def test_without_a_waiting_hook_it_is_409_needs_hook_and_nothing_is_typed(
        api: httpx.AsyncClient, pane: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "HOLD_SECONDS", 0.2)
    pane.screen = screen("permission-bash")  # a menu on the screen: still no key is pressed
    record = (await notify(api, "Elicitation", **PANE))["notification"]
    r = await api.post("/api/orchestra/respond", json={
        "notification_id": record["id"], "elicitation": {"action": "accept", "content": GOOD}})
    assert r.status_code == 409 and r.json()["code"] == "needs_hook", r.text
    assert "terminal" in r.json()["error"]
    assert pane.typed == []
    left = (await api.get(f"/api/orchestra/notifications/{record['id']}")).json()
    assert left["status"] == "pending"


@pytest.mark.parametrize("body, sentence", [
    ({"elicitation": {"action": "accept", "content": {"name": "Ann"}}}, "field color (Color) is required"),
    ({"elicitation": {"action": "maybe"}}, "accept, decline or cancel"),
    ({"elicitation": {"action": "decline", "content": {}}}, "content goes with accept only"),
    ({"decision": "allow"}, "an MCP elicitation takes elicitation"),
    ({"response": "hello"}, "an MCP elicitation takes elicitation"),
])
async def test_wrong_answers_are_400_with_a_sentence(api: httpx.AsyncClient, body: dict[str, Any],
                                                     sentence: str) -> None:
    record = (await notify(api, "Elicitation", **PANE))["notification"]
    r = await api.post("/api/orchestra/respond", json={"notification_id": record["id"], **body})
    assert r.status_code == 400 and sentence in r.json()["error"], r.text


async def test_an_elicitation_answer_for_another_kind_is_refused(api: httpx.AsyncClient) -> None:
    record = (await notify(api, "PermissionRequest-Bash", **PANE))["notification"]
    r = await api.post("/api/orchestra/respond", json={
        "notification_id": record["id"], "elicitation": {"action": "cancel"}})
    assert r.status_code == 400 and "takes no elicitation answer" in r.json()["error"]


async def test_the_schema_describes_the_form_and_the_answer(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/api/schema")).json()["$defs"]
    assert {"ElicitationDetail", "ElicitationField", "ElicitationReply"} <= set(schema)
    assert "elicitation" in schema["RespondBody"]["properties"]
