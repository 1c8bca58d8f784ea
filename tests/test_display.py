"""What the person is shown is what runs: characters that hide or reorder text (bidi overrides, zero-width,
C0/C1 controls) are shown as visible marks such as ⟨U+202E⟩, in the web UI (real Chromium) and in
`piko respond` (real CLI), against a real server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from piko import claude
from tests.conftest import hook_payload
from tests.support.hook import hook_env

# Reads as "echo done #txt.exe" in a terminal that applies the override; runs `rm -rf ~`.
TRICK = "echo done \u202e# exe.txt\u200b; rm -rf ~"


def bash_request(server, command: str = TRICK) -> dict:
    payload = hook_payload("PermissionRequest-Bash")
    payload["tool_input"] = {**payload["tool_input"], "command": command}
    return server.notify(**payload)["notification"]


@pytest.mark.parametrize("text,shown", [
    ("a\u202eb", "a⟨U+202E⟩b"), ("\u2066x\u2069", "⟨U+2066⟩x⟨U+2069⟩"),
    ("zero\u200bwidth\ufeff", "zero⟨U+200B⟩width⟨U+FEFF⟩"),
    ("bell\x07 esc\x1b[31m", "bell⟨U+0007⟩ esc⟨U+001B⟩[31m"), ("c1\x9b", "c1⟨U+009B⟩"),
    ("tab\tnew\nline", "tab\tnew\nline"),
    ("日本語 ✓ 🚀", "日本語 ✓ 🚀"), ("wj\u2060", "wj⟨U+2060⟩"),
])
def test_reveal_marks_every_hidden_character(text, shown):
    assert claude.reveal(text) == shown


def test_piko_respond_list_shows_the_marks_and_json_stays_raw(server, piko_home: Path):
    record = bash_request(server)
    env = hook_env(piko_home, server.url)
    listed = subprocess.run([sys.executable, "-m", "piko", "respond", "--list"], env=env, capture_output=True,
                            text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert listed.returncode == 0, listed.stderr
    assert "echo done ⟨U+202E⟩# exe.txt⟨U+200B⟩; rm -rf ~" in listed.stdout
    assert "\u202e" not in listed.stdout and "\u200b" not in listed.stdout
    raw = subprocess.run([sys.executable, "-m", "piko", "respond", "--list", "--json"], env=env,
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    shown = json.loads(raw.stdout)["notifications"][0]
    assert shown["id"] == record["id"] and shown["tool_input"]["command"] == TRICK


@pytest.mark.browser
def test_the_web_ui_marks_hidden_characters_in_a_command(server, open_page, shot):
    from playwright.sync_api import expect

    page = open_page(server)
    record = bash_request(server)
    card = page.locator(f'#requests .request-card[data-id="{record["id"]}"]')
    expect(card.locator(".summary")).to_have_text("echo done ⟨U+202E⟩# exe.txt⟨U+200B⟩; rm -rf ~")
    card.click()
    command = page.locator("#modal-details pre.command")
    expect(command).to_be_visible()
    marks = command.locator("mark.hidden-char")
    expect(marks).to_have_text(["⟨U+202E⟩", "⟨U+200B⟩"])
    text = command.text_content()
    assert "\u202e" not in text and "\u200b" not in text and "rm -rf ~" in text
    assert marks.first.evaluate("m => getComputedStyle(m).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    shot(page)
