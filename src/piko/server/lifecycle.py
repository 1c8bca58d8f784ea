"""The lifecycle rules of requests, as pure code: an event and the current state in, the change out.

One pending request per Claude session. A hook event creates, enriches, replaces or resolves it, or is
ignored (the rules are in docs/api.md, "Lifecycle"). Nothing here reads a clock, a store or a pane: the
time and the new request's id are given, and the orchestra (server/orchestra.py) carries out the change
this returns: written to the store first, then made in memory and announced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from msgspec.structs import replace

from piko import claude, dialogs, elicitation
from piko.models import AnsweredBy, ElicitationDetail, HookEvent, Kind, Record

DIALOG_KINDS = ("permission", "question")
# Requests a dialog of Claude Code's holds (its hook may wait): a notice does not replace them.
HELD_KINDS = (*DIALOG_KINDS, "elicitation")
ResponseType = Literal["text", "option", "decision", "answers", "plan", "elicitation"]


@dataclass(frozen=True)
class Create:
    """A new pending request; the session's pending one (`replaces`, when any) is resolved with `via`."""

    record: Record
    replaces: Record | None = None
    via: str = "replaced"


@dataclass(frozen=True)
class Enrich:
    """The same dialog or idle prompt told twice: `enriched` is the pending `record` filled in (never
    overwritten); the orchestra stamps it (updating) when it makes the change."""

    record: Record
    enriched: Record


@dataclass(frozen=True)
class Resolve:
    """The session moved on: its pending request is resolved with `via`."""

    record: Record
    via: str


@dataclass(frozen=True)
class Ignore:
    """The event asks nothing and answers nothing pending."""


Change = Create | Enrich | Resolve | Ignore


def new_record(kind: Kind, event: HookEvent, extra: dict[str, Any], *, id: str, stamp: str) -> Record:
    """A new pending request of `kind` from an event (claude.normalize_event)."""
    options = claude.options_for(kind, event.tool_input, event.permission_suggestions)
    record = Record(id=id, status="pending", kind=kind, **claude.event_fields(event), extra=extra, options=options,
                    suggestions=dialogs.suggestions_of(event.permission_suggestions),
                    created_at=stamp, updated_at=stamp)
    if kind == "elicitation":  # the MCP server's form, from the event's extra fields
        detail = msgspec.convert(elicitation.detail_of(event.message, extra), ElicitationDetail)
        record = replace(record, detail=detail)
    return replace(record, summary=claude.summary_of(record))


def apply_event(event: HookEvent, extra: dict[str, Any], current: Record | None, *,
                new_id: str, stamp: str, answered: Record | None = None) -> Change:
    """What the event (`event`, `extra`: claude.normalize_event) does, given its session's pending request
    `current` (None when there is none) and the dialog of that session answered from Piko moments ago
    (`answered`, None when none). A new request gets `new_id` and `stamp`."""
    name = event.hook_event_name
    kind = claude.kind_of(event)
    if current is not None and name == "Notification" and (
            (kind == "permission" and current.kind in DIALOG_KINDS)
            or (kind == "idle" and current.kind == "idle")):
        return Enrich(current, enrichment(current, event, extra))
    if (name == "Notification" and kind == "permission" and answered is not None
            and (current is None or current.kind not in DIALOG_KINDS)):
        # Claude Code's late "needs your permission" (or "needs your approval for the plan") for the
        # dialog that was just answered from Piko: that dialog is gone, nothing is asked any more.
        return Ignore()
    if kind == "notice" and current is not None and current.kind in HELD_KINDS:
        # The dialog is still on screen (its hook may wait): the notice stays in the timeline. An MCP
        # elicitation's own Notification (elicitation_dialog) comes when its hook gave up.
        return Ignore()
    if name == "ElicitationResult":
        # The person answered the MCP server's form in the terminal: it answers only an elicitation.
        if current is not None and current.kind == "elicitation":
            return Resolve(current, f"event:{name}")
        return Ignore()
    if kind is not None:
        return Create(new_record(kind, event, extra, id=new_id, stamp=stamp), current)
    if name == "Stop" and event.session_id:
        # Claude finished its turn and waits for the next instruction: that is an idle prompt now,
        # not in the 60 s Claude Code takes to send its idle_prompt Notification.
        idle = replace(event, message=claude.stop_message(extra))
        return Create(new_record("idle", idle, extra, id=new_id, stamp=stamp), current, "event:Stop")
    if name in claude.RESOLVING_EVENTS and current is not None and moves_on(current, event):
        return Resolve(current, f"event:{name}")
    return Ignore()


def enrichment(current: Record, event: HookEvent, extra: dict[str, Any]) -> Record:
    """`current` as a Notification fills in the request its PermissionRequest created: it fills in, never
    overwrites (its notification_type excepted), and its extra fields are kept beside the request's own."""
    changes: dict[str, Any] = {name: value for name, value in claude.event_fields(event).items()
                               if value is not None and getattr(current, name) is None}
    if event.notification_type:
        changes["notification_type"] = event.notification_type
    changes["extra"] = {**extra, **current.extra}
    return replace(current, **changes)


def moves_on(current: Record, event: HookEvent) -> bool:
    """Does this resolving event answer `current`? A tool that ran answers only its own permission,
    not the prompt of another tool called in parallel."""
    if event.hook_event_name not in ("PostToolUse", "PostToolUseFailure"):
        return True
    if current.kind == "elicitation":
        # The MCP tool call that asked has ended (a tool of that server, when the event names one).
        server = elicitation.tool_prefix(current.detail.server if isinstance(current.detail, ElicitationDetail)
                                         else "")
        tool = event.tool_name or ""
        return not (server and tool.startswith("mcp__") and not tool.startswith(server))
    if current.kind not in DIALOG_KINDS:
        return True
    if current.tool_name and event.tool_name != current.tool_name:
        return False
    if current.tool_input and event.tool_input:
        wanted, ran = current.tool_input, event.tool_input
        # AskUserQuestion's PostToolUse adds "answers" to the input it was asked with.
        return all(ran.get(k) == v for k, v in wanted.items())
    return True


def closing(record: Record, status: Literal["resolved", "dismissed"], via: str, stamp: str,
            response: str | dict[str, Any] | None = None, response_type: ResponseType | None = None,
            answered_by: AnsweredBy | None = None) -> Record:
    """`record` closed: resolved (or dismissed) by `via` at `stamp`, with its answer and who gave it."""
    closed = replace(record, status=status, resolved_via=via, resolved_at=stamp, updated_at=stamp,
                     hook_waiting=False)
    if response is not None:
        closed = replace(closed, response=response, response_type=response_type)
    if answered_by is not None:
        closed = replace(closed, answered_by=answered_by)
    return replace(closed, resolution=claude.resolution_of(closed))


def updating(record: Record, stamp: str, **changes: Any) -> Record:
    """A pending `record` with `changes` (Record's fields) at `stamp`, its summary made again from what it
    becomes."""
    changed = replace(record, **changes, updated_at=stamp)
    return replace(changed, summary=claude.summary_of(changed))


def session_named(record: Record, name: str) -> Record | None:
    """`record` with its tmux session's `name` (and the env name, when none was given; Piko's own names
    from a `piko/<project>/<env>` session); None when it needs none any more."""
    name = claude.repair(name.strip())
    if not name or record.status != "pending" or record.tmux_session:
        return None
    named = {"tmux_session": name, "env_name": record.env_name or name,
             "project_name": record.project_name, "names_given": record.names_given}
    claude.apply_piko_names(named)
    named.pop("names_given")
    return replace(record, **named)
