"""The web UI in a real browser (Debian's Chromium through Playwright) against a real `piko server`: the
inbox as it shows requests (connecting, cards arriving live, a restart, signing in, the server's own words,
desktop notifications). Answering from the page: tests/test_web_ui_answers.py.

Every test saves a screenshot of its interesting moment to test-artifacts/screenshots/<test name>.png,
and one of each open page when it fails. test_showcase also renders the README screenshot; run it with
PIKO_UPDATE_SCREENSHOT=1 to copy the light 1280x800 one to docs/screenshot.png.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, hook_payload
from tests.support.browser import ROOT, login, login_url, publish
from tests.support.inbox_page import card, expect_badge, fake_dialog_pane, idle, rewrite_records

pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, with PIKO_REQUIRE_BROWSER) with the reason
    expect = None


def card_ids(page) -> list[str]:
    return page.locator("#requests .request-card").evaluate_all("cards => cards.map(c => c.dataset.id)")


# ---- the code's shape ------------------------------------------------------------------------------

STATIC = ROOT / "src" / "piko" / "server" / "static"


def test_the_ui_is_small_es_modules_loaded_by_relative_path():
    """One module per idea, no file over ~400 lines, each script loaded as a module from /static/ by a
    relative import (no build step, nothing from another origin)."""
    for file in (f for f in STATIC.iterdir() if f.is_file() and f.suffix != ".png"):
        assert len(file.read_text(encoding="utf-8").splitlines()) <= 400, file.name
    modules = sorted(STATIC.glob("*.js"))
    assert len(modules) > 10
    for module in modules:
        text = module.read_text(encoding="utf-8")
        for target in re.findall(r"^import [^;]*? from '([^']+)';$", text, re.M):
            assert target.startswith("./") and (STATIC / target[2:]).is_file(), (module.name, target)
    for page, entry in (("index.html", "app.js"), ("login.html", "login.js")):
        html = (STATIC / page).read_text(encoding="utf-8")
        assert re.findall(r"<script[^>]*>", html) == [f'<script type="module" src="/static/{entry}">'], page


# ---- connecting -----------------------------------------------------------------------------------

def test_connects_and_shows_the_empty_inbox(server, open_page, shot):
    page = open_page(server)
    status = page.locator("#conn-status")
    expect(status).to_have_attribute("data-state", "connected")
    expect(status).to_contain_text("Connected")
    expect_badge(page, 0)
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#empty")).to_contain_text("No agent is waiting for you")
    expect(page.locator("#loading")).to_be_hidden()
    expect(page.locator("#login-help")).to_be_hidden()
    expect(page.locator("#requests .request-card")).to_have_count(0)
    shot(page)


# ---- a notify shows up live -----------------------------------------------------------------------

def test_a_notify_appears_as_a_card_within_a_second(server, open_page, shot):
    page = open_page(server)
    started = time.monotonic()
    bash = hook_payload("PermissionRequest-Bash")
    first = server.notify(**bash | {"project_name": "myapp", "env_name": "main"})["id"]
    expect(card(page, first)).to_be_visible(timeout=1000)
    assert time.monotonic() - started < 1.5  # the POST itself and the card, together
    expect_badge(page, 1, timeout=1000)

    c = card(page, first)
    expect(c).to_have_attribute("data-kind", "permission")
    expect(c.locator(".kind")).to_have_text("Permission")
    expect(c.locator(".project")).to_have_text("myapp · main")
    expect(c.locator(".tool")).to_have_text("Bash")
    expect(c.locator(".summary")).to_have_text("touch /tmp/build-marker")
    expect(c.locator("time.age")).to_have_text(re.compile(r"^\d+s ago$"))
    toast = page.locator(f'#toasts .toast[data-id="{first}"]')
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("New permission request · myapp · main")
    expect(page.locator("#empty")).to_be_hidden()
    shot(page)

    second = server.notify(**hook_payload("PermissionRequest-Write") | {"project_name": "webapp"})["id"]
    expect(card(page, second)).to_be_visible(timeout=1000)
    expect_badge(page, 2, timeout=1000)
    summary = server.get(second)["summary"]  # the server's one definition of what is asked
    assert "mock-written.txt" in summary
    expect(card(page, second).locator(".summary")).to_have_text(summary)
    expect(page.locator("#requests .request-card")).to_have_count(2)
    assert card_ids(page) == [second, first]  # newest first
    expect(page.locator(f'#toasts .toast[data-id="{second}"]')).to_be_visible()


# ---- the server restarts --------------------------------------------------------------------------

def test_a_server_restart_shows_the_drop_and_the_page_recovers(server, open_page, shot):
    a = server.notify(**hook_payload("PermissionRequest-Bash") | {"session_id": "restart-a",
                                                                  "project_name": "alpha"})["id"]
    b = server.notify(**hook_payload("PermissionRequest-Write") | {"session_id": "restart-b",
                                                                   "project_name": "beta"})["id"]
    page = open_page(server)
    expect(page.locator("#requests .request-card")).to_have_count(2)
    status = page.locator("#conn-status")

    server.stop()
    expect(status).not_to_have_attribute("data-state", "connected", timeout=5000)
    expect(status).to_have_attribute("data-state", re.compile(r"^(reconnecting|offline)$"))
    expect(page.locator("body")).to_have_class(re.compile(r"\bis-disconnected\b"))
    expect(page.locator("#requests")).to_have_class(re.compile(r"\bstale\b"))
    expect(page.locator("#requests .request-card")).to_have_count(2)  # still shown, marked stale
    shot(page, "down")

    server.start()
    c = idle(server, "restart-c", project_name="gamma")
    assert server.request("DELETE", f"/api/orchestra/notifications/{a}").status_code == 200

    expect(status).to_have_attribute("data-state", "connected", timeout=10_000)
    expect(card(page, c)).to_be_visible()
    expect(card(page, a)).to_have_count(0)
    expect(page.locator("#requests .request-card")).to_have_count(2)
    assert card_ids(page) == [c, b]  # no ghost of a, no duplicate of b
    expect_badge(page, 2)
    expect(page.locator("#requests")).not_to_have_class(re.compile(r"\bstale\b"))
    assert [n["id"] for n in server.pending()] == [b, c]
    shot(page)


# ---- the server's words ---------------------------------------------------------------------------

def test_the_summary_and_the_resolution_are_the_records_own(server, open_page, shot):
    """What a request asks and how it was resolved are said once, by the server (the record's `summary`
    and `resolution`, also what `piko respond` prints): the page shows them as they come, hidden
    characters marked, and works out no text of its own."""
    page = open_page()

    def change(n: dict) -> None:
        n["summary"] = f"deploy \u202eof {n['id']}"
        if n.get("status") != "pending":
            n["resolution"] = "Resolved on the far\u200b side of the moon."

    rewrite_records(page, change)
    login(page, server)
    id = server.notify(**hook_payload("PermissionRequest-Bash") | {"project_name": "myapp"})["id"]
    shown = f"deploy ⟨U+202E⟩of {id}"
    expect(card(page, id).locator(".summary")).to_have_text(shown)
    expect(card(page, id)).to_have_attribute("title", shown)
    expect(page.locator(f'#toasts .toast[data-id="{id}"] .toast-text')).to_have_text(f"Bash: {shown}")

    card(page, id).click()
    expect(page.locator("#modal")).to_have_attribute("data-id", id)
    assert server.request("DELETE", f"/api/orchestra/notifications/{id}").status_code == 200
    expect(page.locator("#modal-elsewhere")).to_be_visible()
    expect(page.locator("#modal-elsewhere-detail")).to_have_text("Resolved on the far⟨U+200B⟩ side of the moon.")
    shot(page)


# ---- not signed in --------------------------------------------------------------------------------

def test_a_browser_without_a_session_gets_the_login_help(server, open_page, shot):
    page = open_page(server, signed_in=False)
    response = page.goto(server.url + "/")
    assert response is not None and response.status == 200
    expect(page.locator("#login-help")).to_be_visible()
    expect(page.locator("#login-help")).to_contain_text("piko login-url")
    expect(page.locator("#login-help .login-url")).to_have_text(f"{server.url}/login#code=…")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "offline")
    expect(page.locator("#sign-out")).to_be_hidden()
    shot(page)

    page.goto(server.url + "/login")
    expect(page.locator("#login-steps")).to_be_visible()
    expect(page.locator("#login-steps .login-url")).to_have_text(f"{server.url}/login#code=…")
    page.goto(login_url(server))
    expect(page).to_have_url(server.url + "/")
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "connected")
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#login-help")).to_be_hidden()


# ---- the README screenshot -------------------------------------------------------------------------

def claude_screen(source: Path, width: int, replacements: dict[str, str]) -> str:
    """A captured Claude Code screen with its texts swapped and its rules cut to `width` columns."""
    text = source.read_text(encoding="utf-8")
    for old, new in replacements.items():
        text = text.replace(old, new)
    lines = []
    for line in text.splitlines():
        if line and set(line) <= {"─", "╌"}:
            line = line[:width]
        lines.append(line)
    return "\n".join(lines) + "\n"


def backdate(page, ages: dict[str, float]) -> None:
    """Show the requests as if they had come in `ages` seconds ago (created_at rewritten on the way in)."""
    now = datetime.now(UTC)

    def stamp(seconds: float) -> str:
        return (now - timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def change(n: dict) -> None:
        if n.get("id") in ages:
            n["created_at"] = stamp(ages[n["id"]])

    rewrite_records(page, change)


def test_showcase(server, tmux, open_page, shot, tmp_path):
    """Four realistic requests from different projects, the Bash one open with its live terminal."""
    cwd = "/home/dev/billing-api"
    command = "pytest -q tests/test_invoices.py -k rounding"
    screen = tmp_path / "bash-screen.txt"
    screen.write_text(claude_screen(FIXTURES / "screens" / "screen-permission-bash.txt", 74, {
        "/home/dev/myapp": cwd,
        "please [bash] now": "fix the rounding in invoice totals, then run the tests",
        "Running the mock command": "● Update(src/billing/invoice.py)\n  ⎿  Updated 2 lines\n\n● Bash(" + command + ")",
        "  ⎿  $ touch /tmp/build-marker": "  ⎿  Running…",
        "Run the mock command": "Run the invoice rounding tests",
        "touch /tmp/build-marker": command,
        "Tip: auto mode handles these prompts for you — choose \"switch to auto mode\" below": "",
        "Yes, and always allow access to /tmp from this project": "Yes, and don't ask again for: pytest *",
        "Yes, and switch to auto mode · auto mode handles these prompts for you": "Yes, and switch to auto mode",
        "⎿": "└",  # the headless browser's monospace font has no U+23BF: keep the README image free of tofu
    }), encoding="utf-8")
    pane = fake_dialog_pane(tmux, screen, width=74, height=30)

    ages: dict[str, float] = {}
    ages[idle(server, "show-idle", project_name="docs-site", env_name="main", cwd="/home/dev/docs-site",
              message="Claude is waiting for your input")] = 11 * 60
    ages[server.notify(**hook_payload("PermissionRequest-AskUserQuestion") | {
        "session_id": "show-question", "project_name": "data-pipeline", "env_name": "feature-etl",
        "cwd": "/home/dev/data-pipeline",
        "tool_input": {"questions": [{
            "question": "Where should the nightly ETL job write its output?", "header": "Output",
            "multiSelect": False,
            "options": [{"label": "S3 as Parquet", "description": "Partitioned by day, cheap to query with Athena"},
                        {"label": "Postgres table", "description": "Upsert into analytics.events"}]}]},
    })["id"]] = 4 * 60 + 12
    ages[server.notify(**hook_payload("PermissionRequest-Write") | {
        "session_id": "show-write", "project_name": "webapp", "env_name": "dark-mode", "cwd": "/home/dev/webapp",
        "tool_input": {"file_path": "/home/dev/webapp/src/theme/tokens.ts",
                       "content": "export const dark = {\n  bg: '#0f1115',\n  text: '#e6e8eb',\n};\n"},
    })["id"]] = 95
    bash = server.notify(**hook_payload("PermissionRequest-Bash") | {
        "session_id": "show-bash", "project_name": "billing-api", "env_name": "fix-rounding", "cwd": cwd,
        "tmux_session": "billing-api-fix-rounding", "tmux_target": pane, "tmux_socket": tmux.socket_path,
        "tool_input": {"command": command, "description": "Run the invoice rounding tests"},
        "permission_suggestions": [{"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "pytest *"}],
                                    "behavior": "allow", "destination": "localSettings"}],
    })["id"]
    ages[bash] = 8

    def showcase_page(**options):
        page = open_page(**options)
        backdate(page, ages)
        login(page, server)
        expect(page.locator("#requests .request-card")).to_have_count(4)
        # Backdated 8 s; a loaded machine may take a few seconds more to draw it.
        expect(card(page, bash).locator("time.age")).to_have_text(re.compile(r"^(8|9|1[0-9])s ago$"))
        return page

    def open_bash(page) -> None:
        card(page, bash).click()
        expect(page.locator("#modal")).to_have_attribute("data-id", bash)
        expect(page.locator("#preview-status")).to_have_text("Live")
        expect(page.locator("#preview")).to_contain_text("Do you want to proceed?")
        page.locator("#modal .modal-inner").focus()

    page = showcase_page()
    expect(page.locator("#toasts .toast")).to_have_count(0)  # they arrived before the page opened
    expect_badge(page, 4)
    shot(page, "inbox")
    open_bash(page)
    light = shot(page)
    if os.environ.get("PIKO_UPDATE_SCREENSHOT"):
        publish(light, ROOT / "docs" / "screenshot.png")

    dark = showcase_page(color_scheme="dark")
    shot(dark, "dark-inbox")
    open_bash(dark)
    shot(dark, "dark")

    phone = showcase_page(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                          is_mobile=True, has_touch=True)
    shot(phone, "phone-inbox")
    open_bash(phone)
    shot(phone, "phone")

    assert server.get(bash)["status"] == "pending"  # looking answers nothing


# The browser's Notification API, recorded (headless Chromium shows none), and a tab the test can hide.
RECORD_NOTIFICATIONS = """
window.__notes = [];
window.__hidden = false;
Object.defineProperty(document, 'hidden', {get: () => window.__hidden});
Object.defineProperty(document, 'visibilityState', {get: () => window.__hidden ? 'hidden' : 'visible'});
window.Notification = class {
  static permission = 'granted';
  static requestPermission() { return Promise.resolve('granted'); }
  constructor(title, options) { window.__notes.push({title, body: (options || {}).body}); }
  close() {}
};
"""


def test_desktop_notification_only_when_the_tab_is_hidden(server, open_page):
    page = open_page(server, init_script=RECORD_NOTIFICATIONS)
    visible = server.notify(**hook_payload("PermissionRequest-Bash") | {"session_id": "seen", "project_name": "shop"})
    expect(card(page, visible["id"])).to_have_count(1)
    assert page.evaluate("window.__notes") == []  # the person is looking: a toast is enough
    page.evaluate("window.__hidden = true; document.dispatchEvent(new Event('visibilitychange'))")
    hidden = server.notify(**hook_payload("PermissionRequest-Write") | {"session_id": "away", "project_name": "webapp"})
    expect(card(page, hidden["id"])).to_have_count(1)
    page.wait_for_function("window.__notes.length === 1")
    [note] = page.evaluate("window.__notes")
    assert "webapp" in note["title"] and "mock-written.txt" in note["body"]
