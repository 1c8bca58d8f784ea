"""The stand-in's HTTP server: ``POST /v1/messages`` (JSON or Server-Sent Events), ``count_tokens``, models.

Each request is recorded on the ``FakeAnthropic`` that owns the server (tests/support/fake_anthropic.py);
the server never crashes on a bad request: it logs it and answers something sensible.
"""

from __future__ import annotations

import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.support.anthropic_script import decide
from tests.support.anthropic_wire import message_json, new_id, sse_events

if TYPE_CHECKING:
    from tests.support.fake_anthropic import FakeAnthropic

log = logging.getLogger("fake_anthropic")


class MessagesHandler(BaseHTTPRequestHandler):
    server: MessagesServer
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
        self.send_header("request-id", new_id("req"))
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.send_header("request-id", new_id("req"))
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


class MessagesServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeAnthropic
