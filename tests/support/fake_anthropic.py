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

This module is the entry point (``FakeAnthropic``, ``main``, and every public name below); the parts live in
anthropic_http.py (the HTTP/SSE server), anthropic_reading.py (reading a request), anthropic_script.py (what
each turn answers: the scripted tool calls) and anthropic_wire.py (a message as JSON or as SSE events).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if not __package__:  # run as a script (python tests/support/fake_anthropic.py): make `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.anthropic_http import MessagesHandler, MessagesServer
from tests.support.anthropic_reading import (
    find_cwd,
    last_prompt,
    last_user_message,
    own_texts,
    person_text,
    summarize_tool_result,
    system_text,
    tool_results,
    tools_called,
)
from tests.support.anthropic_script import (
    ASK2_INPUT,
    ASK_INPUT,
    BASH_DESCRIPTION,
    DEFAULT_BASH_COMMAND,
    PLAN_TEXT,
    SIDE_CALL_TEXT,
    WRITE_CONTENT,
    decide,
    steps,
)
from tests.support.anthropic_wire import message_json, sse_events

__all__ = [
    "ASK2_INPUT",
    "ASK_INPUT",
    "BASH_DESCRIPTION",
    "DEFAULT_BASH_COMMAND",
    "PLAN_TEXT",
    "SIDE_CALL_TEXT",
    "WRITE_CONTENT",
    "FakeAnthropic",
    "decide",
    "find_cwd",
    "last_prompt",
    "last_user_message",
    "main",
    "message_json",
    "own_texts",
    "person_text",
    "sse_events",
    "steps",
    "summarize_tool_result",
    "system_text",
    "tool_results",
    "tools_called",
]

log = logging.getLogger("fake_anthropic")


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
        self._server: MessagesServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> FakeAnthropic:
        if self._server is not None:
            return self
        self._server = MessagesServer((self.host, self.port), MessagesHandler)
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
