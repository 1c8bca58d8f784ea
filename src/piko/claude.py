"""Claude Code: its hook payloads, the choices its prompts offer and the answers its hooks print (what its
screens show: claude_screen.py).

The server and the CLI use this; the hook (`piko cc notify`) does not.
"""

from __future__ import annotations

import json
import re
from typing import Any

from piko import dialogs, names
from piko.models import Answers, Decision, HookEvent, Kind, Option, PlanChoice, Record

# Fields of a notify body that the record keeps as its own; everything else goes to `extra`.
STRING_FIELDS = (
    "hook_event_name",
    "notification_type",
    "message",
    "title",
    "session_id",
    "cwd",
    "tool_name",
    "project_name",
    "env_name",
    "tmux_session",
    "tmux_target",
    "tmux_socket",
)
KNOWN_FIELDS = STRING_FIELDS + ("tool_input", "permission_suggestions", "names_given")

# Events that show the session moved on: its pending request is answered.
RESOLVING_EVENTS = frozenset(
    {"PostToolUse", "PostToolUseFailure", "UserPromptSubmit", "Stop", "SessionEnd"}
)
# Notification types that tell, not ask (an MCP elicitation's answer or its end, after it was answered).
INFORMATIONAL_NOTIFICATIONS = frozenset({"auth_success", "elicitation_response", "elicitation_complete"})

MAX_FIELD_CHARS = 4096
MAX_DEPTH = 32  # how deep JSON may nest inside a hook event (real payloads nest a few levels)
NAMES = ("project", "env")  # names_given: the names the hook was told (PIKO_PROJECT, PIKO_ENV_NAME)
_PANE_ID = re.compile(r"%[0-9]+")  # fullmatch: ASCII digits only, no trailing newline
# Text SQLite and UTF-8 cannot hold (lone surrogates), or that tmux arguments cannot (NUL).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class PayloadError(ValueError):
    """A notify body that cannot be accepted; the message says why."""


def repair(value: Any, depth: int = 0) -> Any:
    """`value` with every lone surrogate and NUL, in keys and strings at any depth, replaced by U+FFFD.

    Raises PayloadError when JSON nests deeper than MAX_DEPTH.
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, (dict, list)) and depth >= MAX_DEPTH:
        raise PayloadError(f"the event nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {repair(k): repair(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [repair(v, depth + 1) for v in value]
    return value


def has_surrogate(text: str) -> bool:
    """Does `text` hold a lone surrogate (which cannot be stored or sent as UTF-8)?"""
    return any("\ud800" <= c <= "\udfff" for c in text)


def normalize_event(body: Any) -> tuple[HookEvent, dict[str, Any]]:
    """Split a notify body into (the event's known fields, extra fields), checking types.

    Text that cannot be stored is repaired (U+FFFD). Fields inside tool_input and permission_suggestions
    are Claude Code's and kept as given; parts of the wrong type there are ignored where Piko reads them.
    Raises PayloadError with a sentence naming the bad field.
    """
    if not isinstance(body, dict):
        raise PayloadError("the body must be a JSON object")
    body = repair(body)
    fields: dict[str, Any] = {}
    for name in STRING_FIELDS:
        value = body.get(name)
        if value is None or value == "":
            fields[name] = None
            continue
        if not isinstance(value, str):
            raise PayloadError(f"{name} must be a string, not {type(value).__name__}")
        if name != "message" and len(value) > MAX_FIELD_CHARS:
            raise PayloadError(f"{name} is longer than {MAX_FIELD_CHARS} characters")
        fields[name] = value
    if not fields["hook_event_name"]:
        raise PayloadError("hook_event_name is required")
    tool_input = body.get("tool_input")
    if tool_input is not None and not isinstance(tool_input, dict):
        raise PayloadError("tool_input must be a JSON object")
    fields["tool_input"] = tool_input
    suggestions = body.get("permission_suggestions")
    if suggestions is not None and not isinstance(suggestions, list):
        raise PayloadError("permission_suggestions must be a list")
    fields["permission_suggestions"] = suggestions
    given = body.get("names_given")
    if given is not None and (not isinstance(given, list) or not all(n in NAMES for n in given)):
        raise PayloadError('names_given must be a list of "project" and "env"')
    fields["names_given"] = sorted(set(given or []))
    target = fields["tmux_target"]
    if target is not None and not _PANE_ID.fullmatch(target):
        raise PayloadError("tmux_target must be a tmux pane id: % and ASCII digits, such as %3")
    socket = fields["tmux_socket"]
    if socket is not None:
        socket = socket.split(",", 1)[0]  # $TMUX is "socket,pid,index"
        if not socket.startswith("/"):
            raise PayloadError("tmux_socket must be an absolute path (the first part of $TMUX)")
        fields["tmux_socket"] = socket
    apply_piko_names(fields)
    extra = {k: v for k, v in body.items() if k not in KNOWN_FIELDS}
    return HookEvent(**fields), extra


def event_fields(event: HookEvent) -> dict[str, Any]:
    """The known fields of a normalized event (KNOWN_FIELDS), by name: what a record takes of it."""
    return {name: getattr(event, name) for name in KNOWN_FIELDS}


def apply_piko_names(fields: dict[str, Any]) -> bool:
    """Name the project and env from a tmux session Piko named `piko/<project>/<env>`, unless the hook was
    given them (names_given). True when a name changed."""
    found = names.from_session(fields.get("tmux_session"))
    if found is None:
        return False
    changed = False
    for name, value in zip(NAMES, found, strict=False):
        key = f"{name}_name"
        if name not in (fields.get("names_given") or ()) and fields.get(key) != value:
            fields[key] = value
            changed = True
    return changed


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def kind_of(event: HookEvent) -> Kind | None:
    """What a person is asked by this event, or None when it asks nothing."""
    if event.hook_event_name == "PermissionRequest":
        return "question" if event.tool_name == "AskUserQuestion" else "permission"
    if event.hook_event_name == "Elicitation":
        return "elicitation"
    if event.hook_event_name == "Notification":
        ntype = event.notification_type
        if ntype == "permission_prompt":
            return "permission"
        if ntype == "idle_prompt":
            return "idle"
        if ntype in INFORMATIONAL_NOTIFICATIONS:
            return None
        return "notice"
    return None


def options_for(kind: str, tool_input: dict[str, Any] | None, suggestions: list[Any] | None) -> list[Option]:
    """The choices a person can make, for buttons. Keys are the usual menu numbers; the server checks
    the live screen before it presses one."""
    if kind == "permission":
        options = [Option(key="1", label="Yes", decision="allow")]
        if suggestions:
            grants = describe_suggestions(suggestions)
            label = "Yes, and don't ask again" + (f" ({grants})" if grants else "")
            options.append(Option(key="2", label=label, decision="always"))
        options.append(Option(key=str(len(options) + 1), label="No", decision="deny"))
        return options
    if kind == "question":
        questions = _list(_dict(tool_input).get("questions"))
        first = _dict(questions[0]) if questions else {}
        return [Option(key=str(i), label=str(opt.get("label", "")), description=str(opt.get("description", "")))
                for i, opt in enumerate(_list(first.get("options")), start=1) if isinstance(opt, dict)]
    return []


def option_answer(record: Record, key: str) -> Decision | Answers | None:
    """Option `key` of a request as the structured answer a waiting hook can carry, read off the options
    the person was shown: a permission's option gives its decision (1 Yes = allow, "Yes, and don't ask
    again" = always, No = deny), a lone question's option gives its label as the answer. None when the
    key names no such option (then only a key pressed on the dialog can give it)."""
    option = next((o for o in record.options if o.key == key), None)
    if option is None:
        return None
    if record.kind == "permission" and option.decision is not None:
        return Decision(decision=option.decision)
    questions = (record.tool_input or {}).get("questions")
    if (record.kind == "question" and isinstance(questions, list) and len(questions) == 1
            and isinstance(questions[0], dict) and isinstance(questions[0].get("question"), str)):
        return Answers(answers={questions[0]["question"]: option.label})
    return None


def describe_suggestions(suggestions: list[Any]) -> str:
    """What Claude Code's permission suggestions grant, in a few words: "access to /tmp · accept edits"."""
    parts: list[str] = []
    for item in _list(suggestions):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "addDirectories":
            parts.append("access to " + ", ".join(str(d) for d in _list(item.get("directories"))))
        elif kind == "setMode":
            mode = str(item.get("mode", ""))
            parts.append({"acceptEdits": "accept edits mode", "bypassPermissions": "bypass permissions mode"}
                         .get(mode, f"{mode} mode"))
        elif kind in ("addRules", "replaceRules"):
            rules = _list(item.get("rules"))
            names = [f"{r.get('toolName')}({r['ruleContent']})" if r.get("ruleContent") else str(r.get("toolName"))
                     for r in rules if isinstance(r, dict)]
            parts.append("allow " + ", ".join(names))
    return " · ".join(p for p in parts if p)


# Characters that change how text reads without being seen: C0/C1 controls (but tab and newline), bidi
# overrides and isolates, zero-width characters, line/paragraph separators (the web UI marks the same).
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def reveal(text: str) -> str:
    """`text` with every hidden character written as a visible mark such as ⟨U+202E⟩."""
    return _HIDDEN.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


def stop_message(extra: dict[str, Any]) -> str:
    """What an idle request made from a Stop event says: the start of Claude's last message."""
    last = extra.get("last_assistant_message")
    if isinstance(last, str) and last.strip():
        text = " ".join(last.split())
        return text if len(text) <= 300 else text[:299] + "…"
    return "Claude finished its turn and is waiting for your input"


SUMMARY_CHARS = 200


def _one_line(value: Any) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1] + "…"


def _relative(path: str, cwd: Any) -> str:
    base = cwd.rstrip("/") if isinstance(cwd, str) else ""
    return path[len(base) + 1:] if base and path.startswith(base + "/") else path


# The input field that says what a tool call does, per tool (else its file, command or description).
_SUMMARY_FIELD = {"Bash": "command", "WebFetch": "url", "WebSearch": "query", "Glob": "pattern",
                  "Grep": "pattern", "Task": "description", "Agent": "description", "ExitPlanMode": "plan"}


def summary_of(record: Record) -> str:
    """One line saying what `record` asks (its `summary`), see summary."""
    return summary(kind=record.kind, tool_name=record.tool_name, tool_input=record.tool_input, cwd=record.cwd,
                   message=record.message, title=record.title)


def summary(*, kind: str | None = None, tool_name: str | None = None, tool_input: Any = None, cwd: Any = None,
            message: Any = None, title: Any = None) -> str:
    """One line saying what is asked: the question, the command, the file (relative to the session's
    folder `cwd`), the URL or pattern, else the message. Whitespace runs become one space; hidden characters
    are kept (whoever shows it marks them, see reveal)."""
    tool_input = _dict(tool_input)
    if kind == "question":
        questions = [q for q in _list(tool_input.get("questions")) if isinstance(q, dict)]
        if questions:
            first = questions[0]
            text = first.get("question") or first.get("header") or message
            return _one_line(text or "")
    if kind == "permission" or tool_name:
        field = _SUMMARY_FIELD.get(str(tool_name))
        if field and tool_input.get(field):
            return _one_line(tool_input[field])
        path = tool_input.get("file_path") or tool_input.get("notebook_path") or tool_input.get("path")
        if path:
            return _one_line(_relative(str(path), cwd))
        for name in ("command", "description"):
            if tool_input.get(name):
                return _one_line(tool_input[name])
    for text in (message, title):
        if text:
            return _one_line(text)
    if tool_input:
        return _one_line(json.dumps(tool_input, ensure_ascii=False, separators=(",", ":")))
    return "Claude is waiting for your input" if kind == "idle" else ""


# How a request was resolved, by `resolved_via`, as the sentence of the record's `resolution`.
RESOLUTIONS = {
    "keys": "Answered from Piko Orchestra, typed into its pane.",
    "hook": "Answered from Piko Orchestra, through the waiting hook.",
    "terminal": "Answered in the terminal.",
    "pane_gone": "The agent's tmux pane is gone.",
    "pane_dead": "The program in the agent's tmux pane exited.",
    "claude_gone": "The agent exited.",
    "dismiss": "Dismissed.",
    "replaced": "Replaced by a newer request of the same agent.",
}


def resolution_of(record: Record) -> str | None:
    """The sentence for how `record` was resolved (its `resolution`); None while it is pending."""
    return resolution(record.status, record.resolved_via)


def resolution(status: str | None, via: str | None) -> str | None:
    """The sentence for a request of `status` resolved by `via`; None while it is pending."""
    if status == "pending":
        return None
    via = via or ""
    if via in RESOLUTIONS:
        return RESOLUTIONS[via]
    if via.startswith("event:"):
        return f"The agent moved on ({via[6:]})."
    return "Dismissed." if status == "dismissed" else "No longer pending."


# ---- structured answers through a waiting PermissionRequest hook -----------------------------------

def hook_decision(record: Record, answer: Decision | PlanChoice | Answers) -> dict[str, Any]:
    """What a waiting PermissionRequest hook prints to give `answer` to the dialog (Claude Code's JSON).
    Claude Code ignores an allow of ExitPlanMode without `updatedInput` (seen on 2.1.328): it is given the
    input unchanged."""
    decision: dict[str, Any]
    if isinstance(answer, PlanChoice):
        decision = dialogs.plan_decision(record.tool_input, answer.plan, answer.message)
    elif isinstance(answer, Answers):
        decision = {
            "behavior": "allow",
            "updatedInput": {**(record.tool_input or {}), "answers": answer.answers},
        }
    elif answer.decision == "deny":
        decision = {"behavior": "deny", "message": answer.message or "Denied from Piko Orchestra."}
    else:
        decision = {"behavior": "allow"}
        if record.tool_name == "ExitPlanMode":
            decision["updatedInput"] = record.tool_input or {}
        suggestions = record.permission_suggestions or []
        if answer.decision == "always" and suggestions:
            # The chosen ones, else all of them, as Claude Code's own "don't ask again" option does for
            # a file edit; the record's `suggestions` say what each grants.
            chosen = answer.suggestions
            decision["updatedPermissions"] = (suggestions if chosen is None
                                              else [suggestions[i] for i in chosen if i < len(suggestions)])
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}
