"""MCP elicitation: an MCP server asks the person for input through Claude Code (`elicitation/create`),
a form described by a flat JSON Schema (`requested_schema`), or a URL to open (mode "url").

Claude Code's `Elicitation` hook event carries `mcp_server_name`, `message`, `mode`, `url`,
`elicitation_id` and `requested_schema`; a hook answers it by printing
`{"hookSpecificOutput": {"hookEventName": "Elicitation", "action": "accept"|"decline"|"cancel",
"content": {...}}}` (content with accept only). This module reads the form's fields off the schema, checks
a person's content against them, and makes the hook's output. Pure: used by the server and `piko respond`.
"""

from __future__ import annotations

import math
from typing import Any

ACTIONS = ("accept", "decline", "cancel")
TYPES = ("string", "number", "integer", "boolean")
MAX_TEXT_CHARS = 100_000
MAX_FIELDS = 100


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def field_of(name: str, schema: Any, required: bool) -> dict[str, Any]:
    """One field of the form: {name, title, description, type, enum, enum_labels, required, default,
    minimum, maximum, min_length, max_length}. A type Piko does not know is "other" (any JSON value)."""
    spec = _dict(schema)
    kind = spec.get("type")
    enum: list[str] | None = None
    labels: list[str] | None = None
    if isinstance(spec.get("enum"), list):
        enum = [str(v) for v in spec["enum"]]
        names = spec.get("enumNames")
        if isinstance(names, list) and len(names) == len(enum):
            labels = [str(v) for v in names]
    elif isinstance(spec.get("oneOf"), list):  # titled choices: [{"const": value, "title": label}]
        choices = [c for c in spec["oneOf"] if isinstance(c, dict) and "const" in c]
        enum = [str(c["const"]) for c in choices]
        labels = [str(c.get("title", c["const"])) for c in choices]
    field: dict[str, Any] = {
        "name": name,
        "title": _str(spec.get("title")),
        "description": _str(spec.get("description")),
        "type": kind if kind in TYPES else "other",
        "enum": enum,
        "enum_labels": labels,
        "required": required,
        "default": spec.get("default"),
        "minimum": _number(spec.get("minimum")),
        "maximum": _number(spec.get("maximum")),
        "min_length": _number(spec.get("minLength")),
        "max_length": _number(spec.get("maxLength")),
    }
    return field


def fields_of(schema: Any) -> list[dict[str, Any]]:
    """The form's fields, in the schema's order (the first MAX_FIELDS); [] for no form."""
    spec = _dict(schema)
    required = {r for r in spec.get("required") or [] if isinstance(r, str)} \
        if isinstance(spec.get("required"), list) else set()
    properties = _dict(spec.get("properties"))
    return [field_of(str(name), value, name in required) for name, value in list(properties.items())[:MAX_FIELDS]]


def detail_of(message: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    """The `detail` of an elicitation request (models.ElicitationDetail, as JSON): the MCP server, the
    message, the mode, the URL (mode "url") and the form's fields, from the Elicitation event (its message
    and its extra fields)."""
    mode = extra.get("mode")
    return {
        "kind": "elicitation",
        "server": _str(extra.get("mcp_server_name")) or "",
        "message": message or "",
        "mode": mode if mode in ("form", "url") else "form",
        "url": _str(extra.get("url")),
        "elicitation_id": _str(extra.get("elicitation_id")),
        "fields": fields_of(extra.get("requested_schema")),
    }


def tool_prefix(server: str) -> str:
    """How the names of `server`'s tools start (`mcp__<server>__`; Claude Code writes every character
    outside A-Z a-z 0-9 _ - as _); "" for no server."""
    if not server:
        return ""
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "_-" else "_" for c in server)
    return f"mcp__{safe}__"


def label_of(field: dict[str, Any]) -> str:
    return str(field.get("title") or field["name"])


def check_value(field: dict[str, Any], value: Any) -> Any:
    """`value` for `field`, checked; raises ValueError with a sentence naming the field."""
    name, kind = field["name"], field["type"]
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(f"field {name} is a boolean (true or false)")
        return value
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"field {name} is a {kind}")
        if kind == "integer":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"field {name} is an integer")
            value = int(value)
        if field.get("minimum") is not None and value < field["minimum"]:
            raise ValueError(f"field {name} is at least {field['minimum']}")
        if field.get("maximum") is not None and value > field["maximum"]:
            raise ValueError(f"field {name} is at most {field['maximum']}")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"field {name} is a string")
        if len(value) > MAX_TEXT_CHARS:
            raise ValueError(f"field {name} is longer than {MAX_TEXT_CHARS} characters")
        if field.get("enum") is not None and value not in field["enum"]:
            raise ValueError(f"field {name} is one of {', '.join(field['enum'])}")
        if field.get("min_length") is not None and len(value) < field["min_length"]:
            raise ValueError(f"field {name} has at least {field['min_length']:g} characters")
        if field.get("max_length") is not None and len(value) > field["max_length"]:
            raise ValueError(f"field {name} has at most {field['max_length']:g} characters")
        return value
    return value  # a type Piko does not know: passed on as given


def check_content(fields: list[dict[str, Any]], content: Any) -> dict[str, Any]:
    """The content of an accept, checked against the form's fields: an object of known fields, each of
    its type (and among the choices, within the bounds), every required one given. Raises ValueError
    with a sentence."""
    if not isinstance(content, dict):
        raise ValueError("content is an object of the form's fields, such as {\"name\": \"Ann\"}")
    by_name = {f["name"]: f for f in fields}
    for name in content:
        if name not in by_name:
            known = ", ".join(by_name) or "no fields"
            raise ValueError(f"the form has no field {name!r} (it has {known})")
    checked: dict[str, Any] = {}
    for field in fields:
        value = content.get(field["name"])
        if value is None:
            if field["required"]:
                raise ValueError(f"field {field['name']} ({label_of(field)}) is required")
            continue
        checked[field["name"]] = check_value(field, value)
    return checked


def parse_text(field: dict[str, Any], text: str) -> Any:
    """A value typed on a command line (`--field name=value`), as the field's type wants it."""
    kind = field["type"]
    if kind == "boolean":
        low = text.strip().lower()
        if low in ("true", "yes", "y", "1", "on"):
            return True
        if low in ("false", "no", "n", "0", "off"):
            return False
        raise ValueError(f"field {field['name']} is a boolean: give true or false, not {text!r}")
    if kind in ("number", "integer"):
        try:
            return int(text) if kind == "integer" else float(text)
        except ValueError:
            raise ValueError(f"field {field['name']} is a{'n' if kind == 'integer' else ''} {kind}, "
                             f"not {text!r}") from None
    if kind == "string" and field.get("enum") and field.get("enum_labels") and text not in field["enum"]:
        labels = field["enum_labels"]
        if text in labels:
            return field["enum"][labels.index(text)]  # the choice's label names it too
    return text


def hook_output(action: str, content: dict[str, Any] | None) -> dict[str, Any]:
    """What a waiting Elicitation hook prints to give the person's answer to Claude Code."""
    output: dict[str, Any] = {"hookEventName": "Elicitation", "action": action}
    if action == "accept":
        output["content"] = content or {}
    return {"hookSpecificOutput": output}
