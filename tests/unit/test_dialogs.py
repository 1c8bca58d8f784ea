"""The dialogs in process: each request's `detail` and `suggestions` (dialogs.py), the answers a person may
give (checked with a 400 and a sentence), the hook decisions they become, and the late plan Notification."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from msgspec.structs import replace

from piko import claude, dialogs, models
from piko.models import Answers, Decision, HookEvent, PlanChoice, Record
from piko.server import lifecycle
from tests.conftest import TWO_QUESTIONS
from tests.support.records import record as make_record
from tests.unit.conftest import FIXTURES, FakePane, screen

STAMP = "2026-01-01T00:00:00.000Z"
PANE = {"tmux_target": "%7", "tmux_session": "work", "tmux_socket": "/nonexistent/piko-unit/tmux.sock"}


def permission(tool: str, tool_input: dict[str, Any]) -> Record:
    return make_record(kind="permission", tool_name=tool, tool_input=tool_input)


def detail_of(record: Record) -> Any:
    """dialogs.detail_of, typed (a models.Detail), as the wire has it."""
    detail = dialogs.detail_of(record)
    assert detail is None or isinstance(detail, models.Detail)
    return msgspec.to_builtins(detail)


# ---- detail: file changes as a diff -----------------------------------------------------------------

def test_an_edit_is_a_diff_with_three_lines_of_context_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text("".join(f"line {i}\n" for i in range(1, 21)))
    detail = detail_of(permission("Edit", {"file_path": str(path), "old_string": "line 10\n",
                                                   "new_string": "line ten\n"}))
    assert detail is not None and detail["kind"] == "diff"
    assert (detail["added"], detail["removed"], detail["new_file"], detail["folded"]) == (1, 1, False, False)
    body = detail["unified"].splitlines()[2:]
    assert body == ["@@ -7,7 +7,7 @@", " line 7", " line 8", " line 9", "-line 10", "+line ten",
                    " line 11", " line 12", " line 13"]
    msgspec.convert(detail, models.DiffDetail)


def test_a_multiedit_applies_its_edits_in_order(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("alpha\nbeta\ngamma\n")
    edits = [{"old_string": "alpha", "new_string": "ALPHA"}, {"old_string": "ALPHA\nbeta", "new_string": "AB"}]
    detail = detail_of(permission("MultiEdit", {"file_path": str(path), "edits": edits}))
    assert detail is not None
    assert [line for line in detail["unified"].splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] \
        == ["-alpha", "-beta", "+AB"]


def test_a_new_file_is_all_added_lines(tmp_path: Path) -> None:
    detail = detail_of(permission("Write", {"file_path": str(tmp_path / "new.txt"), "content": "a\nb\n"}))
    assert detail is not None
    assert (detail["new_file"], detail["added"], detail["removed"]) == (True, 2, 0)
    assert detail["unified"].startswith("--- /dev/null\n")


def test_an_edit_whose_text_is_not_in_the_file_shows_the_edit_alone(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("something else\n")
    detail = detail_of(permission("Edit", {"file_path": str(path), "old_string": "x", "new_string": "y"}))
    assert detail is not None and (detail["added"], detail["removed"]) == (1, 1)
    assert "something else" not in detail["unified"]


def test_a_large_diff_is_folded_with_its_size(tmp_path: Path) -> None:
    content = "".join(f"row {i}\n" for i in range(1000))
    detail = detail_of(permission("Write", {"file_path": str(tmp_path / "big.txt"), "content": content}))
    assert detail is not None and detail["folded"] is True
    assert detail["size"] == 1003 and detail["added"] == 1000
    assert len(detail["unified"].splitlines()) == dialogs.FOLD_LINES


@pytest.mark.parametrize("where", ["/proc/self/environ", "/dev/zero", "/sys/kernel/notes"])
def test_the_context_is_never_read_from_proc_sys_or_dev(where: str) -> None:
    assert dialogs.read_text(where) is None


def test_a_symlink_into_proc_and_a_fifo_are_not_read(tmp_path: Path) -> None:
    link = tmp_path / "env"
    link.symlink_to("/proc/self/environ")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert dialogs.read_text(str(link)) is None
    assert dialogs.read_text(str(fifo)) is None  # a FIFO would block a plain open
    detail = detail_of(permission("Edit", {"file_path": str(link), "old_string": "A", "new_string": "B"}))
    assert detail is not None and "PATH=" not in detail["unified"]


def test_a_file_too_large_or_not_text_gives_no_context(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"a" * (dialogs.MAX_READ + 1))
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe\x00")
    assert dialogs.read_text(str(big)) is None and dialogs.read_text(str(binary)) is None
    assert dialogs.read_text("relative/path") is None


# ---- detail: plan, MCP, web, unknown ----------------------------------------------------------------

def test_a_plan_comes_from_its_input_or_its_file(tmp_path: Path) -> None:
    plan = tmp_path / "plan-x.md"
    plan.write_text("# Plan\n\n1. Do it\n")
    given = detail_of(permission("ExitPlanMode", {"plan": "# P", "planFilePath": str(plan)}))
    assert given == {"kind": "plan", "markdown": "# P", "source": "tool_input", "path": str(plan)}
    from_file = detail_of(permission("ExitPlanMode", {"planFilePath": str(plan)}))
    assert from_file == {"kind": "plan", "markdown": "# Plan\n\n1. Do it\n", "source": "file", "path": str(plan)}
    # 2.1.328 with no plan file written: tool_input is {}
    assert detail_of(permission("ExitPlanMode", {})) == {
        "kind": "plan", "markdown": "", "source": "file", "path": None}
    # a planFilePath that is not a Markdown file is not read
    assert detail_of(permission("ExitPlanMode", {"planFilePath": "/etc/passwd"}))["markdown"] == ""


def test_mcp_web_raw_and_none() -> None:
    assert detail_of(permission("mcp__notes__add_note", {"title": "t", "tags": ["a"]})) == {
        "kind": "mcp", "server": "notes", "tool": "add_note", "arguments": {"title": "t", "tags": ["a"]}}
    assert detail_of(permission("mcp__srv__a__b", {}))["tool"] == "a__b"
    assert detail_of(permission("WebFetch", {"url": "https://x.test", "prompt": "p"})) == {
        "kind": "web", "url": "https://x.test", "query": None}
    assert detail_of(permission("WebSearch", {"query": "piko"})) == {"kind": "web", "url": None,
                                                                           "query": "piko"}
    assert detail_of(permission("Frobnicate", {"x": 1})) == {"kind": "raw"}
    assert detail_of(permission("Bash", {"command": "ls"})) is None
    assert detail_of(make_record(kind="question", tool_name="AskUserQuestion", tool_input={})) is None
    assert detail_of(make_record(kind="idle")) is None
    for detail in ({"kind": "raw"}, {"kind": "web", "url": None, "query": "q"}):
        msgspec.convert(detail, models.Detail)


# ---- suggestions ----------------------------------------------------------------------------------

def test_each_suggestion_says_what_it_grants() -> None:
    suggestions = [
        {"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "npm test:*"}], "behavior": "allow",
         "destination": "session"},
        {"type": "addDirectories", "directories": ["/tmp"], "destination": "session"},
        {"type": "setMode", "mode": "acceptEdits", "destination": "session"},
        {"type": "addRules", "rules": [{"toolName": "WebFetch"}], "behavior": "allow",
         "destination": "localSettings"},
        {"type": "somethingNew"}, "not a dict"]
    assert msgspec.to_builtins(dialogs.suggestions_of(suggestions)) == [
        {"index": 0, "kind": "rule", "label": "Bash(npm test:*) for this session"},
        {"index": 1, "kind": "directory", "label": "access to /tmp for this session"},
        {"index": 2, "kind": "mode", "label": "accept edits mode for this session"},
        {"index": 3, "kind": "rule", "label": "WebFetch in this project, for you"},
        {"index": 4, "kind": "other", "label": "somethingNew"},
        {"index": 5, "kind": "other", "label": "a permission change"}]
    assert dialogs.suggestions_of(None) == []


# ---- answers and the hook decisions they become ---------------------------------------------------

def test_multiselect_answers_are_joined_and_own_words_kept() -> None:
    answers = {"Which features?": ["Auth", "Cache"], "Which database?": "my own  words, exactly"}
    assert dialogs.joined_answers(TWO_QUESTIONS, answers) == {
        "Which features?": "Auth, Cache", "Which database?": "my own  words, exactly"}


@pytest.mark.parametrize("answers, says", [
    ({"Which features?": ["Auth"]}, "'Which database?' has no answer"),
    ({"Which features?": "Auth", "Which database?": ["PostgreSQL", "SQLite"]}, "takes one answer"),
    ({"Which features?": [], "Which database?": "SQLite"}, "non-empty list"),
    ({"Which features?": "Auth", "Which database?": "SQLite", "Other?": "x"}, "no question 'Other?'"),
    ({"Which features?": "Auth", "Which database?": 3}, "must be a label"),
    ([], "must map"),
])
def test_bad_answers_say_what_is_wrong(answers: Any, says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("?", r"\?").replace("(", r"\(")):
        dialogs.joined_answers(TWO_QUESTIONS, answers)


def test_plan_choices_become_the_mode_change_or_feedback() -> None:
    record = make_record(tool_name="ExitPlanMode", tool_input={"plan": "# P", "planFilePath": "/h/.claude/plans/p.md"})

    def decision(answer: Decision | PlanChoice | Answers) -> dict[str, Any]:
        out: dict[str, Any] = claude.hook_decision(record, answer)["hookSpecificOutput"]["decision"]
        return out

    assert decision(PlanChoice(plan="auto")) == {
        "behavior": "allow", "updatedInput": record.tool_input,
        "updatedPermissions": [{"type": "setMode", "mode": "acceptEdits", "destination": "session"}]}
    assert decision(PlanChoice(plan="manual"))["updatedPermissions"][0]["mode"] == "default"
    assert decision(PlanChoice(plan="keep", message="add tests first")) == {
        "behavior": "deny", "message": "add tests first"}
    assert claude.summary_of(record) == "# P"
    # a plain allow of a plan carries its input too: Claude Code ignores an ExitPlanMode allow without it
    assert decision(Decision(decision="allow"))["updatedInput"] == record.tool_input


def test_always_grants_only_the_chosen_suggestions() -> None:
    suggestions = [{"type": "addDirectories", "directories": ["/tmp"], "destination": "session"},
                   {"type": "setMode", "mode": "acceptEdits", "destination": "session"}]
    record = make_record(tool_name="Bash", tool_input={"command": "ls"}, permission_suggestions=suggestions)
    chosen = claude.hook_decision(record, Decision(decision="always", suggestions=(1,)))
    assert chosen["hookSpecificOutput"]["decision"]["updatedPermissions"] == [suggestions[1]]
    every = claude.hook_decision(record, Decision(decision="always"))
    assert every["hookSpecificOutput"]["decision"]["updatedPermissions"] == suggestions


def test_plan_keys_on_the_plan_screens() -> None:
    new = [("1", "Yes, and use auto mode"), ("2", "Yes, manually approve edits"), ("3", "Tell Claude what to change")]
    old = [("1", "Yes, and switch to default (ask each time) for this session"), ("2", "No")]
    assert [dialogs.key_for_plan(m, new) for m in ("auto", "manual", "keep")] == ["1", "2", "3"]
    assert [dialogs.key_for_plan(m, old) for m in ("auto", "manual", "keep")] == [None, "1", "2"]


# ---- the late plan Notification -------------------------------------------------------------------

def _event(name: str, **changes: Any) -> tuple[HookEvent, dict[str, Any]]:
    body = json.loads((FIXTURES / "hooks" / f"{name}.json").read_text())
    body.update(changes)
    return claude.normalize_event(body)


def test_the_plan_notification_after_an_answer_from_piko_asks_nothing() -> None:
    fields, extra = _event("PermissionRequest-Bash", tool_name="ExitPlanMode", tool_input={})
    created = lifecycle.apply_event(fields, extra, None, new_id="p1", stamp=STAMP)
    assert isinstance(created, lifecycle.Create)
    plan = replace(created.record, status="resolved", resolved_via="hook")
    late, late_extra = _event("Notification-permission_prompt",
                              message="Claude Code needs your approval for the plan")
    # the plan was answered from Piko, and Claude's turn went on (idle) or nothing is pending
    idle = make_record(kind="idle", id="i1")
    for current in (None, idle):
        change = lifecycle.apply_event(late, late_extra, current, new_id="n1", stamp=STAMP, answered=plan)
        assert isinstance(change, lifecycle.Ignore), change
    # still pending: it enriches the plan request (no second request)
    pending = lifecycle.apply_event(late, late_extra, created.record, new_id="n1", stamp=STAMP, answered=None)
    assert isinstance(pending, lifecycle.Enrich) and pending.record.id == "p1"
    # nothing answered from Piko: a permission Notification alone is still a request
    assert isinstance(lifecycle.apply_event(late, late_extra, None, new_id="n1", stamp=STAMP), lifecycle.Create)


# ---- through the API ------------------------------------------------------------------------------

def _hook(name: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / "hooks" / f"{name}.json").read_text())
    body.update(changes)
    return body


async def test_records_carry_detail_and_suggestions(api: httpx.AsyncClient, tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("one\ntwo\nthree\n")
    r = await api.post("/api/orchestra/notify", json=_hook(
        "PermissionRequest-Write", tool_name="Edit",
        tool_input={"file_path": str(path), "old_string": "two", "new_string": "TWO"}))
    record = r.json()["notification"]
    assert record["detail"]["kind"] == "diff" and " one" in record["detail"]["unified"]
    assert [s["kind"] for s in record["suggestions"]] == ["mode", "directory"]
    msgspec.convert(record, models.Record)
    listed = (await api.get("/api/orchestra/notifications")).json()
    assert any(n["id"] == record["id"] and n["detail"] == record["detail"] for n in listed["notifications"])


async def test_new_answers_are_checked_with_a_sentence(api: httpx.AsyncClient, pane: FakePane) -> None:
    pane.screen = screen("permission-bash")
    bash = (await api.post("/api/orchestra/notify", json=_hook("PermissionRequest-Bash", **PANE))).json()
    plan = (await api.post("/api/orchestra/notify", json=_hook(
        "PermissionRequest-Bash", session_id="other", tool_name="ExitPlanMode", tool_input={}, **PANE))).json()
    ask = (await api.post("/api/orchestra/notify", json=_hook(
        "PermissionRequest-AskUserQuestion", session_id="third", tool_input=TWO_QUESTIONS, **PANE))).json()
    cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
        (bash, {"decision": "always", "suggestions": [5]}, "index 5"),
        (bash, {"decision": "always", "suggestions": []}, "non-empty list"),
        (bash, {"decision": "allow", "suggestions": [0]}, "go with the decision always"),
        (bash, {"plan": "auto"}, "only a plan approval"),
        (plan, {"plan": "later"}, "auto, manual, keep"),
        (plan, {"plan": "auto", "message": "x"}, "only with plan keep"),
        (plan, {"plan": "keep", "decision": "deny"}, "exactly one"),
        (ask, {"answers": {"Which features?": ["Auth"]}}, "has no answer"),
        (ask, {"answers": {"Which features?": "Auth", "Which database?": ["SQLite", "PostgreSQL"]}}, "one answer"),
    ]
    for record, body, says in cases:
        r = await api.post("/api/orchestra/respond", json={"notification_id": record["id"], **body})
        assert r.status_code == 400 and says in r.json()["error"], (body, r.text)
    assert pane.typed == []
    # several questions cannot be answered by keys: 409, nothing typed, still pending
    r = await api.post("/api/orchestra/respond", json={"notification_id": ask["id"], "answers": {
        "Which features?": ["Auth", "Cache"], "Which database?": "mine"}})
    assert r.status_code == 409 and pane.typed == []


PLAN_SCREEN = """ Ready to code?
 Here is Claude's plan:
 Plan
 1. Go

 Claude has written up a plan and is ready to execute. Would you like to proceed?
 ❯ 1. Yes, and use auto mode
   2. Yes, manually approve edits
   3. Tell Claude what to change
      shift+tab to approve with this feedback
 ctrl+g to edit in Vim · ~/.claude/plans/plan-go.md
 Enter to select · Esc to cancel
"""


async def test_a_plan_answer_by_keys_presses_the_modes_option(api: httpx.AsyncClient, pane: FakePane) -> None:
    pane.screen = PLAN_SCREEN
    plan = (await api.post("/api/orchestra/notify", json=_hook(
        "PermissionRequest-Bash", tool_name="ExitPlanMode", tool_input={"plan": "# P"},
        permission_suggestions=None, **PANE))).json()["notification"]
    assert plan["detail"]["kind"] == "plan" and plan["suggestions"] == []
    r = await api.post("/api/orchestra/respond", json={"notification_id": plan["id"], "plan": "manual"})
    assert r.status_code == 200 and r.json()["delivered_via"] == "keys", r.text
    assert pane.typed == [("key", "2")]
    assert r.json()["notification"]["response"] == "manual"


async def test_some_suggestions_cannot_be_granted_by_keys(api: httpx.AsyncClient, pane: FakePane) -> None:
    pane.screen = screen("permission-bash")
    bash = (await api.post("/api/orchestra/notify", json=_hook("PermissionRequest-Bash", **PANE))).json()
    r = await api.post("/api/orchestra/respond", json={"notification_id": bash["id"], "decision": "always",
                                                       "suggestions": [0]})
    assert r.status_code == 409 and r.json()["code"] == "needs_hook" and pane.typed == []
    r = await api.post("/api/orchestra/respond", json={"notification_id": bash["id"], "decision": "always",
                                                       "suggestions": [1, 0]})
    assert r.status_code == 200 and r.json()["delivered_via"] == "keys", r.text


@pytest.mark.parametrize("tool_input, suggestions", [
    ({"file_path": "/tmp/x", "edits": 5}, [{"type": "addRules", "rules": 5}]),
    ({"file_path": 5, "old_string": ["a"], "new_string": {}}, [{"type": "addDirectories", "directories": 7}]),
    ({"notebook_path": "/tmp/n.ipynb", "new_source": 3}, [{"type": "setMode", "mode": None}, 4, None]),
])
def test_fields_of_the_wrong_shape_give_a_detail_not_an_error(tool_input: dict[str, Any], suggestions: Any) -> None:
    for tool in ("Edit", "MultiEdit", "Write", "NotebookEdit", "ExitPlanMode", "mcp__a__b", "WebFetch", "X"):
        detail = detail_of(permission(tool, tool_input))
        msgspec.convert(detail, models.Detail | None)
    labels = dialogs.suggestions_of(suggestions)
    msgspec.convert(labels, list[models.Suggestion])
    with pytest.raises(ValueError):
        dialogs.joined_answers({"questions": 5}, {"q": 5})
