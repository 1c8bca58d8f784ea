"""What the stand-in answers each turn: the scripted tool calls (see tests/support/fake_anthropic.py).

``decide`` picks the content blocks from the person's latest prompt; ``steps`` carries a scenario of
several tool calls by state, so it never loops.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from tests.support.anthropic_reading import (
    find_cwd,
    last_prompt,
    person_text,
    summarize_tool_result,
    tool_results,
    tools_called,
)
from tests.support.anthropic_wire import new_id

log = logging.getLogger("fake_anthropic")

DEFAULT_BASH_COMMAND = "touch /tmp/build-marker"
BASH_DESCRIPTION = "Run the mock command"
WRITE_CONTENT = "hello\n"
SIDE_CALL_TEXT = "Mock session"

ASK_INPUT: dict[str, Any] = {
    "questions": [
        {
            "question": "Which database should the app use?",
            "header": "Database",
            "options": [
                {"label": "PostgreSQL", "description": "Relational, robust"},
                {"label": "SQLite", "description": "Embedded, simple"},
            ],
            "multiSelect": False,
        }
    ]
}

ASK2_INPUT: dict[str, Any] = {
    "questions": [
        {
            "question": "Which features should the app have?",
            "header": "Features",
            "options": [
                {"label": "Auth", "description": "Sign in"},
                {"label": "Search", "description": "Full text"},
                {"label": "Cache", "description": "Faster pages"},
            ],
            "multiSelect": True,
        },
        {
            "question": "Which database should the app use?",
            "header": "Database",
            "options": [
                {"label": "PostgreSQL", "description": "Relational, robust"},
                {"label": "SQLite", "description": "Embedded, simple"},
            ],
            "multiSelect": False,
        },
    ]
}
PLAN_TEXT = "# Plan: add a greeting\n\n1. Write `hello.txt`\n2. **Test** it\n\n<script>alert(1)</script>\n"

_BASH_RE = re.compile(r"\[bash:(.*)\]", re.S)  # greedy: the command may contain "]"
_WRITE_RE = re.compile(r"\[write:([^\]]+)\]")
_EDIT_RE = re.compile(r"\[edit:([^:\]]+):(.*?)=>(.*?)\]", re.S)
_MCP_RE = re.compile(r"\[mcp:(\w+):(\w+):([^\]]*)\]")
_PLAN_FILE_RE = re.compile(r"create your plan at (\S+?\.md)")


def steps(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The next step of a scenario of several tool calls, by state; None when no such scenario runs."""
    prompt, since = last_prompt(body), tools_called(body)
    if "[plan]" in prompt:
        m = _PLAN_FILE_RE.search(json.dumps(body))
        if m and "Write" not in since:
            return [_tool_use("Write", {"file_path": m.group(1).replace("\\/", "/"), "content": PLAN_TEXT})]
        if "ExitPlanMode" not in since:
            return [_tool_use("ExitPlanMode", {})]
    m = _EDIT_RE.search(prompt)
    if m:
        path, old, new = m.group(1).strip(), m.group(2), m.group(3)
        if "Read" not in since:
            return [_tool_use("Read", {"file_path": path})]
        if "Edit" not in since:
            return [_tool_use("Edit", {"file_path": path, "old_string": old, "new_string": new,
                                       "replace_all": False})]
    return None


def decide(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Content blocks to answer ``body`` with."""
    if not body.get("tools"):
        return [{"type": "text", "text": SIDE_CALL_TEXT}]

    step = steps(body)
    if step is not None:
        return step
    text = person_text(body)
    results = tool_results(body)
    if results and not text:
        # A tool round. (After an interrupted tool use, the rejected tool_result comes together
        # with the person's next prompt: then the prompt wins.)
        summary = " | ".join(summarize_tool_result(b) for b in results)
        return [{"type": "text", "text": f"TOOL RESULT: {summary}"}]

    if "[bash" in text:
        m = _BASH_RE.search(text)
        command = m.group(1).strip() if m else DEFAULT_BASH_COMMAND
        if "[bash]" in text or m:
            return [_tool_use("Bash", {"command": command, "description": BASH_DESCRIPTION})]
    if "[write" in text:
        m = _WRITE_RE.search(text)
        if m or "[write]" in text:
            path = m.group(1).strip() if m else f"{(find_cwd(body) or '/tmp').rstrip('/')}/mock-written.txt"
            return [_tool_use("Write", {"file_path": path, "content": WRITE_CONTENT})]
    if "[ask]" in text:
        return [_tool_use("AskUserQuestion", json.loads(json.dumps(ASK_INPUT)))]
    if "[ask2]" in text:
        return [_tool_use("AskUserQuestion", json.loads(json.dumps(ASK2_INPUT)))]
    m = _MCP_RE.search(text)
    if m:
        return [_tool_use(f"mcp__{m.group(1)}__{m.group(2)}", {"text": m.group(3)})]
    if not text:
        log.warning("request with tools but neither a prompt nor a tool_result: %s", json.dumps(body)[:500])
    return [{"type": "text", "text": f"ECHO: {text}"}]


def _tool_use(name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tool_use", "id": new_id("toolu"), "name": name, "input": tool_input}

