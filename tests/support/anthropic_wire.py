"""The Messages API's answers, as the stand-in sends them: a message as JSON, or as Server-Sent Events."""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_mock{next(_ids)}_{uuid.uuid4().hex[:12]}"


def _usage(output_tokens: int = 1) -> dict[str, Any]:
    return {
        "input_tokens": 10,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def _stop_reason(blocks: list[dict[str, Any]]) -> str:
    return "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"


def message_json(body: dict[str, Any], blocks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or "claude-mock",
        "content": blocks,
        "stop_reason": _stop_reason(blocks),
        "stop_sequence": None,
        "usage": _usage(max(1, sum(len(json.dumps(b)) for b in blocks) // 4)),
    }


def sse_events(body: dict[str, Any], blocks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    msg = message_json(body, blocks)
    start = dict(msg, content=[], stop_reason=None, usage=_usage(1))
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
    for i, b in enumerate(blocks):
        if b["type"] == "tool_use":
            head = {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}
            raw = json.dumps(b["input"], ensure_ascii=False)
            chunks = [raw[j : j + 40] for j in range(0, len(raw), 40)] or [""]
            deltas = [{"type": "input_json_delta", "partial_json": c} for c in chunks]
        else:
            head = {"type": "text", "text": ""}
            t = b.get("text", "")
            chunks = [t[j : j + 40] for j in range(0, len(t), 40)] or [""]
            deltas = [{"type": "text_delta", "text": c} for c in chunks]
        events.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": head}))
        for d in deltas:
            events.append(("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": msg["usage"]["output_tokens"]},
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events
