"""A small stand-in for the Anthropic Messages API, for driving the real Claude Code CLI offline.

Use from pytest::

    with FakeAnthropic() as api:
        env = {"ANTHROPIC_BASE_URL": api.url, ...}
        ...
        assert any("hello" in p for p in api.prompts())

or from a shell::

    python tests/support/fake_anthropic.py --port 8765

Behaviour is chosen from the latest user message of each ``POST /v1/messages`` request:

* the last user message carries a ``tool_result`` -> text ``TOOL RESULT: <summary>`` (end_turn)
* the person's text contains ``[bash]`` / ``[bash:CMD]`` -> tool_use ``Bash`` (default ``touch /tmp/build-marker``)
* ``[write]`` / ``[write:/abs/path]`` -> tool_use ``Write`` (default ``<cwd>/mock-written.txt``), content ``hello\\n``
* ``[ask]`` -> tool_use ``AskUserQuestion`` (Which database ... PostgreSQL / SQLite)
* ``[ask2]`` -> ``AskUserQuestion`` with two questions, the first multiSelect (ASK2_INPUT)
* ``[plan]`` (in plan mode) -> ``Write`` of PLAN_TEXT to the plan file the system prompt names, then
  ``ExitPlanMode`` (its input is ``{}``: Claude Code fills in the plan from the file)
* ``[edit:/abs/path:OLD=>NEW]`` -> ``Read`` of the file, then ``Edit`` replacing OLD by NEW
* ``[mcp:SERVER:TOOL:TEXT]`` -> tool_use ``mcp__SERVER__TOOL`` with ``{"text": TEXT}``

A scenario of several steps goes by state (which tools the conversation already called), so it never loops.
* anything else -> text ``ECHO: <the person's text>``

Requests without ``tools`` are side calls (titles, summaries...): they get a short text answer.
Streaming (``"stream": true``) answers are Server-Sent Events; others are plain JSON.
The server never crashes on a bad request: it logs it and answers something sensible.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

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

# Text blocks Claude Code adds around the person's prompt start with one of these tags.
_WRAPPER_RE = re.compile(
    r"^\s*<(system-reminder|command-name|command-message|command-args|local-command-stdout|"
    r"local-command-stderr|user-prompt-submit-hook|bash-input|bash-stdout|bash-stderr|"
    r"ide_selection|ide_opened_file|session-start-hook)\b",
    re.S,
)
# Lines Claude Code itself adds as separate text blocks.
_NOISE_PREFIXES = ("[Request interrupted by user",)
_BASH_RE = re.compile(r"\[bash:(.*)\]", re.S)  # greedy: the command may contain "]"
_WRITE_RE = re.compile(r"\[write:([^\]]+)\]")
_EDIT_RE = re.compile(r"\[edit:([^:\]]+):(.*?)=>(.*?)\]", re.S)
_MCP_RE = re.compile(r"\[mcp:(\w+):(\w+):([^\]]*)\]")
_PLAN_FILE_RE = re.compile(r"create your plan at (\S+?\.md)")
_CWD_RE = re.compile(r"(?:Primary working directory|Working directory|cwd):\s*(\S+)", re.I)


# --------------------------------------------------------------------------- request parsing

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


# --------------------------------------------------------------------------- responses

_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}_mock{next(_ids)}_{uuid.uuid4().hex[:12]}"


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
    return {"type": "tool_use", "id": _new_id("toolu"), "name": name, "input": tool_input}


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
        "id": _new_id("msg"),
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


# --------------------------------------------------------------------------- server

class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet by default
        log.debug("%s " + fmt, self.address_string(), *args)

    # -- helpers
    def _read_body(self) -> tuple[bytes, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw:
            return raw, None
        try:
            return raw, json.loads(raw)
        except ValueError:
            return raw, None

    def _send_json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", _new_id("req"))
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.send_header("request-id", _new_id("req"))
        self.end_headers()
        self.close_connection = True
        for name, data in events:
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()

    # -- verbs
    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        try:
            path = urlsplit(self.path).path
            self.server.fake._record("GET", self.path, None)
            if path.rstrip("/") == "/v1/models":
                self._send_json(200, {"data": [], "has_more": False, "first_id": None, "last_id": None})
            else:
                log.warning("unexpected GET %s", self.path)
                self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "not found"}})
        except Exception:  # never crash the server
            log.exception("GET %s failed", self.path)

    def do_POST(self) -> None:
        try:
            self._post()
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away during %s", self.path)
        except Exception:
            log.exception("POST %s failed", self.path)
            try:
                self._send_json(500, {"type": "error", "error": {"type": "api_error", "message": "fake failed"}})
            except Exception:  # noqa: BLE001 - the client may be gone as well
                pass

    def _post(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        raw, body = self._read_body()
        fake = self.server.fake
        fake._record("POST", self.path, body if body is not None else raw.decode("utf-8", "replace"))
        if not isinstance(body, dict):
            log.warning("POST %s whose body is not a JSON object: %r", self.path, raw[:200])
            self._send_json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "bad json"}})
            return
        if path.endswith("/v1/messages/count_tokens"):
            size = len(json.dumps(body.get("messages", [])))
            self._send_json(200, {"input_tokens": max(1, size // 4)})
            return
        if not path.endswith("/v1/messages"):
            log.warning("unexpected POST %s", self.path)
            self._send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "not found"}})
            return
        fake.requests.append(body)
        try:
            blocks = fake.responder(body) if fake.responder else decide(body)
        except Exception:
            log.exception("responder failed; answering with a text block")
            blocks = [{"type": "text", "text": "fake_anthropic: responder failed"}]
        fake._answered(body, blocks)
        if fake.delay:
            time.sleep(fake.delay)
        if body.get("stream"):
            self._send_sse(sse_events(body, blocks))
        else:
            self._send_json(200, message_json(body, blocks))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeAnthropic


class FakeAnthropic:
    """The stand-in server. ``requests`` holds the JSON bodies of every ``/v1/messages`` call."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.responder = responder
        self.delay = delay
        self.requests: list[dict[str, Any]] = []  # bodies of POST /v1/messages
        self.log: list[tuple[str, str, Any]] = []  # (method, path, body) of every request
        self.answers: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> FakeAnthropic:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), _Handler)
        self._server.fake = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-anthropic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def serve_forever(self) -> None:
        self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- bookkeeping
    def _record(self, method: str, path: str, body: Any) -> None:
        with self._cond:
            self.log.append((method, path, body))
            self._cond.notify_all()

    def _answered(self, body: dict[str, Any], blocks: list[dict[str, Any]]) -> None:
        with self._cond:
            self.answers.append((body, blocks))
            self._cond.notify_all()

    # -- queries for tests
    def main_requests(self) -> list[dict[str, Any]]:
        """Requests of the agent loop (the ones that carry tools)."""
        return [b for b in list(self.requests) if b.get("tools")]

    def prompts(self) -> list[str]:
        """The person's text of every agent-loop request that carries a new prompt."""
        return [t for t in (person_text(b) for b in self.main_requests()) if t]

    def tool_results(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for b in self.main_requests():
            out.extend(tool_results(b))
        return out

    def wait_for(self, predicate: Callable[[FakeAnthropic], Any], timeout: float = 30.0) -> Any:
        """Wait until ``predicate(self)`` is truthy; return its value or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"fake_anthropic: condition not met in {timeout}s; {len(self.requests)} requests")
                self._cond.wait(min(left, 0.5))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    ap.add_argument("--verbose", "-v", action="store_true", help="log every request body")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    fake = FakeAnthropic(host=args.host, port=args.port)
    fake.start()
    print(f"fake anthropic listening on {fake.url}", flush=True)
    if args.verbose:
        orig = fake._answered

        def verbose(body: dict[str, Any], blocks: list[dict[str, Any]]) -> None:
            log.debug("request: %s", json.dumps(body)[:4000])
            log.info("answer: %s", json.dumps(blocks))
            orig(body, blocks)

        fake._answered = verbose  # type: ignore[method-assign]
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
