"""A small MCP server for tests: JSON-RPC 2.0 over stdio (one JSON message a line), standard library only.

It offers two tools. ``echo`` ({"text": str}) answers ``echo: <text>``. ``ask`` ({"text": str}) asks the
person through the client: it sends an ``elicitation/create`` request (message: the text; a small form,
FORM) to Claude Code, waits for the answer and returns it as its result, ``elicited: <the answer as
JSON>`` (also written to the file named by ``$PIKO_MCP_STUB_RECORD``, one JSON line per answer), so a test
sees exactly what reached the MCP server. Claude Code starts it from an MCP config such as
``{"mcpServers": {"pikostub": {"command": python, "args": [this file]}}}`` (``claude --mcp-config FILE``);
its tools are then ``mcp__pikostub__echo`` and ``mcp__pikostub__ask``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

NAME = "pikostub"
TOOL = "echo"
ASK = "ask"
RECORD_ENV = "PIKO_MCP_STUB_RECORD"
# The form `ask` sends: a string, a boolean, an enum and a number; name and color are required.
FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Your name", "description": "Who is asking"},
        "urgent": {"type": "boolean", "title": "Urgent", "default": False},
        "color": {"type": "string", "title": "Color", "enum": ["red", "green", "blue"],
                  "enumNames": ["Red", "Green", "Blue"]},
        "count": {"type": "integer", "title": "How many", "minimum": 1, "maximum": 10},
    },
    "required": ["name", "color"],
}
ASK_TOOL = {
    "name": ASK,
    "description": "Ask the user for their name, a color and a count (an MCP elicitation).",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}
ECHO_TOOL = {
    "name": TOOL,
    "description": "Echo the given text back.",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}


def answer(request: dict[str, Any], channel: Channel | None = None) -> dict[str, Any] | None:
    """The reply to one JSON-RPC message; None for a notification (no id). `channel` lets the `ask` tool
    send its own request to the client and read the answer."""
    method, id = request.get("method"), request.get("id")
    if id is None:
        return None
    if method == "initialize":
        params = request.get("params") or {}
        if channel is not None:
            channel.client_capabilities = params.get("capabilities") or {}
        version = params.get("protocolVersion") or "2024-11-05"
        result: dict[str, Any] = {"protocolVersion": version, "capabilities": {"tools": {}},
                                  "serverInfo": {"name": NAME, "version": "1.0"}}
    elif method == "tools/list":
        result = {"tools": [ECHO_TOOL, ASK_TOOL]}
    elif method == "tools/call":
        params = request.get("params") or {}
        text = str((params.get("arguments") or {}).get("text", ""))
        if params.get("name") == ASK and channel is not None:
            got = channel.elicit(text)
            result = {"content": [{"type": "text", "text": "elicited: " + json.dumps(got, sort_keys=True)}],
                      "isError": False}
        else:
            result = {"content": [{"type": "text", "text": f"echo: {text}"}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        return {"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": f"no method {method}"}}
    return {"jsonrpc": "2.0", "id": id, "result": result}


class Channel:
    """The stdio connection: lines in, lines out, and requests of the server's own to the client."""

    def __init__(self, lines: Iterator[str], out: TextIO) -> None:
        self.lines = lines
        self.out = out
        self.client_capabilities: dict[str, Any] = {}
        self.next_id = 0

    def send(self, message: dict[str, Any]) -> None:
        self.out.write(json.dumps(message) + "\n")
        self.out.flush()

    def elicit(self, message: str) -> dict[str, Any]:
        """Send `elicitation/create` and wait for its answer (the client's other requests are answered
        meanwhile). The answer is the result ({action, content}) or {"error": ...}."""
        if "elicitation" not in self.client_capabilities:
            got: dict[str, Any] = {"error": "the client did not advertise the elicitation capability"}
            record(got)
            return got
        self.next_id += 1
        id = f"stub-{self.next_id}"
        self.send({"jsonrpc": "2.0", "id": id, "method": "elicitation/create",
                   "params": {"message": message, "requestedSchema": FORM}})
        for request in self.messages():
            if request.get("id") == id and "method" not in request:
                got = request["result"] if isinstance(request.get("result"), dict) else {"error": request.get("error")}
                record(got)
                return got
            reply = answer(request, self)
            if reply is not None:
                self.send(reply)
        return {"error": "the client went away"}

    def messages(self) -> Iterator[dict[str, Any]]:
        for line in self.lines:
            line = line.strip()
            if not line:
                continue
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                yield message


def record(got: dict[str, Any]) -> None:
    path = os.environ.get(RECORD_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(got, sort_keys=True) + "\n")


def config(python: str, record_to: Path | None = None) -> dict[str, Any]:
    """An MCP config that starts this server with `python` (its elicitation answers recorded to
    `record_to`, when given)."""
    server: dict[str, Any] = {"type": "stdio", "command": python, "args": [str(Path(__file__).resolve())]}
    if record_to is not None:
        server["env"] = {RECORD_ENV: str(record_to)}
    return {"mcpServers": {NAME: server}}


def main() -> None:
    channel = Channel(iter(sys.stdin), sys.stdout)
    for request in channel.messages():
        reply = answer(request, channel)
        if reply is not None:
            channel.send(reply)


if __name__ == "__main__":
    main()
