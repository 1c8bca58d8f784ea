"""The pane watcher: requests leave the inbox when their dialog or their agent is gone, and only then.

Real `piko server`, real tmux on private sockets, dialogs drawn by tests/support/fake_dialog.py; the
screen-reading rule ("read only the panes that changed") is checked in-process with a real Orchestra and
real tmux, by counting reads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest

from piko.server.hub import Hub
from piko.server.orchestra import Orchestra
from piko.server.store import Store
from piko.server.watcher import Watcher, read_screen
from tests.conftest import FIXTURES, hook_payload
from tests.support.server import recv_json

SCREENS = FIXTURES / "screens"
SCREEN = SCREENS / "screen-permission-bash.txt"
FAKE_DIALOG = Path(__file__).parent / "support" / "fake_dialog.py"


def ask(server, tmux, pane: str) -> str:
    """A pending permission request from the agent in `pane`."""
    event = hook_payload("PermissionRequest-Bash") | {
        "session_id": f"s-{uuid.uuid4().hex[:8]}", "tmux_target": pane, "tmux_socket": tmux.socket_path}
    return server.notify(**event)["id"]


def wait_resolved(server, id: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    record = server.get(id)
    while record["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
        record = server.get(id)
    assert record["status"] == "resolved", record
    return record


def scribble(tmux, pane: str, text: str) -> None:
    """Output in the pane that leaves the dialog alone: written to the top line through the pane's tty."""
    tty = tmux.cmd("display-message", "-p", "-t", pane, "#{pane_tty}").strip()
    with open(tty, "w") as f:
        f.write(f"\x1b7\x1b[1;1H{text}\x1b8")


def child_pids(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


# ---- reading Claude's screen (real screens of Claude Code 2.1.328 and 2.1.332) -----------------------

@pytest.mark.parametrize("name", ["screen-permission-bash", "screen-permission-write", "screen-askuserquestion"])
def test_a_dialog_on_screen_is_a_dialog_and_not_moved_on(name):
    screen = read_screen((SCREENS / f"{name}.txt").read_text())
    assert screen.options and not screen.moved_on


def test_waiting_to_draw_the_dialog_is_not_moved_on():
    """Between PermissionRequest and the dialog: "Waiting for permission…", footer "esc to interrupt"."""
    screen = read_screen((SCREENS / "screen-waiting-for-permission.txt").read_text())
    assert screen.options == [] and not screen.moved_on


def test_interrupted_and_idle_is_moved_on():
    """Esc before the dialog was drawn: "Interrupted · What should Claude do instead?", idle input box."""
    text = (SCREENS / "screen-interrupted.txt").read_text()
    assert read_screen(text).moved_on
    without_footer = "\n".join(line for line in text.splitlines() if "for shortcuts" not in line)
    assert read_screen(without_footer).moved_on  # the "Interrupted" line alone tells too
    busy_again = text.replace("? for shortcuts", "esc to interrupt")
    assert not read_screen(busy_again).moved_on  # an old "Interrupted" while Claude works again


# ---- real tmux, real server --------------------------------------------------------------------------

def test_a_request_whose_dialog_is_not_drawn_yet_stays_pending(server, tmux):
    """Claude busy, the dialog about to be drawn: not a dialog dismissed."""
    pane = tmux.new_session([sys.executable, str(FAKE_DIALOG), str(SCREENS / "screen-waiting-for-permission.txt")])
    tmux.wait_for(pane, "esc to interrupt")
    id = ask(server, tmux, pane)
    time.sleep(3.0)  # several looks, within the grace a never-seen dialog has
    assert server.get(id)["status"] == "pending"


def test_a_killed_pane_resolves_its_request(server, tmux):
    pane = tmux.dialog_pane(SCREEN)
    id = ask(server, tmux, pane)
    time.sleep(0.5)
    tmux.kill_pane(pane)
    assert wait_resolved(server, id)["resolved_via"] == "pane_gone"


def test_claude_exiting_in_a_pane_tmux_keeps_resolves_its_request(server, tmux):
    """remain-on-exit keeps the dead pane, and its last screen, dialog and all."""
    pane = tmux.dialog_pane(SCREEN)
    tmux.cmd("set-option", "-p", "-t", pane, "remain-on-exit", "on")
    id = ask(server, tmux, pane)
    time.sleep(1.0)
    assert server.get(id)["status"] == "pending"
    pid = int(tmux.cmd("display-message", "-p", "-t", pane, "#{pane_pid}"))
    os.kill(pid, signal.SIGKILL)
    assert wait_resolved(server, id)["resolved_via"] == "pane_dead"
    assert "Esc to cancel" in tmux.capture(pane)  # the dialog is still drawn: only the process tells


def test_claude_exiting_back_to_its_shell_resolves_its_request(server, tmux):
    pane = tmux.new_session(["sh"])
    tmux.cmd("send-keys", "-t", pane, "-l", f"{sys.executable} {FAKE_DIALOG} {SCREEN}")
    tmux.cmd("send-keys", "-t", pane, "Enter")
    tmux.wait_for(pane, "Esc to cancel")
    id = ask(server, tmux, pane)
    time.sleep(1.0)
    assert server.get(id)["status"] == "pending"
    shell = int(tmux.cmd("display-message", "-p", "-t", pane, "#{pane_pid}"))
    for pid in child_pids(shell):
        os.kill(pid, signal.SIGKILL)
    assert wait_resolved(server, id)["resolved_via"] == "claude_gone"
    assert "Esc to cancel" in tmux.capture(pane)  # still on screen, above the shell's prompt


def test_a_program_the_agent_runs_in_the_foreground_is_not_the_agent_gone(server, tmux):
    """Claude opening an editor (Ctrl-G) changes pane_current_command; Claude still runs under the pane."""
    pane = tmux.new_session(["sh"])  # here the shell is the agent
    time.sleep(0.3)
    id = server.notify(**hook_payload("Notification-idle_prompt") | {
        "session_id": "editor", "tmux_target": pane, "tmux_socket": tmux.socket_path})["id"]
    time.sleep(1.0)  # the watcher has looked: the agent is "sh"
    tmux.cmd("send-keys", "-t", pane, "-l", "sleep 30")
    tmux.cmd("send-keys", "-t", pane, "Enter")
    deadline = time.monotonic() + 5
    while tmux.cmd("display-message", "-p", "-t", pane, "#{pane_current_command}").strip() != "sleep":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(2.0)
    assert server.get(id)["status"] == "pending"


def test_a_dialog_on_screen_stays_pending_while_the_pane_changes(server, tmux):
    quiet, busy = tmux.dialog_pane(SCREEN), tmux.dialog_pane(SCREEN)
    ids = [ask(server, tmux, quiet), ask(server, tmux, busy)]
    for n in range(20):  # 4 s, about 10 looks of the watcher
        scribble(tmux, busy, f"other output {n}")
        time.sleep(0.2)
    assert [server.get(id)["status"] for id in ids] == ["pending", "pending"]
    assert "other output 19" in tmux.capture(busy) and "Esc to cancel" in tmux.capture(busy)


def test_answering_a_dialog_in_the_terminal_still_resolves_it(server, tmux):
    pane = tmux.dialog_pane(SCREEN)
    id = ask(server, tmux, pane)
    time.sleep(1.0)  # the watcher has seen the dialog
    tmux.cmd("send-keys", "-t", pane, "Escape")
    assert wait_resolved(server, id)["resolved_via"] == "terminal"


def test_only_panes_that_changed_are_read_again(tmp_path, tmux):
    """One `list-panes` per look tells which panes changed; only those are captured again."""
    panes = [tmux.dialog_pane(SCREEN) for _ in range(3)]
    time.sleep(1.1)  # tmux stamps activity in whole seconds: the drawing is now in an earlier second

    async def scenario() -> tuple[list[int], list[int], list[int], list[str]]:
        orchestra = Orchestra(Store(tmp_path / "piko.db"), Hub())
        for pane in panes:
            await orchestra.ingest(hook_payload("PermissionRequest-Bash") | {
                "session_id": pane, "tmux_target": pane, "tmux_socket": tmux.socket_path,
                "tmux_session": "agent"})
        watcher = Watcher(orchestra)
        reads = lambda: [watcher.panes.captures[(tmux.socket_path, p)] for p in panes]  # noqa: E731
        await watcher.tick()
        first = reads()
        await watcher.tick()
        await watcher.tick()
        unchanged = reads()
        await asyncio.to_thread(scribble, tmux, panes[1], "news")
        await watcher.tick()
        changed = reads()
        return first, unchanged, changed, [r.status for r in orchestra.pending.values()]

    # On a loop of its own thread: the session's browser (Playwright's sync API) keeps a loop marked
    # running on the main thread once a browser test ran.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first, unchanged, changed, statuses = pool.submit(asyncio.run, scenario()).result()
    assert first == [1, 1, 1]
    assert unchanged == [1, 1, 1]
    assert changed == [1, 2, 1]
    assert statuses == ["pending"] * 3


# ---- with the real Claude Code CLI ------------------------------------------------------------------

@pytest.fixture
def rig(tmp_path: Path, server):
    from tests.support.agents import Rig
    from tests.support.claude_cli import require_claude
    from tests.support.fake_anthropic import FakeAnthropic

    binary = require_claude()
    with FakeAnthropic() as api:
        r = Rig(tmp_path, server, api, binary)
        try:
            yield r
        finally:
            r.close()
            r.wait_no_hooks()


@pytest.mark.claude
def test_esc_the_instant_the_request_appears_leaves_the_inbox(rig, tmp_path):
    """Esc before the dialog is drawn: Claude shows "Interrupted", never the dialog, and fires no event."""
    agent = rig.agent(rig.project("app"))
    target = tmp_path / "never"
    with rig.server.ws() as ws:
        recv_json(ws)  # the snapshot
        agent.type_prompt(f"please [bash:touch {target}] now")
        while (msg := recv_json(ws, timeout=30))["type"] != "created":
            pass
        agent.send_key("Escape")
        id = msg["notification"]["id"]
    agent.wait_for("Interrupted", interval=0.02)
    moved_on = time.monotonic()
    record = rig.wait_status(id, timeout=10)
    assert time.monotonic() - moved_on < 2.0
    assert record["resolved_via"] == "terminal"
    time.sleep(8.0)  # past the permission_prompt Notification Claude may still send for it
    assert [r for r in rig.server.pending() if r["session_id"] == record["session_id"]] == []
    assert not target.exists()


@pytest.mark.claude
def test_claude_killed_in_its_pane_resolves_its_request(rig, tmp_path):
    agent = rig.agent(rig.project("app"))  # tmux keeps its pane (remain-on-exit)
    agent.type_prompt(f"please [bash:touch {tmp_path / 'never'}] now")
    request = rig.wait_request(lambda r: r["tool_name"] == "Bash")
    agent.wait_for("Do you want to proceed?")
    time.sleep(1.0)
    assert rig.server.get(request["id"])["status"] == "pending"
    assert agent.pid is not None
    os.kill(agent.pid, signal.SIGKILL)
    # Both are true of a Claude killed in a kept pane; which the watcher sees first depends on whether
    # tmux has marked the pane dead yet when /proc already shows the agent gone.
    assert rig.wait_status(request["id"], timeout=10)["resolved_via"] in ("pane_dead", "claude_gone")
