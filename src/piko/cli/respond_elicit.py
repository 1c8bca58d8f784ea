"""`piko respond` for an MCP elicitation (an MCP server asks the person for input, docs/dialogs.md): its
form shown in the terminal, the answer from `--accept --field NAME=VALUE... | --decline | --cancel`, or
asked field by field."""

from __future__ import annotations

import json
from typing import Any

import click

from piko import claude, elicitation


def fields_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    fields = (record.get("detail") or {}).get("fields")
    return [f for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str)] \
        if isinstance(fields, list) else []


def describe_field(field: dict[str, Any]) -> str:
    """One line for a field: name, title, type (or its choices), required, default."""
    kind = str(field.get("type"))
    if field.get("enum"):
        kind = "one of " + ", ".join(claude.reveal(str(v)) for v in field["enum"])
    bounds = [f"{word} {field[key]:g}" for key, word in (("minimum", "at least"), ("maximum", "at most"))
              if isinstance(field.get(key), (int, float))]
    parts = [kind, *bounds, "required" if field.get("required") else "optional"]
    if field.get("default") is not None:
        parts.append(f"default {json.dumps(field['default'], ensure_ascii=False)}")
    title = f" ({claude.reveal(str(field['title']))})" if field.get("title") else ""
    line = f"  {claude.reveal(field['name'])}{title}: {', '.join(parts)}"
    if field.get("description"):
        line += f" — {claude.reveal(str(field['description']))}"
    return line


def detail_lines(detail: dict[str, Any]) -> list[str]:
    lines = [click.style(f"MCP server {claude.reveal(str(detail.get('server')))} asks for input", bold=True)]
    lines += [claude.reveal(line) for line in str(detail.get("message") or "").splitlines()]
    if detail.get("mode") == "url" and detail.get("url"):
        lines.append(f"  open: {claude.reveal(str(detail['url']))}")
    fields = [f for f in detail.get("fields") or [] if isinstance(f, dict) and isinstance(f.get("name"), str)]
    lines += [describe_field(f) for f in fields]
    return lines


def body_of(record: dict[str, Any], action: str, given: tuple[str, ...]) -> dict[str, Any]:
    """The /respond body for `--accept [--field NAME=VALUE]...`, `--decline` or `--cancel`: each value
    read as its field's type (true/false, a number, a choice by its value or label). The server checks the
    whole (required fields, choices, bounds)."""
    if record.get("kind") != "elicitation":
        raise click.UsageError(f"request {record['id']} is a {record.get('kind')}, not an MCP elicitation: "
                               f"--{action} does not apply")
    if action != "accept":
        if given:
            raise click.UsageError("--field goes with --accept")
        return {"elicitation": {"action": action}}
    fields = {f["name"]: f for f in fields_of(record)}
    content: dict[str, Any] = {}
    for item in given:
        name, sep, text = item.partition("=")
        if not sep:
            raise click.UsageError(f"--field takes NAME=VALUE, not {item!r}")
        field = fields.get(name.strip())
        if field is None:
            known = ", ".join(fields) or "none"
            raise click.UsageError(f"the form has no field {name.strip()!r} (its fields: {known})")
        try:
            content[field["name"]] = elicitation.parse_text(field, text)
        except ValueError as e:
            raise click.UsageError(str(e)) from None
    return {"elicitation": {"action": "accept", "content": content}}


def describe(reply: dict[str, Any]) -> str:
    if reply.get("action") != "accept":
        return str(reply.get("action"))
    content = reply.get("content") or {}
    return "accept " + ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in content.items())


def ask(record: dict[str, Any]) -> dict[str, Any]:
    """Accept (each field asked in turn), decline or cancel, in the terminal."""
    import questionary

    action = questionary.select("Answer the MCP server:", choices=[
        questionary.Choice(title="Accept (fill in the form)", value="accept"),
        questionary.Choice(title="Decline", value="decline"),
        questionary.Choice(title="Cancel", value="cancel")]).unsafe_ask()
    if action != "accept":
        return {"elicitation": {"action": action}}
    content: dict[str, Any] = {}
    for field in fields_of(record):
        title = claude.reveal(str(field.get("title") or field["name"]))
        value: Any
        if field.get("type") == "boolean":
            value = questionary.confirm(title, default=bool(field.get("default"))).unsafe_ask()
        elif field.get("enum"):
            labels = field.get("enum_labels") or field["enum"]
            choices = [questionary.Choice(title=claude.reveal(str(label)), value=v)
                       for v, label in zip(field["enum"], labels, strict=False)]
            if not field.get("required"):
                choices.append(questionary.Choice(title="(leave empty)", value=None))
            value = questionary.select(title, choices=choices).unsafe_ask()
        else:
            text = questionary.text(title + ("" if field.get("required") else " (Enter to leave empty)"),
                                    validate=lambda s, f=field: _valid(f, s)).unsafe_ask()
            value = elicitation.parse_text(field, text) if text.strip() else None
        if value is not None:
            content[field["name"]] = value
    return {"elicitation": {"action": "accept", "content": content}}


def _valid(field: dict[str, Any], text: str) -> bool | str:
    if not text.strip():
        return not field.get("required") or "This field is required"
    try:
        elicitation.check_value(field, elicitation.parse_text(field, text))
    except ValueError as e:
        return str(e)
    return True
