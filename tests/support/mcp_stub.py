"""A small MCP server for tests: JSON-RPC 2.0 over stdio (one JSON message a line), standard library only.

It offers one tool, ``echo`` ({"text": str}), which answers ``echo: <text>``. Claude Code starts it from
an MCP config such as ``{"mcpServers": {"pikostub": {"command": python, "args": [this file]}}}``
(``claude --mcp-config FILE``); its tool is then ``mcp__pikostub__echo``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

NAME = "pikostub"
TOOL = "echo"
ECHO_TOOL = {
    "name": TOOL,
    "description": "Echo the given text back.",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
}


def answer(request: dict[str, Any]) -> dict[str, Any] | None:
    """The reply to one JSON-RPC message; None for a notification (no id)."""
    method, id = request.get("method"), request.get("id")
    if id is None:
        return None
    if method == "initialize":
        version = (request.get("params") or {}).get("protocolVersion") or "2024-11-05"
        result: dict[str, Any] = {"protocolVersion": version, "capabilities": {"tools": {}},
                                  "serverInfo": {"name": NAME, "version": "1.0"}}
    elif method == "tools/list":
        result = {"tools": [ECHO_TOOL]}
    elif method == "tools/call":
        params = request.get("params") or {}
        text = str((params.get("arguments") or {}).get("text", ""))
        result = {"content": [{"type": "text", "text": f"echo: {text}"}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        return {"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": f"no method {method}"}}
    return {"jsonrpc": "2.0", "id": id, "result": result}


def config(python: str) -> dict[str, Any]:
    """An MCP config that starts this server with `python`."""
    return {"mcpServers": {NAME: {"type": "stdio", "command": python, "args": [str(Path(__file__).resolve())]}}}


def main() -> None:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except ValueError:
            continue
        reply = answer(request) if isinstance(request, dict) else None
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
