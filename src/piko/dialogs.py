"""What a request shows beyond its summary: the `detail` of a tool call (a file change as a unified diff
with context from disk, a plan, an MCP call, a web address) and the `suggestions` a "don't ask again"
may grant, each said in words (docs/dialogs.md lists the dialogs).

The server runs as the agent's user, so it may read the file an edit changes: only a regular file, read
through its real path, never under /proc, /sys or /dev, and at most MAX_READ bytes of UTF-8 text.
"""

from __future__ import annotations

import difflib
import os
import stat
from typing import Any

from piko.models import Detail, DiffDetail, McpDetail, PlanDetail, RawDetail, Record, Suggestion, WebDetail

MAX_READ = 1 << 20  # bytes of a file read for the context of its diff
FOLD_LINES = 400  # a diff longer than this is cut (folded) ...
FOLD_BYTES = 64 * 1024  # ... or larger than this
REFUSED_ROOTS = ("/proc", "/sys", "/dev")
FILE_TOOLS = ("Edit", "MultiEdit", "Write", "NotebookEdit")
PLAN_TOOL = "ExitPlanMode"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_text(path: str) -> str | None:
    """The UTF-8 text of the regular file at `path`; None when it cannot be read safely (missing, not a
    regular file, under /proc, /sys or /dev, larger than MAX_READ, not text)."""
    if not path.startswith("/"):
        return None
    real = os.path.realpath(path)
    if any(real == root or real.startswith(root + "/") for root in REFUSED_ROOTS):
        return None
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_READ:
            return None
        data = os.read(fd, MAX_READ + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) > MAX_READ:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _edited(text: str, edits: list[dict[str, Any]]) -> str | None:
    """`text` with `edits` (old_string -> new_string) applied in order; None when one does not apply."""
    for edit in edits:
        old, new = _str(edit.get("old_string")), _str(edit.get("new_string"))
        if old is None or new is None or not old or old not in text:
            return None
        text = text.replace(old, new) if edit.get("replace_all") is True else text.replace(old, new, 1)
    return text


def _edits_alone(edits: list[dict[str, Any]]) -> tuple[str, str]:
    """The edits' own old and new strings, one after the other, when the file gives no context."""
    old = "".join(_with_newline(_str(e.get("old_string")) or "") for e in edits)
    new = "".join(_with_newline(_str(e.get("new_string")) or "") for e in edits)
    return old, new


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def diff_detail(tool_name: str, tool_input: dict[str, Any]) -> DiffDetail | None:
    """The unified diff a file tool's call makes; None when its input names no file."""
    path = _str(tool_input.get("file_path")) or _str(tool_input.get("notebook_path"))
    if not path:
        return None
    on_disk = read_text(path)
    new_file = False
    if tool_name == "Write":
        before, after = on_disk or "", _str(tool_input.get("content")) or ""
        new_file = on_disk is None and not os.path.lexists(path)
    elif tool_name == "NotebookEdit":
        before, after = "", _str(tool_input.get("new_source")) or ""
    else:
        raw = _list(tool_input.get("edits")) if tool_name == "MultiEdit" else [tool_input]
        edits = [e for e in raw if isinstance(e, dict)]
        done = _edited(on_disk, edits) if on_disk is not None else None
        before, after = (on_disk or "", done) if done is not None else _edits_alone(edits)
    return unified(path, before, after, new_file)


def unified(path: str, before: str, after: str, new_file: bool) -> DiffDetail:
    """A diff detail of `before` -> `after`, with 3 lines of context, folded when large."""
    lines = list(difflib.unified_diff(
        before.splitlines(), after.splitlines(), "/dev/null" if new_file else f"a{path}", f"b{path}",
        n=3, lineterm=""))
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    text = "\n".join(lines)
    folded = len(lines) > FOLD_LINES or len(text.encode()) > FOLD_BYTES
    if folded:
        text = "\n".join(lines[:FOLD_LINES]).encode()[:FOLD_BYTES].decode("utf-8", "ignore")
    return DiffDetail(path=path, unified=text, added=added, removed=removed, new_file=new_file, folded=folded,
                      size=len(lines))


def plan_detail(tool_input: dict[str, Any]) -> PlanDetail:
    """The plan an ExitPlanMode call asks to approve: from its input (newer releases send `plan` and
    `planFilePath`), else read from its plan file."""
    path = _str(tool_input.get("planFilePath"))
    plan = _str(tool_input.get("plan"))
    if plan is not None:
        return PlanDetail(markdown=plan, source="tool_input", path=path)
    text = read_text(path) if path and path.endswith(".md") else None
    return PlanDetail(markdown=text or "", source="file", path=path)


def reads_disk(tool: str | None) -> bool:
    """Does `detail_of` read a file for this tool (the edited file, the plan file)? Then it is called off
    the event loop."""
    return tool in FILE_TOOLS or tool == PLAN_TOOL


def detail_of(record: Record) -> Detail | None:
    """The `detail` of a request: what its tool call does, shown in full; None when there is nothing
    to add (no tool, or a question: its questions are its tool_input)."""
    tool = record.tool_name
    if not tool or record.kind != "permission":
        return None
    tool_input = _dict(record.tool_input)
    if tool in FILE_TOOLS:
        return diff_detail(tool, tool_input) or RawDetail()
    if tool == PLAN_TOOL:
        return plan_detail(tool_input)
    if tool.startswith("mcp__") and tool.count("__") >= 2:
        server, name = tool[5:].split("__", 1)
        return McpDetail(server=server, tool=name, arguments=tool_input)
    if tool in ("WebFetch", "WebSearch"):
        return WebDetail(url=_str(tool_input.get("url")), query=_str(tool_input.get("query")))
    if tool == "Bash":
        return None  # the command is the summary, shown whole
    return RawDetail()


# ---- "don't ask again": what each suggestion grants -----------------------------------------------

_DESTINATIONS = {"session": "for this session", "localSettings": "in this project, for you",
                 "projectSettings": "in this project", "userSettings": "in every project"}
_MODES = {"acceptEdits": "accept edits mode", "bypassPermissions": "bypass permissions mode",
          "default": "ask each time", "plan": "plan mode"}


def suggestion(index: int, item: Any) -> Suggestion:
    """One of `permission_suggestions` in words: the label says what it grants."""
    entry = _dict(item)
    kind = entry.get("type")
    where = _DESTINATIONS.get(str(entry.get("destination")), "")
    if kind in ("addRules", "replaceRules"):
        rules = [r for r in _list(entry.get("rules")) if isinstance(r, dict)]
        names = [f"{r.get('toolName')}({r['ruleContent']})" if r.get("ruleContent") else str(r.get("toolName"))
                 for r in rules]
        verb = {"deny": "deny ", "ask": "always ask for "}.get(str(entry.get("behavior")), "")
        return Suggestion(index=index, kind="rule", label=_join(verb + ", ".join(names), where))
    if kind == "addDirectories":
        dirs = ", ".join(str(d) for d in _list(entry.get("directories")))
        return Suggestion(index=index, kind="directory", label=_join(f"access to {dirs}", where))
    if kind == "setMode":
        mode = str(entry.get("mode", ""))
        return Suggestion(index=index, kind="mode", label=_join(_MODES.get(mode, f"{mode} mode"), where))
    return Suggestion(index=index, kind="other", label=str(kind or "a permission change"))


def _join(what: str, where: str) -> str:
    return f"{what} {where}" if where else what


def suggestions_of(suggestions: Any) -> list[Suggestion]:
    """Every permission suggestion, said in words."""
    return [suggestion(i, item) for i, item in enumerate(suggestions)] if isinstance(suggestions, list) else []


# ---- a question's answers ---------------------------------------------------------------------------

def joined_answers(tool_input: Any, answers: Any) -> dict[str, str]:
    """Check a question's `answers` (question text -> label, a list of labels for a multiSelect
    question, or the person's own words) against the questions asked, and give them as Claude Code takes
    them: several labels joined with ", ". Every question asked must be answered. Raises ValueError."""
    if not isinstance(answers, dict) or not answers:
        raise ValueError('answers must map question text to an answer: {"question": "label"}')
    asked = {q["question"]: q for q in _list(_dict(tool_input).get("questions"))
             if isinstance(q, dict) and isinstance(q.get("question"), str)}
    out: dict[str, str] = {}
    for question, answer in answers.items():
        if not isinstance(question, str):
            raise ValueError("answers must map question text to an answer")
        if asked and question not in asked:
            raise ValueError(f"no question {question!r} was asked")
        labels = answer if isinstance(answer, list) else [answer]
        if not labels or not all(isinstance(a, str) and a.strip() for a in labels):
            raise ValueError(f"the answer to {question!r} must be a label, your own words, or (multiSelect)"
                             " a non-empty list of labels")
        if len(labels) > 1 and not _dict(asked.get(question)).get("multiSelect"):
            raise ValueError(f"{question!r} takes one answer (it is not a multiSelect question)")
        if any("\ud800" <= c <= "\udfff" for text in (question, *labels) for c in text):
            raise ValueError("answers hold a lone surrogate (half of a UTF-16 pair), which is not text;"
                             " nothing was sent")
        out[question] = ", ".join(labels)
    missing = [q for q in asked if q not in out]
    if missing:
        raise ValueError(f"every question must be answered: {missing[0]!r} has no answer")
    return out


# ---- a plan's approval ------------------------------------------------------------------------------

# The mode a plan approval leaves plan mode in (a setMode permission update, for this session).
PLAN_MODES = {"auto": "acceptEdits", "manual": "default"}


def plan_decision(tool_input: dict[str, Any] | None, mode: str, message: str | None) -> dict[str, Any]:
    """The hook's decision for a plan approval (Claude Code's JSON): allow with the call's `tool_input`
    unchanged (Claude Code ignores an ExitPlanMode allow without `updatedInput`) and the mode to leave plan
    mode in; or, for keep, deny with the person's feedback (Claude stays in plan mode)."""
    if mode == "keep":
        return {"behavior": "deny", "message": message or "Keep planning (from Piko Orchestra)."}
    return {"behavior": "allow", "updatedInput": tool_input or {},
            "updatedPermissions": [{"type": "setMode", "mode": PLAN_MODES[mode], "destination": "session"}]}


def key_for_plan(mode: str, options: list[tuple[str, str]]) -> str | None:
    """The key of a plan approval's option for `mode` (auto, manual, keep) on its screen."""
    words = {"auto": ("auto", "accept edits"), "manual": ("manual", "default", "ask each time"),
             "keep": ("tell claude", "no", "keep planning")}[mode]
    for key, label in options:
        low = label.lower()
        if any(low.startswith(w) if w == "no" else w in low for w in words):
            return key
    return None
