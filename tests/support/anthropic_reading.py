"""Reading a Messages API request, for the stand-in (tests/support/fake_anthropic.py).

What the person typed (Claude Code's wrapper blocks taken off), the tool results the request carries,
the tools called since the person's latest prompt, and the working directory the system prompt names.
"""

from __future__ import annotations

import re
from typing import Any

# Text blocks Claude Code adds around the person's prompt start with one of these tags.
_WRAPPER_RE = re.compile(
    r"^\s*<(system-reminder|command-name|command-message|command-args|local-command-stdout|"
    r"local-command-stderr|user-prompt-submit-hook|bash-input|bash-stdout|bash-stderr|"
    r"ide_selection|ide_opened_file|session-start-hook)\b",
    re.S,
)
# Lines Claude Code itself adds as separate text blocks.
_NOISE_PREFIXES = ("[Request interrupted by user",)
_CWD_RE = re.compile(r"(?:Primary working directory|Working directory|cwd):\s*(\S+)", re.I)


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b if isinstance(b, dict) else {"type": "text", "text": str(b)} for b in content]
    return []


def last_user_message(body: dict[str, Any]) -> dict[str, Any] | None:
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return msg
    return None


def _is_wrapper(text: str) -> bool:
    return bool(_WRAPPER_RE.match(text)) or text.lstrip().startswith(_NOISE_PREFIXES)


def own_texts(msg: dict[str, Any] | None) -> list[str]:
    """Text blocks of a user message that the person typed (Claude Code's wrapper blocks removed)."""
    if msg is None:
        return []
    texts = [b.get("text") for b in _blocks(msg.get("content")) if b.get("type") == "text"]
    return [t for t in texts if isinstance(t, str) and t.strip() and not _is_wrapper(t)]


def person_text(body: dict[str, Any]) -> str:
    """The text the person typed, from the latest user message ("" for a pure tool_result round)."""
    msg = last_user_message(body)
    own = own_texts(msg)
    if own:
        return own[-1]
    if msg is None or any(b.get("type") == "tool_result" for b in _blocks(msg.get("content"))):
        return ""
    # Only wrapper blocks: strip the tags and use whatever is left.
    texts = [b.get("text") for b in _blocks(msg.get("content")) if isinstance(b.get("text"), str)]
    for t in reversed(texts):
        stripped = re.sub(r"<([\w-]+)\b[^>]*>.*?</\1>", "", t, flags=re.S).strip()
        if stripped:
            return stripped
    return ""


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    msg = last_user_message(body)
    if msg is None:
        return []
    return [b for b in _blocks(msg.get("content")) if b.get("type") == "tool_result"]


def summarize_tool_result(block: dict[str, Any], limit: int = 300) -> str:
    content = block.get("content")
    if isinstance(content, list):
        parts = []
        for b in content:
            if isinstance(b, dict) and b.get("type") == "text":
                parts.append(str(b.get("text", "")))
            elif isinstance(b, dict):
                parts.append(f"[{b.get('type', '?')}]")
            else:
                parts.append(str(b))
        text = " ".join(parts)
    elif content is None:
        text = ""
    else:
        text = str(content)
    text = re.sub(r"\s+", " ", text).strip()
    if block.get("is_error"):
        text = "error: " + text
    if not text:
        text = "(empty)"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def system_text(body: dict[str, Any]) -> str:
    system = body.get("system")
    if isinstance(system, str):
        return system
    return "\n".join(b.get("text", "") for b in _blocks(system) if isinstance(b.get("text"), str))


def find_cwd(body: dict[str, Any]) -> str | None:
    m = _CWD_RE.search(system_text(body))
    if m:
        return m.group(1).rstrip(".,")
    # Claude Code also mentions the directory in user-context reminders.
    for msg in body.get("messages") or []:
        for b in _blocks(msg.get("content") if isinstance(msg, dict) else None):
            m = _CWD_RE.search(str(b.get("text", "")))
            if m:
                return m.group(1).rstrip(".,")
    return None


def tools_called(body: dict[str, Any]) -> list[str]:
    """The names of the tools the assistant called since the person's latest prompt."""
    called: list[str] = []
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            continue
        if msg.get("role") == "user" and own_texts(msg):
            called = []
        elif msg.get("role") == "assistant":
            called += [str(b.get("name")) for b in _blocks(msg.get("content")) if b.get("type") == "tool_use"]
    return called


def last_prompt(body: dict[str, Any]) -> str:
    """The person's latest prompt in the conversation (also during the tool rounds that follow it)."""
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            own = own_texts(msg)
            if own:
                return own[-1]
    return ""

