"""The session records' transition rules (server/fleet_rules.py), as pure functions."""

from __future__ import annotations

import os
from typing import Any

import msgspec
from msgspec.structs import replace

from piko import claude
from piko.models import FleetSession, HookEvent, Record
from piko.server import fleet_rules, lifecycle
from piko.server.gitbranch import Branches
from tests.conftest import hook_payload
from tests.support.records import record

T0, T1, T2 = "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:01.000Z", "2026-01-01T00:00:02.000Z"


def event(name: str, **over: Any) -> tuple[HookEvent, dict[str, Any]]:
    return claude.normalize_event({**hook_payload(name), **over})


def step(session: FleetSession | None, name: str, stamp: str = T1,
         request: Record | None = None, **over: Any) -> FleetSession:
    fields, extra = event(name, **over)
    assert fields.session_id is not None
    base = session or fleet_rules.new_session(fields.session_id, T0)
    return fleet_rules.apply_event(base, fields, extra, request, stamp, None)


def request(kind: str, id: str = "r1", **over: Any) -> Record:
    return record(**{"id": id, "kind": kind, "status": "pending", "session_id": "s", **over})


def test_session_start_is_idle_and_keeps_the_pane_and_names():
    s = step(None, "SessionStart", tmux_target="%3", tmux_socket="/tmp/t/sock", tmux_session="piko/app/feat")
    assert s.state == "idle" and s.since == T0  # it was idle from the start
    assert (s.project_name, s.env_name, s.tmux_target) == ("app", "feat", "%3")


def test_prompt_then_tool_is_working_with_the_tool_and_its_summary():
    s = step(None, "UserPromptSubmit")
    assert s.state == "working" and s.since == T1 and s.last_prompt == "please [write] it"
    s = step(s, "PreToolUse-Bash", T2)
    assert s.state == "working" and s.since == T1  # still working: since does not move
    assert (s.tool_name, s.tool_summary) == ("Bash", "touch /tmp/build-marker")
    s = step(s, "PostToolUse-Write", T2)
    assert s.state == "working" and s.tool_name is None and s.tool_summary is None


def test_stop_is_idle_with_the_first_lines_of_the_answer():
    s = step(step(None, "UserPromptSubmit"), "Stop", T2,
             last_assistant_message="One\n\n  two   words\nthree\nfour")
    assert s.state == "idle" and s.since == T2 and s.last_answer == "One\ntwo words\nthree"
    assert s.last_prompt == "please [write] it"  # kept


def test_a_pending_permission_makes_it_waiting_with_its_request_until_answered():
    s = step(step(None, "PreToolUse-Bash"), "PermissionRequest-Bash", T2, request=request("permission"))
    assert s.state == "waiting" and s.request_id == "r1" and s.since == T2
    # A parallel tool finishing does not end the wait: the request is still pending.
    s2 = step(s, "PostToolUse-Write", T2, request=request("permission"))
    assert s2.state == "waiting"
    answered = fleet_rules.request_changed(s, request("permission", status="resolved", resolved_via="hook"), T2)
    assert answered is not None and answered.state == "working" and answered.request_id is None


def test_an_idle_request_is_idle_not_waiting():
    s = step(None, "Notification-idle_prompt", request=request("idle"))
    assert s.state == "idle" and s.request_id is None


def test_session_end_and_a_gone_pane_end_it():
    s = step(step(None, "UserPromptSubmit"), "SessionEnd", T2)
    assert (s.state, s.ended_via, s.since) == ("ended", "event:SessionEnd", T2)
    waiting = step(None, "PermissionRequest-Bash", request=request("permission"))
    gone = fleet_rules.request_changed(waiting, request("permission", status="resolved", resolved_via="pane_gone"),
                                       T2)
    assert gone is not None and (gone.state, gone.ended_via, gone.request_id) == ("ended", "pane_gone", None)
    # Another session's request does not touch it.
    assert fleet_rules.request_changed(step(None, "UserPromptSubmit"), request(
        "permission", "r9", status="resolved", resolved_via="hook"), T2) is None


def test_only_a_session_start_revives_an_ended_session():
    ended = fleet_rules.end(step(None, "UserPromptSubmit"), "claude_gone", T1)
    for late in ("Stop", "PreToolUse-Bash", "Notification-idle_prompt", "SessionEnd"):
        assert step(ended, late, T2) == ended  # late or replayed: it stays as it ended
    s = step(ended, "SessionStart", T2)
    assert (s.state, s.ended_via, s.since) == ("idle", None, T2)


def test_quiet_only_while_working_and_silent_longer_than_the_limit():
    working = step(None, "UserPromptSubmit")
    limit = fleet_rules.QUIET_SECONDS
    assert fleet_rules.is_quiet(working, 1000.0 + limit + 1, 1000.0)
    assert not fleet_rules.is_quiet(working, 1000.0 + limit - 1, 1000.0)
    assert not fleet_rules.is_quiet(step(None, "Stop"), 1000.0 + limit + 1, 1000.0)
    assert step(replace(working, quiet=True), "PreToolUse-Bash").quiet is False


def test_timeline_entries_say_what_happened_and_who_answered():
    fields, extra = event("PreToolUse-Bash")
    entry = fleet_rules.timeline_event(fields, extra, T1)
    assert (entry.kind, entry.event, entry.summary) == ("event", "PreToolUse", "touch /tmp/build-marker")
    made = fleet_rules.timeline_request(request("permission", summary="rm -rf x",
                                                hook_event_name="PermissionRequest"), T1, None)
    assert made is not None and msgspec.to_builtins(made) == {
        "at": T1, "kind": "request", "event": "PermissionRequest", "request_id": "r1", "summary": "rm -rf x",
        "via": None, "by": None}
    answer = fleet_rules.timeline_request(request("permission", status="resolved", resolved_via="hook",
                                                  response="allow"), T2, "browser:abc")
    assert answer is not None and (answer.kind, answer.summary, answer.via) == ("answer", "allow", "hook")
    assert answer.by == "browser:abc"


def test_pending_after_follows_the_lifecycle_change():
    current = request("permission")
    assert fleet_rules.pending_after(lifecycle.Ignore(), current) is current
    assert fleet_rules.pending_after(lifecycle.Resolve(current, "event:Stop"), current) is None
    new = request("idle", "r2")
    assert fleet_rules.pending_after(lifecycle.Create(new, current), current) is new


def test_git_branch_from_head_and_worktree_files(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/feature/x\n")
    (repo / "sub").mkdir()
    branches = Branches()
    assert branches.of(str(repo / "sub")) == "feature/x"
    (repo / ".git" / "HEAD").write_text("0123456789abcdef0123456789abcdef01234567\n")
    os.utime(repo / ".git" / "HEAD", ns=(1, 1))  # a new mtime: read again
    assert branches.of(str(repo)) == "HEAD@0123456"
    tree = tmp_path / "tree"
    tree.mkdir()
    (tmp_path / "gd").mkdir()
    (tmp_path / "gd" / "HEAD").write_text("ref: refs/heads/wt\n")
    (tree / ".git").write_text(f"gitdir: {tmp_path / 'gd'}\n")
    assert branches.of(str(tree)) == "wt"
    assert branches.of(str(tmp_path)) is None


def test_named_from_the_pane_keeps_a_given_env_and_reads_piko_names():
    s = step(None, "UserPromptSubmit", project_name="shop")
    assert fleet_rules.named(s, "  work \n") == replace(s, tmux_session="work", env_name="work")
    given = replace(s, env_name="feat-x")
    named = fleet_rules.named(given, "work")
    assert named is not None and named.env_name == "feat-x"
    piko = fleet_rules.named(s, "piko/blog/main")
    assert piko is not None and (piko.project_name, piko.env_name) == ("blog", "main")
    assert fleet_rules.named(replace(s, tmux_session="old"), "new") is None and fleet_rules.named(s, " ") is None
