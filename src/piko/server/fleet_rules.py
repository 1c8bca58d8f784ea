"""The rules of session records (the fleet view), as pure code: an event or a request's change and the
session's record in, its new record out.

A session is `working` from a prompt or a tool use until Claude stops (`idle`), `waiting` while a
permission or question of it is pending, and `ended` when Claude Code says so (SessionEnd) or its pane or
process is gone (server/fleet.py asks the watcher's checks). Nothing here reads a clock, a store or a
pane: the time is given, and server/fleet.py keeps, writes and announces what this returns. A session is
a models.FleetSession and a timeline entry a models.TimelineEntry, both frozen: a change is a new value.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from piko import claude
from piko.models import FleetSession, HookEvent, Record, SessionState, TimelineEntry
from piko.server import lifecycle

QUIET_SECONDS = 120.0  # working with no event for this long: shown as quiet
ANSWER_LINES = 3  # the first lines of Claude's last message that the record keeps
LINE_CHARS = 200
WORKING_EVENTS = frozenset({"UserPromptSubmit", "PreToolUse", "PostToolUse", "PostToolUseFailure"})
IDLE_EVENTS = frozenset({"SessionStart", "Stop"})
GONE_VIAS = frozenset({"pane_gone", "pane_dead", "claude_gone"})
DIALOG_KINDS = ("permission", "question", "elicitation")  # a session waits on these


def new_session(session_id: str, stamp: str) -> FleetSession:
    """A session first heard of at `stamp`, before its event is applied."""
    return FleetSession(session_id=session_id, state="idle", since=stamp, updated_at=stamp)


def _enter(session: FleetSession, state: SessionState, stamp: str) -> FleetSession:
    """`session` in `state`; `since` moves only when the state changes."""
    if session.state == state:
        return session
    return replace(session, state=state, since=stamp)


def first_lines(text: Any) -> str | None:
    """The first ANSWER_LINES non-blank lines of `text`, each cut at LINE_CHARS; None when there are none."""
    if not isinstance(text, str):
        return None
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()][:ANSWER_LINES]
    cut = [line if len(line) <= LINE_CHARS else line[:LINE_CHARS - 1] + "…" for line in lines]
    return "\n".join(cut) or None


def apply_event(session: FleetSession, hook: HookEvent, extra: dict[str, Any],
                request: Record | None, stamp: str, git_branch: str | None) -> FleetSession:
    """The session after one hook event (`hook`, `extra`: claude.normalize_event), given its pending
    request once the event was applied to the requests (None when it has none). An ended session stays
    ended, but for a SessionStart (resumed): a late or replayed event does not bring it back."""
    event = hook.hook_event_name
    if session.state == "ended" and event != "SessionStart":
        return session
    changes: dict[str, Any] = {"updated_at": stamp, "quiet": False}
    for name in ("project_name", "env_name", "tmux_session", "tmux_target", "tmux_socket", "cwd"):
        if value := getattr(hook, name):
            changes[name] = value
    if git_branch is not None:
        changes["git_branch"] = git_branch
    waiting_on = request if request is not None and request.kind in DIALOG_KINDS else None
    changes["request_id"] = waiting_on.id if waiting_on else None
    if event == "UserPromptSubmit" and isinstance(extra.get("prompt"), str):
        changes["last_prompt"] = claude.summary(message=extra["prompt"]) or None
    if event == "Stop":
        changes["last_answer"] = first_lines(extra.get("last_assistant_message"))
    if event in ("PreToolUse", "PermissionRequest") and hook.tool_name:
        changes["tool_name"] = hook.tool_name
        changes["tool_summary"] = claude.summary(tool_name=hook.tool_name, tool_input=hook.tool_input,
                                                 cwd=hook.cwd) or None
    elif event in WORKING_EVENTS or event in IDLE_EVENTS or event == "SessionEnd":
        changes["tool_name"] = changes["tool_summary"] = None
    out = replace(session, **changes)
    if event == "SessionEnd":
        return replace(_enter(out, "ended", stamp), ended_via="event:SessionEnd", request_id=None)
    out = replace(out, ended_via=None)  # any other event: the session lives (resumed, or heard again)
    if waiting_on is not None:
        return _enter(out, "waiting", stamp)
    if event in WORKING_EVENTS:
        return _enter(out, "working", stamp)
    if event in IDLE_EVENTS or (request is not None and request.kind == "idle"):
        return _enter(out, "idle", stamp)
    if session.state == "waiting":
        return _enter(out, "working", stamp)
    return out


def request_changed(session: FleetSession, request: Record, stamp: str) -> FleetSession | None:
    """The session after its request `request` was created, changed or closed outside of one of its hook
    events (answered, dismissed, or its pane found gone); None when the session does not change."""
    if request.status == "pending":
        if request.kind in DIALOG_KINDS and session.state != "ended" and (
                session.request_id != request.id or session.state != "waiting"):
            return replace(_enter(session, "waiting", stamp), request_id=request.id, updated_at=stamp)
        return None
    via = request.resolved_via or ""
    if via in GONE_VIAS and session.state != "ended":
        return end(session, via, stamp)
    if session.request_id != request.id:
        return None
    # Answered or dismissed: the tool runs (or Claude goes on); the session's next event says more.
    return replace(_enter(session, "working", stamp), request_id=None, updated_at=stamp, quiet=False)


def end(session: FleetSession, via: str, stamp: str) -> FleetSession:
    """The session ended by `via` (pane_gone, pane_dead, claude_gone, or event:SessionEnd)."""
    return replace(_enter(session, "ended", stamp), ended_via=via, request_id=None, tool_name=None,
                   tool_summary=None, quiet=False, updated_at=stamp)


def named(session: FleetSession, name: str) -> FleetSession | None:
    """The session with its tmux session's `name` (read from its pane by the server, as a request's is),
    and the env name when no event gave one; Piko's own names from a `piko/<project>/<env>` session.
    None when it has a name already, or `name` is empty."""
    name = claude.repair(name.strip())
    if not name or session.tmux_session:
        return None
    names = {"tmux_session": name, "env_name": session.env_name or name,
             "project_name": session.project_name, "names_given": ["env"] if session.env_name else []}
    claude.apply_piko_names(names)
    names.pop("names_given")
    return replace(session, **names)


def is_quiet(session: FleetSession, now: float, updated: float) -> bool:
    """Is a session whose last event came at `updated` (seconds) quiet at `now`?"""
    return session.state == "working" and now - updated > QUIET_SECONDS


def timeline_event(hook: HookEvent, extra: dict[str, Any], stamp: str) -> TimelineEntry:
    """The timeline entry of one hook event."""
    event = hook.hook_event_name
    summary: str | None = None
    if event == "UserPromptSubmit":
        summary = claude.summary(message=extra.get("prompt")) if isinstance(extra.get("prompt"), str) else None
    elif event == "Stop":
        summary = first_lines(extra.get("last_assistant_message"))
    elif hook.tool_name:
        summary = claude.summary(tool_name=hook.tool_name, tool_input=hook.tool_input, cwd=hook.cwd) or hook.tool_name
    elif hook.message:
        summary = claude.summary(message=hook.message)
    elif event == "SessionEnd" and isinstance(extra.get("reason"), str):
        summary = extra["reason"]
    return TimelineEntry(at=stamp, kind="event", event=event, summary=summary or None)


def timeline_request(request: Record, stamp: str, by: str | None) -> TimelineEntry | None:
    """The timeline entry of a request created or closed; None for other changes."""
    if request.status == "pending":
        return TimelineEntry(at=stamp, kind="request", event=request.hook_event_name, request_id=request.id,
                             summary=request.summary or None)
    response = request.response
    answer = response if isinstance(response, str) else (
        "; ".join(f"{k}: {v}" for k, v in response.items()) if isinstance(response, dict) else None)
    return TimelineEntry(at=stamp, kind="answer", request_id=request.id, summary=answer or request.resolution,
                         via=request.resolved_via, by=by)


def pending_after(change: lifecycle.Change, current: Record | None) -> Record | None:
    """The session's pending request once a lifecycle change (server/lifecycle.py) is made."""
    if isinstance(change, (lifecycle.Create, lifecycle.Enrich)):
        return change.record
    return None if isinstance(change, lifecycle.Resolve) else current
