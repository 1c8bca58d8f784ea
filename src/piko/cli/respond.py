"""`piko respond`: answer a waiting agent from the terminal, directly or with an interactive picker."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime
from typing import Any, NoReturn

import click

from piko import claude
from piko.cli import respond_dialogs as dialogs, respond_elicit
from piko.client import ApiError, Client, NotOurs, Unreachable, token_file

RESPOND_TIMEOUT = 30.0  # delivering keystrokes includes short pauses; a hook delivery is immediate
HISTORY_PAGE = 1000

@click.command()
@click.argument("id", required=False)
@click.argument("text", nargs=-1)
@click.option("--list", "list_only", is_flag=True, help="Print the pending requests and exit.")
@click.option("--json", "as_json", is_flag=True, help="With --list: print them as JSON.")
@click.option("--option", type=click.IntRange(1, 9), metavar="N", help="Pick menu option N (presses the key N).")
@click.option("--allow", "decision", flag_value="allow", help="Permission: allow once.")
@click.option("--always", "decision", flag_value="always", help="Permission: allow and don't ask again.")
@click.option("--deny", "decision", flag_value="deny", help="Permission: deny.")
@click.option("--suggestion", "suggestions", type=click.IntRange(0), multiple=True, metavar="N",
              help="With --always: grant only suggestion N (repeat for several; see --show).")
@click.option("--plan", type=click.Choice(["auto", "manual", "keep"]),
              help="Plan approval: auto-accept edits, approve edits by hand, or keep planning.")
@click.option("--message", metavar="TEXT", help="With --deny or --plan keep: tell Claude why, or what to change.")
@click.option("--answer", "answers", multiple=True, metavar="LABEL",
              help="Question: the chosen label, one per question in order (multiSelect: LABEL,LABEL).")
@click.option("--other", "others", multiple=True, metavar="TEXT",
              help="Question: your own words, exactly, for the next question (after the --answer ones).")
@click.option("--accept", "elicit", flag_value="accept", help="MCP elicitation: accept, with the --field values.")
@click.option("--decline", "elicit", flag_value="decline", help="MCP elicitation: decline.")
@click.option("--cancel", "elicit", flag_value="cancel", help="MCP elicitation: cancel.")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE",
              help="With --accept: a field of the MCP server's form (repeat for each; see --show).")
@click.option("--show", is_flag=True, help="Print the request with its detail (diff, plan, MCP call) and exit.")
def respond(id: str | None, text: tuple[str, ...], list_only: bool, as_json: bool, option: int | None,
            decision: str | None, suggestions: tuple[int, ...], plan: str | None, message: str | None,
            answers: tuple[str, ...], others: tuple[str, ...], elicit: str | None, fields: tuple[str, ...],
            show: bool) -> None:
    """Answer a waiting agent.

    \b
    piko respond                    pick a request and answer it (interactive)
    piko respond ID TEXT...         type TEXT into the agent's pane, then Enter
    piko respond ID --option N      pick menu option N
    piko respond ID --allow | --always [--suggestion N]... | --deny [--message TEXT]
    piko respond ID --plan auto|manual|keep [--message TEXT]
    piko respond ID --answer LABEL... [--other TEXT]...   answer the questions in order
    piko respond ID --accept [--field NAME=VALUE]... | --decline | --cancel   an MCP server's form
    piko respond ID --show          print the request with its diff, plan or MCP call
    piko respond --list [--json]    print the pending requests

    ID may be any unique prefix of the request's id. Put `--` before a TEXT that starts with a dash.
    """
    try:
        client = Client(timeout=10.0)
    except ValueError as e:
        fail(f"$PIKO_URL is not usable: {e}")
    if as_json and not list_only:
        raise click.UsageError("--json goes with --list")
    if message is not None and decision != "deny" and plan != "keep":
        raise click.UsageError("--message goes with --deny or --plan keep")
    if suggestions and decision != "always":
        raise click.UsageError("--suggestion goes with --always")
    if fields and elicit != "accept":
        raise click.UsageError("--field goes with --accept")
    try:
        if list_only:
            print_list(pending(client), as_json)
            return
        if id is None:
            if text or option or decision or plan or answers or others or elicit or show:
                raise click.UsageError("give the ID of the request to answer (see piko respond --list)")
            if not interactive_terminal():
                print_list(pending(client), False)
                click.echo("To answer: piko respond ID TEXT... (or run piko respond in a terminal to pick).",
                           err=True)
                sys.exit(2)
            record = pick(client)
            if record is None:
                return
            body = ask_answer(record)
        else:
            record = find(client, id)
            if show:
                print_list([record], False)
                dialogs.show(record)
                return
            chosen = dialogs.answers_body(record, answers, others) if answers or others else None
            if elicit and (text or option or decision or plan or chosen):
                raise click.UsageError(f"give one answer, not --{elicit} and another")
            given = respond_elicit.body_of(record, elicit, fields) if elicit else \
                answer_body(record, text, option, decision, message, chosen, plan, suggestions)
            if given is None:
                if not interactive_terminal():
                    raise click.UsageError(
                        "say how to answer: TEXT, --option N, --allow/--always/--deny, --plan, --answer LABEL"
                        " or --accept/--decline/--cancel")
                given = ask_answer(record)
            body = given
        send(client, record, body)
    except KeyboardInterrupt:
        sys.exit(130)


# ---- talking to the server -------------------------------------------------------------------------

def fail(message: str) -> NoReturn:
    click.echo(f"piko respond: {message}", err=True)
    sys.exit(1)


def server_problem(client: Client, e: Exception) -> NoReturn:
    if isinstance(e, NotOurs):
        fail(f"{e}; nothing was sent to it")
    if isinstance(e, Unreachable):
        fail(f"cannot reach the Orchestra server: {e}. Is `piko server` running?")
    assert isinstance(e, ApiError)
    if e.status == 401:
        fail(f"the server at {client.url} refused the token from {token_file()} ({e.message})")
    fail(f"the server answered {e.status}: {e.message}")


def pending(client: Client) -> list[dict[str, Any]]:
    try:
        records: list[dict[str, Any]] = client.call("GET", "/api/orchestra/notifications")["notifications"]
        return records
    except (Unreachable, ApiError) as e:
        server_problem(client, e)


def history_matches(client: Client, prefix: str) -> list[dict[str, Any]]:
    """Records of any status whose id starts with `prefix` (at most two: enough to call it ambiguous)."""
    if len(prefix) == 12:
        try:
            return [client.call("GET", f"/api/orchestra/notifications/{prefix}")]
        except ApiError as e:
            if e.status == 404:
                return []
            server_problem(client, e)
        except Unreachable as e:
            server_problem(client, e)
    found: list[dict[str, Any]] = []
    before = None
    while True:
        query = f"?status=all&limit={HISTORY_PAGE}" + (f"&before={before}" if before else "")
        try:
            page = client.call("GET", "/api/orchestra/notifications" + query)
        except (Unreachable, ApiError) as e:
            server_problem(client, e)
        found += [n for n in page["notifications"] if n["id"].startswith(prefix)]
        before = page.get("next_before")
        if len(found) > 1 or not before:
            return found


def find(client: Client, prefix: str) -> dict[str, Any]:
    """The pending request whose id starts with `prefix`; exits with a clear message otherwise."""
    prefix = prefix.strip().lower()
    if not prefix:
        raise click.UsageError("the ID is empty")
    waiting = [n for n in pending(client) if n["id"].startswith(prefix)]
    if len(waiting) == 1:
        return waiting[0]
    if len(waiting) > 1:
        ambiguous(prefix, waiting)
    matches = history_matches(client, prefix)
    if not matches:
        fail(f"no request with an id starting with {prefix!r} (see piko respond --list)")
    if len(matches) > 1:
        ambiguous(prefix, matches)
    record = matches[0]
    if record["status"] == "pending":
        return record
    already(record)


def ambiguous(prefix: str, records: list[dict[str, Any]]) -> NoReturn:
    ids = ", ".join(r["id"] for r in records[:5]) + (", ..." if len(records) > 5 else "")
    fail(f"{prefix!r} is ambiguous: more than one request has an id starting with it ({ids}); give more of the id")


def already(record: dict[str, Any]) -> NoReturn:
    how = record.get("resolution") or claude.resolution(record.get("status"), record.get("resolved_via")) or ""
    when = f" {age(record.get('resolved_at'))} ago" if record.get("resolved_at") else ""
    fail(f"request {record['id']} was already {record['status']}{when}: {how.rstrip('.')}; nothing was sent")


def send(client: Client, record: dict[str, Any], body: dict[str, Any]) -> None:
    try:
        result = client.call("POST", "/api/orchestra/respond", {"notification_id": record["id"], **body},
                             timeout=RESPOND_TIMEOUT)
    except ApiError as e:
        if e.status == 409 and e.code == "already_resolved":
            latest = e.body.get("notification") if isinstance(e.body, dict) else None
            already(latest if isinstance(latest, dict) else {**record, "status": "resolved"})
        if e.status == 404:
            fail(f"request {record['id']} no longer exists")
        if e.status in (400, 409, 410, 502):
            fail(f"cannot answer {record['id']}: {e.message}")
        server_problem(client, e)
    except Unreachable as e:
        server_problem(client, e)
    how = "through the waiting hook" if result.get("delivered_via") == "hook" else \
        f"into {record.get('tmux_target') or record.get('tmux_session') or 'its pane'}"
    click.echo(f"Answered {record['id']} ({where(record)} · {record['kind']}) {how}: {describe(body)}")


# ---- what an answer is -----------------------------------------------------------------------------

def answer_body(record: dict[str, Any], text: tuple[str, ...], option: int | None, decision: str | None,
                message: str | None, answers: dict[str, Any] | None, plan: str | None,
                suggestions: tuple[int, ...]) -> dict[str, Any] | None:
    """The /respond body for the answer given on the command line; None when none was given."""
    given = [name for name, value in (("TEXT", text), ("--option", option), ("--allow/--always/--deny", decision),
                                      ("--answer/--other", answers), ("--plan", plan)) if value]
    if len(given) > 1:
        raise click.UsageError(f"give one answer, not {' and '.join(given)}")
    if text:
        return {"response": " ".join(text)}
    if option:
        return {"response": str(option), "response_type": "option"}
    if decision:
        chosen = {"suggestions": sorted(set(suggestions))} if suggestions else {}
        return {"decision": decision, **({"message": message} if message else {}), **chosen}
    if plan:
        return {"plan": plan, **({"message": message} if message else {})}
    if answers:
        return answers
    return None


def first_question(record: dict[str, Any]) -> str:
    questions = (record.get("tool_input") or {}).get("questions") or []
    if record.get("kind") != "question" or not questions or not isinstance(questions[0], dict):
        fail(f"request {record['id']} is a {record.get('kind')}, not a question: --answer does not apply")
    return str(questions[0].get("question", ""))


def describe(body: dict[str, Any]) -> str:
    if "elicitation" in body:
        return respond_elicit.describe(body["elicitation"])
    if "decision" in body or "plan" in body:
        what = str(body.get("decision") or f"plan {body['plan']}")
        return what + (f" ({body['message']})" if body.get("message") else "")
    if "answers" in body:
        return "; ".join(a if isinstance(a, str) else ", ".join(a) for a in body["answers"].values())
    if body.get("response_type") == "option":
        return f"option {body['response']}"
    return repr(body["response"])


# ---- showing requests ------------------------------------------------------------------------------

def where(record: dict[str, Any]) -> str:
    project, env = record.get("project_name"), record.get("env_name")
    if project and env:
        return claude.reveal(f"{project}/{env}")
    return claude.reveal(project or env or record.get("tmux_session") or "-")


def age(stamp: str | None) -> str:
    """How long ago an API time stamp was: 5s, 3m, 2h, 4d."""
    if not stamp:
        return "?"
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "?"
    seconds = max(0, int((datetime.now(UTC) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def summary(record: dict[str, Any]) -> str:
    """One line, hidden characters (bidi, zero-width, controls) shown as marks such as ⟨U+202E⟩."""
    text = record.get("summary")
    if not isinstance(text, str):  # from a server older than the record's summary
        text = claude.summary(kind=record.get("kind"), tool_name=record.get("tool_name"),
                              tool_input=record.get("tool_input"), cwd=record.get("cwd"),
                              message=record.get("message"), title=record.get("title"))
    return " ".join(claude.reveal(text or record.get("message") or "").split())


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def print_list(records: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"notifications": records}, indent=2, ensure_ascii=False))
        return
    if not records:
        click.echo("Nothing is waiting.")
        return
    rows = [(r["id"], where(r), r["kind"], age(r.get("created_at")), summary(r)) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    columns = shutil.get_terminal_size((120, 24)).columns
    for row in rows:
        head = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))  # not the summary
        click.echo(f"{head}  {clip(row[4], max(columns - len(head) - 3, 20))}")


# ---- interactive -----------------------------------------------------------------------------------

def interactive_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def pick(client: Client) -> dict[str, Any] | None:
    """Choose one of the pending requests with the arrow keys; None when nothing waits."""
    import questionary

    records = pending(client)
    if not records:
        click.echo("Nothing is waiting.")
        return None
    columns = shutil.get_terminal_size((100, 24)).columns
    choices = []
    for r in records:
        head = f"{where(r)} · {r['kind']} · "
        tail = f" · {age(r.get('created_at'))}"
        room = max(columns - len(head) - len(tail) - 6, 10)
        choices.append(questionary.Choice(title=head + clip(summary(r), room) + tail, value=r))
    picked: dict[str, Any] | None = questionary.select("Which request?", choices=choices).unsafe_ask()
    return picked


def ask_answer(record: dict[str, Any]) -> dict[str, Any]:
    """Ask for the answer: a menu's options, or a line of text."""
    import questionary

    kind = record["kind"]
    click.echo(f"{where(record)} · {kind}: {summary(record)}")
    dialogs.show(record)
    if kind == "elicitation":
        return respond_elicit.ask(record)
    if kind == "permission" and (record.get("detail") or {}).get("kind") == "plan":
        return dialogs.ask_plan()
    if kind == "permission":
        options = record.get("options") or [{"label": "Yes", "decision": "allow"}, {"label": "No", "decision": "deny"}]
        decision = questionary.select(
            "Answer:", choices=[questionary.Choice(title=claude.reveal(o["label"]), value=o["decision"])
                                for o in options]
        ).unsafe_ask()
        body: dict[str, Any] = {"decision": decision}
        if decision == "always":
            chosen = dialogs.ask_suggestions(record)
            if chosen is not None:
                body["suggestions"] = chosen
        if decision == "deny":
            note = questionary.text("Message for Claude (optional, Enter to skip):").unsafe_ask()
            if note and note.strip():
                body["message"] = note.strip()
        return body
    if kind == "question" and len(dialogs.questions_of(record)) > 1:
        return dialogs.ask_questions(record)
    if kind == "question" and record.get("options"):
        question = first_question(record)
        label = questionary.select(
            claude.reveal(question) or "Answer:",
            choices=[questionary.Choice(title=claude.reveal(o["label"]), value=o["label"],
                                        description=claude.reveal(o.get("description") or "") or None)
                     for o in record["options"]],
        ).unsafe_ask()
        return {"answers": {question: label}}
    text = questionary.text("Answer:",
                            validate=lambda s: bool(s.strip()) or "Type an answer (Ctrl-C to cancel)").unsafe_ask()
    return {"response": text}
