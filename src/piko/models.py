"""The shapes the server speaks, each defined once: the hook event it accepts, the request record, its
options, the answers a person gives, and the WebSocket messages (docs/api.md describes them in words;
`GET /api/schema` serves their JSON Schema, made from these definitions).

The wire names stay those other tools already call: a request is a "notification" on the wire
(`/api/orchestra/notifications`, the `notification` key). The hook (`piko cc notify`) never imports this
module: its path stays on the standard library.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

# What a request shows of its call (`detail`) is defined in details.py; re-exported here.
from piko.details import (
    Detail as Detail,
    DiffDetail as DiffDetail,
    ElicitationDetail as ElicitationDetail,
    ElicitationField as ElicitationField,
    McpDetail as McpDetail,
    PlanDetail as PlanDetail,
    RawDetail as RawDetail,
    WebDetail as WebDetail,
)

Kind = Literal["permission", "question", "idle", "notice", "elicitation"]
Status = Literal["pending", "resolved", "dismissed"]
DecisionName = Literal["allow", "always", "deny"]
PlanMode = Literal["auto", "manual", "keep"]


class HookEvent(msgspec.Struct, kw_only=True):
    """A Claude Code hook event as `POST /api/orchestra/notify` accepts it (claude.normalize_event checks it:
    only hook_event_name is required; every other field Claude Code sends is kept in the record's `extra`)."""

    hook_event_name: str
    notification_type: str | None = None
    message: str | None = None
    title: str | None = None
    session_id: str | None = None
    cwd: str | None = None
    tool_name: str | None = None
    project_name: str | None = None
    env_name: str | None = None
    tmux_session: str | None = None
    tmux_target: str | None = None
    tmux_socket: str | None = None
    tool_input: dict[str, Any] | None = None
    permission_suggestions: list[Any] | None = None
    names_given: list[Literal["project", "env"]] = []
    piko_event_key: str | None = None


class Option(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One choice a person can make, for a button: a permission's has a decision, a question's a description."""

    key: str
    label: str
    decision: DecisionName | None = None
    description: str | None = None


class AnsweredBy(msgspec.Struct, kw_only=True):
    """Who gave the answer: a paired device, a browser signed in by a login link, or the token holder
    (`piko respond`, scripts), with the session's id and device name where there is one."""

    kind: Literal["device", "browser", "cli"]
    id: str | None = None
    name: str | None = None


class Suggestion(msgspec.Struct, kw_only=True):
    """One of `permission_suggestions`, said in words: what granting it (decision "always") gives."""

    index: int
    kind: Literal["rule", "directory", "mode", "other"]
    label: str


class Record(msgspec.Struct, kw_only=True, frozen=True):
    """A request: what an agent asks a person, pending until answered, dismissed, or its session moves on.

    The server holds each request as one of these (frozen: a change is a new value, made with
    `msgspec.structs.replace` by server/lifecycle.py), and encodes it only where it leaves: HTTP answers,
    WebSocket messages, store rows."""

    id: str
    status: Status
    kind: Kind
    hook_event_name: str
    notification_type: str | None = None
    message: str | None = None
    title: str | None = None
    session_id: str | None = None
    cwd: str | None = None
    tool_name: str | None = None
    project_name: str | None = None
    env_name: str | None = None
    tmux_session: str | None = None
    tmux_target: str | None = None
    tmux_socket: str | None = None
    tool_input: dict[str, Any] | None = None
    permission_suggestions: list[Any] | None = None
    names_given: list[str] = []
    extra: dict[str, Any] = {}
    options: list[Option] = []
    detail: Detail | None = None  # what the tool call does, in full (dialogs.detail_of)
    suggestions: list[Suggestion] = []  # permission_suggestions in words (dialogs.suggestions_of)
    summary: str = ""  # one line: what is asked (claude.summary_of)
    hook_waiting: bool = False
    created_at: str
    updated_at: str
    resolved_at: str | None = None
    response: str | dict[str, Any] | None = None  # an accepted elicitation's: its content
    response_type: Literal["text", "option", "decision", "answers", "plan", "elicitation"] | None = None
    resolved_via: str | None = None
    resolution: str | None = None  # the sentence for how it was resolved (claude.resolution_of); null while pending
    answered_by: AnsweredBy | None = None  # set when a person's answer resolved it (POST .../respond)
    typing_since: str | msgspec.UnsetType = msgspec.UNSET  # only while keys are typed (or were, when the server died)


# ---- sessions (the fleet view) ----------------------------------------------------------------------

SessionState = Literal["working", "waiting", "idle", "ended"]


class FleetSession(msgspec.Struct, kw_only=True, frozen=True):
    """One Claude Code session the server heard from (server/fleet_rules.py keeps it up to date)."""

    session_id: str
    state: SessionState
    since: str  # when it entered this state
    updated_at: str  # its last event (or change)
    tool_name: str | None = None  # while working
    tool_summary: str | None = None  # one line of the current tool's input
    last_prompt: str | None = None
    last_answer: str | None = None  # the first lines of Claude's last message
    project_name: str | None = None
    env_name: str | None = None
    tmux_session: str | None = None
    tmux_target: str | None = None
    tmux_socket: str | None = None
    cwd: str | None = None
    git_branch: str | None = None
    request_id: str | None = None  # its pending permission or question, while waiting
    quiet: bool = False  # working, with no event for longer than QUIET_SECONDS
    ended_via: str | None = None  # event:SessionEnd, pane_gone, pane_dead or claude_gone


class TimelineEntry(msgspec.Struct, kw_only=True, frozen=True):
    """One step of a session's audit trail: a hook event, a request made, or how it was answered."""

    at: str
    kind: Literal["event", "request", "answer"]
    event: str | None = None
    request_id: str | None = None
    summary: str | None = None
    via: str | None = None  # how a request was answered (its resolved_via)
    by: str | None = None  # who answered: "token" (the CLI or a script) or "browser:<session id>"


class SessionList(msgspec.Struct, kw_only=True):
    """`GET /api/orchestra/sessions`."""

    sessions: list[FleetSession]


class SessionDetail(msgspec.Struct, kw_only=True):
    """`GET /api/orchestra/sessions/{id}`: the session and its timeline, oldest first."""

    session: FleetSession
    timeline: list[TimelineEntry]


# ---- answers ----------------------------------------------------------------------------------------

ElicitationAction = Literal["accept", "decline", "cancel"]


class ElicitationReply(msgspec.Struct, kw_only=True):
    """An MCP elicitation's answer: accept with the form's `content` (checked against its fields), or
    decline, or cancel (no content)."""

    action: ElicitationAction
    content: dict[str, Any] | None = None


class RespondBody(msgspec.Struct, kw_only=True):
    """`POST /api/orchestra/respond`: exactly one of response, decision, answers, plan, elicitation
    (delivery.plan checks it). `suggestions` (with decision "always") picks which permission_suggestions to
    grant; a multiSelect question's answer may be a list of labels."""

    notification_id: str
    response: str | None = None
    response_type: Literal["text", "option"] | None = None
    decision: DecisionName | None = None
    message: str | None = None
    answers: dict[str, str | list[str]] | None = None
    suggestions: list[int] | None = None
    plan: PlanMode | None = None
    elicitation: ElicitationReply | None = None


class Decision(msgspec.Struct, tag_field="type", tag="decision", kw_only=True, frozen=True):
    """Allow, always allow or deny a permission (deny may tell Claude why)."""

    decision: DecisionName
    message: str | None = None
    suggestions: tuple[int, ...] | None = None  # for "always": the permission_suggestions granted (None: all)


class PlanChoice(msgspec.Struct, tag_field="type", tag="plan", kw_only=True, frozen=True):
    """A plan's approval: leave plan mode accepting edits (auto) or asking for each (manual), or keep
    planning (keep) with `message` as feedback for Claude."""

    plan: PlanMode
    message: str | None = None


class Answers(msgspec.Struct, tag_field="type", tag="answers", kw_only=True, frozen=True):
    """A question's answers: question text -> the chosen option's label (several, for a multiSelect
    question, joined with ", " as Claude Code's own dialog does; any other text is the person's own words)."""

    answers: dict[str, str]


class OptionKey(msgspec.Struct, tag_field="type", tag="option", kw_only=True, frozen=True):
    """The key of a menu option (1-9), pressed on the dialog."""

    key: str


class Text(msgspec.Struct, tag_field="type", tag="text", kw_only=True, frozen=True):
    """Text typed into the agent's pane, then Enter."""

    text: str


class Elicited(msgspec.Struct, tag_field="type", tag="elicitation", kw_only=True, frozen=True):
    """An MCP elicitation answered: accept with the checked content, decline or cancel."""

    action: ElicitationAction
    content: dict[str, Any] | None = None


Answer = Decision | PlanChoice | Answers | OptionKey | Text | Elicited


def answer_type(answer: Answer) -> Literal["decision", "answers", "option", "text", "plan", "elicitation"]:
    """The record's `response_type` for `answer`."""
    if isinstance(answer, Elicited):
        return "elicitation"
    if isinstance(answer, Decision):
        return "decision"
    if isinstance(answer, PlanChoice):
        return "plan"
    if isinstance(answer, Answers):
        return "answers"
    return "option" if isinstance(answer, OptionKey) else "text"


def answer_response(answer: Answer) -> str | dict[str, Any]:
    """The record's `response` for `answer`: what answered it (an accepted elicitation: its content)."""
    if isinstance(answer, Elicited):
        return (answer.content or {}) if answer.action == "accept" else answer.action
    if isinstance(answer, Decision):
        return answer.decision if not answer.message else f"deny: {answer.message}"
    if isinstance(answer, PlanChoice):
        return answer.plan if not answer.message else f"{answer.plan}: {answer.message}"
    if isinstance(answer, Answers):
        return answer.answers
    return answer.key if isinstance(answer, OptionKey) else answer.text


# ---- answers of the API ---------------------------------------------------------------------------

class NotifyAnswer(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str | None
    action: Literal["created", "updated", "resolved", "deferred", "ignored", "duplicate"]
    notification: Record | None
    wait_key: str | None = None  # only to the hook whose PermissionRequest created the request


class RespondAnswer(msgspec.Struct, kw_only=True):
    ok: bool
    delivered_via: Literal["keys", "hook"]
    notification: Record


class ErrorBody(msgspec.Struct, kw_only=True):
    """Every refusal: a sentence, and a machine code (some add fields, e.g. `notification`)."""

    error: str
    code: str


class WaitLine(msgspec.Struct, kw_only=True):
    """The last line of `POST .../wait`: the hook's output, or null when resolved some other way."""

    status: Literal["decided", "resolved"]
    output: dict[str, Any] | None


class NotifyTargetBody(msgspec.Struct, kw_only=True):
    """`POST /api/notify-targets`: an apprise URL, the seconds a request waits unanswered before it is sent
    there (0 to 86400), and whether the message names the tool and the command (server/targets.py checks it)."""

    url: str
    delay: float = 0.0
    content: bool = False


class NotifyTarget(msgspec.Struct, kw_only=True):
    """A notify target as the API shows it: its URL with the secrets masked."""

    id: str
    url: str
    delay: float
    content: bool
    created_at: str


# ---- WebSocket messages ---------------------------------------------------------------------------

class Snapshot(msgspec.Struct, tag_field="type", tag="snapshot", kw_only=True):
    notifications: list[Record]
    sessions: list[FleetSession] = []


class Created(msgspec.Struct, tag_field="type", tag="created", kw_only=True):
    notification: Record


class Updated(msgspec.Struct, tag_field="type", tag="updated", kw_only=True):
    notification: Record


class Resolved(msgspec.Struct, tag_field="type", tag="resolved", kw_only=True):
    notification: Record


class Dismissed(msgspec.Struct, tag_field="type", tag="dismissed", kw_only=True):
    notification: Record


class SessionChanged(msgspec.Struct, tag_field="type", tag="session", kw_only=True):
    session: FleetSession


class Ping(msgspec.Struct, tag_field="type", tag="ping"):
    pass


class Pong(msgspec.Struct, tag_field="type", tag="pong"):
    pass


class Presence(msgspec.Struct, tag_field="type", tag="presence", kw_only=True):
    """The page's inbox is (or is no longer) in a visible tab: no Web Push while one is (server/push.py)."""

    visible: bool


ServerMessage = Snapshot | Created | Updated | Resolved | Dismissed | SessionChanged | Pong
ClientMessage = Ping | Presence
ChangeKind = Literal["created", "updated", "resolved", "dismissed"]
CHANGE_MESSAGES: dict[ChangeKind, type[Created | Updated | Resolved | Dismissed]] = {
    "created": Created, "updated": Updated, "resolved": Resolved, "dismissed": Dismissed}


def api_schema() -> dict[str, Any]:
    """The JSON Schema of the API's bodies (`GET /api/schema`)."""
    types: tuple[Any, ...] = (HookEvent, NotifyAnswer, RespondBody, RespondAnswer, Record, ErrorBody,
                              WaitLine, ServerMessage, ClientMessage, NotifyTargetBody, NotifyTarget, SessionList,
                              SessionDetail)
    (refs, components) = msgspec.json.schema_components(types, ref_template="#/$defs/{name}")
    names = ("HookEvent", "NotifyAnswer", "RespondBody", "RespondAnswer", "Record", "ErrorBody", "WaitLine",
             "ServerMessage", "ClientMessage", "NotifyTargetBody", "NotifyTarget", "SessionList", "SessionDetail")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Piko Orchestra API",
            "properties": dict(zip(names, refs, strict=True)),
            "$defs": components}
