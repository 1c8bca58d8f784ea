"""What a request shows of the call it asks about (a record's `detail`), one shape per kind: a file change
as a diff, a plan, an MCP call, a web address, raw input, an MCP server's form. Part of models.py (which
re-exports every name here): the shapes the server speaks, each defined once."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class DiffDetail(msgspec.Struct, tag_field="kind", tag="diff", kw_only=True):
    """A file change (Edit, MultiEdit, Write, NotebookEdit) as a unified diff with context from disk."""

    path: str
    unified: str
    added: int
    removed: int
    new_file: bool
    folded: bool  # cut: `unified` holds the start of a longer diff
    size: int  # lines of the whole diff


class PlanDetail(msgspec.Struct, tag_field="kind", tag="plan", kw_only=True):
    """The plan an ExitPlanMode call asks to approve, as raw Markdown (shown rendered, safely)."""

    markdown: str
    source: Literal["tool_input", "file"]
    path: str | None


class McpDetail(msgspec.Struct, tag_field="kind", tag="mcp", kw_only=True):
    """A call of an MCP server's tool (mcp__<server>__<tool>)."""

    server: str
    tool: str
    arguments: dict[str, Any]


class WebDetail(msgspec.Struct, tag_field="kind", tag="web", kw_only=True):
    url: str | None
    query: str | None


class RawDetail(msgspec.Struct, tag_field="kind", tag="raw", kw_only=True):
    """A tool Piko does not know: its tool_input is shown as it is."""


class ElicitationField(msgspec.Struct, kw_only=True):
    """One field of an MCP elicitation's form, from its `requested_schema` (elicitation.fields_of): a
    string (free text, or one of `enum`, shown by `enum_labels`), number, integer or boolean; "other" for
    a type Piko does not know (any JSON value)."""

    name: str
    title: str | None
    description: str | None
    type: Literal["string", "number", "integer", "boolean", "other"]
    enum: list[str] | None
    enum_labels: list[str] | None
    required: bool
    default: Any
    minimum: float | None
    maximum: float | None
    min_length: float | None
    max_length: float | None


class ElicitationDetail(msgspec.Struct, tag_field="kind", tag="elicitation", kw_only=True):
    """An MCP server asks the person for input (kind "elicitation"): its message and a form (mode
    "form"), or a URL to open (mode "url")."""

    server: str
    message: str
    mode: Literal["form", "url"]
    url: str | None
    elicitation_id: str | None
    fields: list[ElicitationField]


Detail = DiffDetail | PlanDetail | McpDetail | WebDetail | RawDetail | ElicitationDetail
