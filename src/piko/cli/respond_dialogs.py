"""`piko respond` for the full dialogs (docs/dialogs.md): a request's detail shown in the terminal (diff,
plan, MCP call), and the answers beyond allow/deny: a plan's mode, several questions (multiSelect, own
words), the "don't ask again" suggestions to grant."""

from __future__ import annotations

import json
from typing import Any

import click

from piko import claude

PLAN_CHOICES = {"auto": "Yes, and auto-accept edits", "manual": "Yes, and approve each edit by hand",
                "keep": "No, keep planning (tell Claude what to change)"}


# ---- showing --------------------------------------------------------------------------------------

def _tree(value: Any, indent: int = 0) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        lines: list[str] = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines += [f"{pad}{claude.reveal(str(key))}:", *_tree(item, indent + 1)]
            else:
                lines.append(f"{pad}{claude.reveal(str(key))}: {claude.reveal(json.dumps(item, ensure_ascii=False))}")
        return lines
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            sub = _tree(item, indent + 1)
            out += [f"{pad}- {sub[0].lstrip()}", *sub[1:]] if sub else [f"{pad}-"]
        return out
    return [f"{pad}{claude.reveal(json.dumps(value, ensure_ascii=False))}"]


def detail_lines(record: dict[str, Any]) -> list[str]:
    """What the request's detail shows, as terminal lines (hidden characters marked, diff lines colored)."""
    detail = record.get("detail") or {}
    kind = detail.get("kind")
    lines: list[str] = []
    if kind == "diff":
        what = "new file" if detail.get("new_file") else f"+{detail.get('added')} -{detail.get('removed')}"
        lines.append(click.style(f"{claude.reveal(str(detail.get('path')))} ({what})", bold=True))
        for line in str(detail.get("unified", "")).splitlines()[2:]:
            color = "green" if line.startswith("+") else "red" if line.startswith("-") else \
                "cyan" if line.startswith("@@") else None
            lines.append(click.style(claude.reveal(line), fg=color))
        if detail.get("folded"):
            lines.append(f"… the diff has {detail.get('size')} lines; the first ones are shown")
    elif kind == "plan":
        lines.append(click.style("Plan" + (f" ({detail['path']})" if detail.get("path") else ""), bold=True))
        lines += [claude.reveal(line) for line in str(detail.get("markdown") or "(no plan text)").splitlines()]
    elif kind == "mcp":
        lines.append(click.style(f"MCP server {detail.get('server')} · tool {detail.get('tool')}", bold=True))
        lines += _tree(detail.get("arguments") or {}, 1)
    elif kind == "web":
        lines.append(claude.reveal(str(detail.get("url") or detail.get("query") or "")))
    elif kind == "elicitation":
        from piko.cli import respond_elicit

        lines += respond_elicit.detail_lines(detail)
    elif kind == "raw" or record.get("kind") == "question":
        lines += _tree(record.get("tool_input") or {}, 1)
    for suggestion in record.get("suggestions") or []:
        lines.append(f"  don't ask again [{suggestion.get('index')}]: {claude.reveal(str(suggestion.get('label')))}")
    return lines


def show(record: dict[str, Any]) -> None:
    for line in detail_lines(record):
        click.echo(line)


# ---- answers from flags ---------------------------------------------------------------------------

def questions_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    questions = (record.get("tool_input") or {}).get("questions")
    return [q for q in questions if isinstance(q, dict) and isinstance(q.get("question"), str)] \
        if isinstance(questions, list) else []


def labels_of(question: dict[str, Any]) -> list[str]:
    options = question.get("options")
    return [str(o.get("label")) for o in options if isinstance(o, dict)] if isinstance(options, list) else []


def one_answer(question: dict[str, Any], given: str) -> str | list[str]:
    """`--answer` for one question: a multiSelect question's comma-separated labels become a list (when
    each part is one of its labels); anything else is the answer as given (a label, or own words)."""
    if question.get("multiSelect"):
        parts = [p.strip() for p in given.split(",") if p.strip()]
        if parts and all(p in labels_of(question) for p in parts):
            return parts
    return given


def answers_body(record: dict[str, Any], answers: tuple[str, ...], others: tuple[str, ...]) -> dict[str, Any]:
    """The answers of `--answer` (the questions in order, then) `--other` (own words, kept exactly)."""
    questions = questions_of(record)
    if record.get("kind") != "question" or not questions:
        raise click.UsageError(f"request {record['id']} is a {record.get('kind')}, not a question: "
                               "--answer and --other do not apply")
    given = [one_answer(q, a) for q, a in zip(questions, answers, strict=False)] + list(others)
    if len(given) != len(questions):
        names = "; ".join(claude.reveal(q["question"]) for q in questions)
        raise click.UsageError(f"give one --answer or --other per question, in order ({len(questions)}: {names})")
    return {"answers": {q["question"]: a for q, a in zip(questions, given, strict=True)}}


# ---- interactive ----------------------------------------------------------------------------------

def ask_plan() -> dict[str, Any]:
    import questionary

    mode = questionary.select("Approve the plan?", choices=[questionary.Choice(title=t, value=m)
                                                             for m, t in PLAN_CHOICES.items()]).unsafe_ask()
    body: dict[str, Any] = {"plan": mode}
    if mode == "keep":
        note = questionary.text("What should Claude change? (Enter to skip):").unsafe_ask()
        if note and note.strip():
            body["message"] = note.strip()
    return body


def ask_suggestions(record: dict[str, Any]) -> list[int] | None:
    """Which "don't ask again" suggestions to grant; None: all of them."""
    import questionary

    suggestions = record.get("suggestions") or []
    if len(suggestions) < 2:
        return None
    chosen: list[int] = questionary.checkbox(
        "Don't ask again for:", choices=[questionary.Choice(title=claude.reveal(str(s["label"])), value=s["index"],
                                                            checked=True) for s in suggestions],
        validate=lambda picked: bool(picked) or "Pick at least one (Ctrl-C to cancel)").unsafe_ask()
    return None if len(chosen) == len(suggestions) else chosen


OTHER = object()


def ask_questions(record: dict[str, Any]) -> dict[str, Any]:
    """Every question in turn (several labels for a multiSelect one, or own words), reviewed before sending."""
    import questionary

    answers: dict[str, str | list[str]] = {}
    for question in questions_of(record):
        text = claude.reveal(question["question"])
        choices = [questionary.Choice(title=claude.reveal(label), value=label) for label in labels_of(question)]
        other = questionary.Choice(title="Other: my own words", value=OTHER)
        if question.get("multiSelect"):
            picked = questionary.checkbox(text, choices=[*choices, other],
                                          validate=lambda p: bool(p) or "Pick at least one").unsafe_ask()
            labels = [p for p in picked if p is not OTHER]
            answer: str | list[str] = labels if OTHER not in picked else ", ".join([*labels, own_words()])
        else:
            picked = questionary.select(text, choices=[*choices, other]).unsafe_ask()
            answer = own_words() if picked is OTHER else picked
        answers[question["question"]] = answer
    for asked, given in answers.items():
        said = given if isinstance(given, str) else ", ".join(given)
        click.echo(f"  {claude.reveal(asked)} → {claude.reveal(said)}")
    if not questionary.confirm("Send these answers?", default=True).unsafe_ask():
        raise KeyboardInterrupt
    return {"answers": answers}


def own_words() -> str:
    import questionary

    text: str = questionary.text("Your answer:", validate=lambda s: bool(s.strip()) or "Type an answer").unsafe_ask()
    return text
