"""6. With the real Claude Code CLI: from the permission dialog on the screen to the request in the browser.

As the end-to-end tests run it (tests/support/agents.py): a real `piko server`, hooks installed by the real
`piko cc init`, the real Claude Code CLI in tmux against the Messages API stand-in on loopback. A
WebSocket client (the browser's view) stamps every message as it arrives. A run:
- type a `[bash:touch <marker>]` prompt; poll `tmux capture-pane` back to back (~5 ms apart) and stamp
  the first capture that shows "Do you want to proceed?" (its start: the dialog was there by then);
- figure: arrival of the `created` permission request minus that stamp (negative is possible: the
  PermissionRequest hook fires before the dialog is drawn);
- baseline, same run: what a design driven only by the Notification event would show, i.e. arrival of
  the `updated` message carrying notification_type=permission_prompt (Claude Code's Notification hook)
  minus the same stamp;
- then allow it from the "browser" (POST /respond decision=allow, through the waiting hook) and wait for
  the command to run and the prompt to come back.
Skipped, with a message, when the CLI or tmux is missing (scripts/setup --test installs them).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from typing import Any

from bench.common import Context, Row, cleanup, median, start_piko, temp_dir

DIALOG = "Do you want to proceed?"
POLL = 0.005


class Browser:
    """A WebSocket client in a thread, keeping (stamp_ns, message) for every message."""

    def __init__(self, server: Any) -> None:
        self.ws = server.ws()
        self.messages: list[tuple[int, dict]] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for text in self.ws:
                t = time.perf_counter_ns()
                with self.lock:
                    self.messages.append((t, json.loads(text)))
        except Exception:  # noqa: BLE001 - closed
            pass

    def find(self, predicate, timeout: float) -> tuple[int, dict] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for t, message in self.messages:
                    if predicate(message):
                        return t, message
            time.sleep(0.01)
        return None

    def close(self) -> None:
        self.ws.close()


def _capture(agent: Any) -> str:
    return subprocess.run(["tmux", "-u", "-L", agent.socket_name, "capture-pane", "-p", "-t", agent.pane_id],
                          capture_output=True, text=True, timeout=5).stdout


def bench(ctx: Context) -> None:
    import shutil

    from tests.support.agents import Rig
    from tests.support.claude_cli import claude_binary, claude_binary_path
    from tests.support.fake_anthropic import FakeAnthropic

    binary = claude_binary()
    if binary is None or shutil.which("tmux") is None:
        why = "tmux not found" if binary else f"Claude Code CLI not installed at {claude_binary_path()}"
        print(f"[claude] skipped: {why} (scripts/setup --test installs it)", flush=True)
        ctx.add(Row("6. claude: dialog->browser", "skipped", goal="< 0.5 s", status="skip",
                    note=f"{why}; run scripts/setup --test"))
        return

    runs = 1 if ctx.quick else 4
    root = temp_dir(ctx, "claude")
    home = root / "piko-home"
    server = start_piko(home)
    figures: list[float] = []
    notification: list[float] = []
    errors: list[str] = []
    try:
        with FakeAnthropic() as api:
            rig = Rig(root, server, api, binary)
            browser = Browser(server)
            try:
                agent = rig.agent(rig.project("app"))
                for i in range(runs + 1):  # the first is a warm-up (first dialog of a fresh CLI)
                    target = root / f"marker-{uuid.uuid4().hex[:8]}"
                    agent.type_prompt(f"please [bash:touch {target}] now")
                    deadline = time.monotonic() + 30
                    shown = 0
                    while time.monotonic() < deadline:
                        started = time.perf_counter_ns()
                        if DIALOG in _capture(agent):
                            shown = started
                            break
                        time.sleep(POLL)
                    if not shown:
                        errors.append("the permission dialog did not appear within 30 s")
                        break

                    def is_ours(m: dict) -> bool:
                        n = m.get("notification") or {}
                        return str(target) in json.dumps(n.get("tool_input") or {})  # noqa: B023 - used at once

                    created = browser.find(lambda m: m.get("type") == "created" and is_ours(m), 10)
                    if created is None:
                        with browser.lock:
                            seen = [m for _, m in browser.messages]
                        errors.append(f"the request never reached the browser (it saw: {str(seen)[:600]})")
                        break
                    id = created[1]["notification"]["id"]
                    note = browser.find(lambda m: m.get("type") == "updated" and m["notification"]["id"] == id  # noqa: B023
                                        and m["notification"].get("notification_type") == "permission_prompt", 20)
                    if i > 0:
                        figures.append((created[0] - shown) / 1e9)
                        if note is not None:
                            notification.append((note[0] - shown) / 1e9)
                    r = server.respond(notification_id=id, decision="allow")
                    if r.status_code != 200:
                        errors.append(f"respond answered {r.status_code}: {r.text[:200]}")
                        break
                    deadline = time.monotonic() + 20
                    while not target.exists() and time.monotonic() < deadline:
                        time.sleep(0.05)
                    agent.wait_ready(timeout=30)
                    time.sleep(0.5)
            finally:
                browser.close()
                rig.close()
    finally:
        server.stop()
        cleanup(root)

    if not figures:
        ctx.add(Row("6. claude: dialog->browser", "failed", goal="< 0.5 s", status="miss",
                    note="; ".join(errors) or "no run completed"))
        return
    value = median(figures)
    base = median(notification) if notification else float("nan")
    ctx.data["claude"] = {"dialog_to_browser_s": figures, "notification_s": notification}
    ctx.add(Row("6. claude: dialog->browser", f"{value * 1000:+.0f} ms",
                f"{base:.2f} s (Notification event)" if notification else "n/a",
                ("ahead (<0)" if value < 0 else f"{value / base:.3f}x") if notification else "-", "< 0.5 s",
                "pass" if value < 0.5 and not errors else "miss",
                note=f"median of {len(figures)} runs: " + ", ".join(f"{f * 1000:+.0f} ms" for f in figures)
                     + (f"; errors: {'; '.join(errors)}" if errors else "")))
