"""Smoke tests: the real Claude Code CLI, offline, in tmux, against tests/support/fake_anthropic.py.

Skipped when the CLI is not installed (scripts/install-claude-code.sh), unless PIKO_REQUIRE_CLAUDE=1.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.claude_cli import ClaudeSession, require_claude
from tests.support.fake_anthropic import FakeAnthropic

pytestmark = pytest.mark.claude

WAIT = 30.0

HOOK_LOGGER = r'''
import json, os, sys, time
raw = sys.stdin.read()
try:
    payload = json.loads(raw)
except ValueError:
    payload = {"unparsed": raw}
record = {"t": time.time(), "payload": payload,
          "TMUX": os.environ.get("TMUX"), "TMUX_PANE": os.environ.get("TMUX_PANE")}
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
os.write(fd, (json.dumps(record) + "\n").encode())  # one append: hooks running at once do not interleave
os.close(fd)
'''

HOOK_EVENTS = ("PermissionRequest", "Notification", "PostToolUse", "UserPromptSubmit", "Stop", "SessionStart")


@pytest.fixture(scope="module")
def claude_bin() -> str:
    return require_claude()


@pytest.fixture
def api() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "project"
    p.mkdir()
    return p


@pytest.fixture
def start_claude(claude_bin: str, api: FakeAnthropic, project: Path) -> Iterator[Callable[..., ClaudeSession]]:
    sessions: list[ClaudeSession] = []

    def start(**kw: Any) -> ClaudeSession:
        cc = ClaudeSession(project, api.url, binary=claude_bin, **kw).start()
        sessions.append(cc)
        cc.wait_ready(timeout=WAIT)
        return cc

    yield start
    for cc in sessions:
        cc.close()


@pytest.fixture
def marker() -> Iterator[str]:
    path = f"/tmp/piko-marker-{uuid.uuid4().hex}"
    yield path
    if os.path.exists(path):
        os.remove(path)


def wait_until(cond: Callable[[], Any], timeout: float = WAIT, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.05)


def install_hook_logger(project: Path, tmp_path: Path) -> Path:
    script = tmp_path / "hook_logger.py"
    script.write_text(HOOK_LOGGER)
    log = tmp_path / "hooks.jsonl"
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(log))}"
    settings = {"hooks": {ev: [{"hooks": [{"type": "command", "command": command}]}] for ev in HOOK_EVENTS}}
    (project / ".claude").mkdir(exist_ok=True)
    (project / ".claude" / "settings.json").write_text(json.dumps(settings, indent=2))
    return log


def read_hooks(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    text = log.read_text()
    complete = text[:text.rfind("\n") + 1]  # a line still being written is read next time
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def hooks_of(log: Path, event: str, **match: Any) -> list[dict[str, Any]]:
    out = []
    for rec in read_hooks(log):
        p = rec["payload"]
        if p.get("hook_event_name") == event and all(p.get(k) == v for k, v in match.items()):
            out.append(rec)
    return out


# --------------------------------------------------------------------------- tests

def test_bash_permission_answered_with_digit_key(start_claude, api: FakeAnthropic, marker: str) -> None:
    cc = start_claude()
    cc.type_prompt(f"please [bash:touch {marker}] now")
    cc.wait_for("Do you want to proceed?", timeout=WAIT)
    screen = cc.capture()
    assert f"touch {marker}" in screen
    assert re.search(r"❯ 1\. Yes", screen)
    assert not os.path.exists(marker)

    cc.choose("1")
    wait_until(lambda: os.path.exists(marker), what=f"{marker} created")
    cc.wait_for("TOOL RESULT:", timeout=WAIT)
    cc.wait_ready(timeout=WAIT)
    assert "Do you want to proceed?" not in cc.capture()
    assert api.tool_results(), "the stand-in got the tool_result"


def test_hooks_fire_with_tmux_pane(start_claude, api: FakeAnthropic, project: Path, tmp_path: Path,
                                   marker: str) -> None:
    log = install_hook_logger(project, tmp_path)
    cc = start_claude()
    start = wait_until(lambda: hooks_of(log, "SessionStart"), what="SessionStart hook")[0]
    assert start["payload"]["source"] == "startup"
    assert start["TMUX_PANE"] == cc.pane_id

    prompt = f"please [bash:touch {marker}] now"
    cc.type_prompt(prompt)
    submit = wait_until(lambda: hooks_of(log, "UserPromptSubmit"), what="UserPromptSubmit hook")[0]
    assert submit["payload"]["prompt"] == prompt

    req = wait_until(lambda: hooks_of(log, "PermissionRequest"), what="PermissionRequest hook")[0]
    cc.wait_for("Do you want to proceed?", timeout=WAIT)
    p = req["payload"]
    assert p["tool_name"] == "Bash"
    assert p["tool_input"]["command"] == f"touch {marker}"
    assert p["tool_input"]["description"] == "Run the mock command"
    assert p["cwd"] == str(project.resolve())
    assert req["TMUX_PANE"] == cc.pane_id
    assert req["TMUX"] and req["TMUX"].split(",")[0] == cc.socket_path

    # Nobody presses a key: the generic Notification follows a few seconds later.
    note = wait_until(lambda: hooks_of(log, "Notification", notification_type="permission_prompt"),
                      timeout=20, what="Notification(permission_prompt) hook")[0]
    assert note["t"] - req["t"] > 2.0
    assert note["TMUX_PANE"] == cc.pane_id

    cc.choose("1")
    post = wait_until(lambda: hooks_of(log, "PostToolUse", tool_name="Bash"), what="PostToolUse hook")[0]
    assert post["payload"]["tool_input"]["command"] == f"touch {marker}"
    stop = wait_until(lambda: hooks_of(log, "Stop"), what="Stop hook")[0]
    assert stop["payload"]["last_assistant_message"].startswith("TOOL RESULT:")
    assert os.path.exists(marker)


def test_ask_user_question_pick_second_option(start_claude, api: FakeAnthropic) -> None:
    cc = start_claude()
    cc.type_prompt("which database? [ask]")
    cc.wait_for("Which database should the app use?", timeout=WAIT)
    screen = cc.wait_for(re.compile(r"2\. SQLite"), timeout=WAIT) and cc.capture()
    assert "1. PostgreSQL" in screen and "Embedded, simple" in screen

    cc.choose("2", dialog="Enter to select")
    results = api.wait_for(lambda a: [r for r in a.tool_results() if "SQLite" in json.dumps(r)], timeout=WAIT)
    assert "PostgreSQL" not in json.dumps(results[0]["content"])
    cc.wait_for("→ SQLite", timeout=WAIT)
    cc.wait_for("TOOL RESULT:", timeout=WAIT)


def test_write_permission_default_path(start_claude, api: FakeAnthropic, project: Path) -> None:
    cc = start_claude()
    cc.type_prompt("please [write] it")
    cc.wait_for("Do you want to create mock-written.txt?", timeout=WAIT)
    cc.choose("1", dialog="Do you want to create mock-written.txt?")
    target = project / "mock-written.txt"
    wait_until(target.exists, what="mock-written.txt created")
    cc.wait_for("TOOL RESULT: File created successfully", timeout=WAIT)
    assert target.read_text() == "hello\n"


def test_idle_prompt_arrives_verbatim(start_claude, api: FakeAnthropic) -> None:
    cc = start_claude()
    text = """say "double" and 'single' $(echo not-run) `tick` → ünïcode ✓ 100% & | ; \\ done"""
    cc.type_prompt(text)
    api.wait_for(lambda a: a.prompts(), timeout=WAIT)
    assert api.prompts()[-1] == text
    cc.wait_for("ECHO: say", timeout=WAIT)
    # The reply is rendered as markdown: `tick` shows as tick (inline code).
    assert "ECHO: " + text.replace("`", "") in cc.capture()


@pytest.mark.parametrize("key", ["Escape", "4"], ids=["esc", "no"])
def test_denied_in_terminal_leaves_interrupted_screen(start_claude, api: FakeAnthropic, marker: str,
                                                      key: str) -> None:
    cc = start_claude()
    cc.type_prompt(f"please [bash:touch {marker}] now")
    cc.choose(key)
    cc.wait_for("Interrupted · What should Claude do instead?", timeout=WAIT)
    screen = cc.capture()
    assert "Did not run 1 call" in screen
    cc.wait_ready(timeout=WAIT)
    time.sleep(0.5)
    assert not os.path.exists(marker)
    assert not api.tool_results(), "a terminal denial sends nothing to the API until the next prompt"


# --------------------------------------------------------------------------- the stand-in alone (no CLI)

def _post(url: str, body: Any) -> tuple[str, bytes]:
    import urllib.request

    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers.get("Content-Type", ""), resp.read()


def test_fake_anthropic_answers_without_cli(api: FakeAnthropic) -> None:
    tools = [{"name": "Bash"}]
    ctype, raw = _post(f"{api.url}/v1/messages?beta=true", {
        "model": "m", "tools": tools,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>noise [ask]</system-reminder>"},
            {"type": "text", "text": "go [bash:echo 'a]b'] now"}]}]})
    msg = json.loads(raw)
    assert ctype.startswith("application/json")
    assert msg["stop_reason"] == "tool_use"
    assert msg["content"][0]["name"] == "Bash"
    assert msg["content"][0]["input"] == {"command": "echo 'a]b'", "description": "Run the mock command"}

    # After an interrupted tool use the rejected tool_result comes with the next prompt: the prompt wins.
    ctype, raw = _post(f"{api.url}/v1/messages", {
        "model": "m", "tools": tools, "stream": True,
        "messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "is_error": True, "content": "rejected"},
            {"type": "text", "text": "[Request interrupted by user for tool use]\n"},
            {"type": "text", "text": "next one"}]}]})
    assert ctype.startswith("text/event-stream")
    events = [line[len("event: "):] for line in raw.decode().splitlines() if line.startswith("event: ")]
    assert events == ["message_start", "content_block_start", "content_block_delta", "content_block_stop",
                      "message_delta", "message_stop"]
    assert "ECHO: next one" in raw.decode()

    _, raw = _post(f"{api.url}/v1/messages", {"model": "m", "messages": [{"role": "user", "content": "title"}]})
    assert json.loads(raw)["content"][0]["type"] == "text"
    _, raw = _post(f"{api.url}/v1/messages/count_tokens", {"model": "m", "messages": []})
    assert "input_tokens" in json.loads(raw)
    assert api.prompts() == ["go [bash:echo 'a]b'] now", "next one"]
