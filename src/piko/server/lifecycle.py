"""The lifecycle rules of requests, as pure code: an event and the current state in, the change out.

One pending request per Claude session. A hook event creates, enriches, replaces or resolves it, or is
ignored (the rules are in docs/api.md, "Lifecycle"). Nothing here reads a clock, a store or a pane: the
time and the new request's id are given, and the orchestra (server/orchestra.py) carries out the change
this returns: written to the store first, then made in memory and announced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from piko import claude, dialogs, elicitation
from piko.models import Kind, Option, Record

DIALOG_KINDS = ("permission", "question")
# Requests a dialog of Claude Code's holds (its hook may wait): a notice does not replace them.
HELD_KINDS = (*DIALOG_KINDS, "elicitation")


@dataclass(frozen=True)
class Create:
    """A new pending request; the session's pending one (`replaces`, when any) is resolved with `via`."""

    record: dict[str, Any]
    replaces: dict[str, Any] | None = None
    via: str = "replaced"


@dataclass(frozen=True)
class Enrich:
    """The same dialog or idle prompt told twice: `changes` fill in the pending request, never overwrite."""

    record: dict[str, Any]
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolve:
    """The session moved on: its pending request is resolved with `via`."""

    record: dict[str, Any]
    via: str


@dataclass(frozen=True)
class Ignore:
    """The event asks nothing and answers nothing pending."""


Change = Create | Enrich | Resolve | Ignore


def new_record(kind: Kind, fields: dict[str, Any], extra: dict[str, Any], *, id: str,
               stamp: str) -> dict[str, Any]:
    """A new pending request of `kind` from an event's fields (claude.normalize_event), as the wire has it."""
    options = claude.options_for(kind, fields["tool_input"], fields["permission_suggestions"])
    record = Record(id=id, status="pending", kind=kind, **fields, extra=extra,
                    options=msgspec.convert(options, list[Option]), created_at=stamp, updated_at=stamp)
    out: dict[str, Any] = msgspec.to_builtins(record)
    out["summary"] = claude.summary_of(out)
    out["suggestions"] = dialogs.suggestions_of(fields["permission_suggestions"])
    if kind == "elicitation":
        out["detail"] = elicitation.detail_of(out)
    return out


def apply_event(fields: dict[str, Any], extra: dict[str, Any], current: dict[str, Any] | None, *,
                new_id: str, stamp: str, answered: dict[str, Any] | None = None) -> Change:
    """What the event (`fields`, `extra`: claude.normalize_event) does, given its session's pending request
    `current` (None when there is none) and the dialog of that session answered from Piko moments ago
    (`answered`, None when none). A new request gets `new_id` and `stamp`."""
    event = fields["hook_event_name"]
    kind = claude.kind_of(fields)
    if current is not None and event == "Notification" and (
            (kind == "permission" and current["kind"] in DIALOG_KINDS)
            or (kind == "idle" and current["kind"] == "idle")):
        return Enrich(current, enrichment(current, fields, extra))
    if (event == "Notification" and kind == "permission" and answered is not None
            and (current is None or current["kind"] not in DIALOG_KINDS)):
        # Claude Code's late "needs your permission" (or "needs your approval for the plan") for the
        # dialog that was just answered from Piko: that dialog is gone, nothing is asked any more.
        return Ignore()
    if kind == "notice" and current is not None and current["kind"] in HELD_KINDS:
        # The dialog is still on screen (its hook may wait): the notice stays in the timeline. An MCP
        # elicitation's own Notification (elicitation_dialog) comes when its hook gave up.
        return Ignore()
    if event == "ElicitationResult":
        # The person answered the MCP server's form in the terminal: it answers only an elicitation.
        if current is not None and current["kind"] == "elicitation":
            return Resolve(current, f"event:{event}")
        return Ignore()
    if kind is not None:
        return Create(new_record(kind, fields, extra, id=new_id, stamp=stamp), current)
    if event == "Stop" and fields["session_id"]:
        # Claude finished its turn and waits for the next instruction: that is an idle prompt now,
        # not in the 60 s Claude Code takes to send its idle_prompt Notification.
        idle = {**fields, "message": claude.stop_message(extra)}
        return Create(new_record("idle", idle, extra, id=new_id, stamp=stamp), current, "event:Stop")
    if event in claude.RESOLVING_EVENTS and current is not None and moves_on(current, fields):
        return Resolve(current, f"event:{event}")
    return Ignore()


def enrichment(current: dict[str, Any], fields: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The changes a Notification makes to the request its PermissionRequest created: it fills in, never
    overwrites (its notification_type excepted), and its extra fields are kept beside the request's own."""
    changes: dict[str, Any] = {name: value for name, value in fields.items()
                               if value is not None and current.get(name) is None}
    if fields["notification_type"]:
        changes["notification_type"] = fields["notification_type"]
    changes["extra"] = {**extra, **(current.get("extra") or {})}
    return changes


def moves_on(current: dict[str, Any], fields: dict[str, Any]) -> bool:
    """Does this resolving event answer `current`? A tool that ran answers only its own permission,
    not the prompt of another tool called in parallel."""
    if fields["hook_event_name"] not in ("PostToolUse", "PostToolUseFailure"):
        return True
    if current["kind"] == "elicitation":
        # The MCP tool call that asked has ended (a tool of that server, when the event names one).
        server = elicitation.tool_prefix((current.get("detail") or {}).get("server") or "")
        return not (fields["tool_name"] and server and fields["tool_name"].startswith("mcp__")
                    and not fields["tool_name"].startswith(server))
    if current["kind"] not in DIALOG_KINDS:
        return True
    if current.get("tool_name") and fields["tool_name"] != current["tool_name"]:
        return False
    if current.get("tool_input") and fields["tool_input"]:
        wanted, ran = current["tool_input"], fields["tool_input"]
        # AskUserQuestion's PostToolUse adds "answers" to the input it was asked with.
        return isinstance(wanted, dict) and all(ran.get(k) == v for k, v in wanted.items())
    return True


def closing(record: dict[str, Any], status: Literal["resolved", "dismissed"], via: str, stamp: str,
            response: str | dict[str, Any] | None = None, response_type: str | None = None) -> dict[str, Any]:
    """The changes that close `record`: resolved (or dismissed) by `via` at `stamp`, with its answer."""
    changes: dict[str, Any] = dict(status=status, resolved_via=via, resolved_at=stamp, updated_at=stamp,
                                   hook_waiting=False)
    if response is not None:
        changes.update(response=response, response_type=response_type)
    changes["resolution"] = claude.resolution_of({**record, **changes})
    return changes


def updating(record: dict[str, Any], changes: dict[str, Any], stamp: str) -> dict[str, Any]:
    """`changes` to a pending `record` at `stamp`, with its summary made again from what it becomes."""
    changes = {**changes, "updated_at": stamp}
    changes["summary"] = claude.summary_of({**record, **changes})
    return changes


def session_named(record: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The changes that give `record` its tmux session's `name` (and the env name, when none was given;
    Piko's own names from a `piko/<project>/<env>` session); None when it needs none any more."""
    name = claude.repair(name.strip())
    if not name or record["status"] != "pending" or record.get("tmux_session"):
        return None
    named = {"tmux_session": name, "env_name": record.get("env_name") or name,
             "project_name": record.get("project_name"), "names_given": record.get("names_given")}
    claude.apply_piko_names(named)
    named.pop("names_given")
    return named
