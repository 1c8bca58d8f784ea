from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.browser import browser, open_page, shot  # noqa: F401 - one browser for the session
from tests.support.server import PikoServer
from tests.support.tmux import TmuxServer

FIXTURES = Path(__file__).parent / "fixtures"
# An AskUserQuestion's tool_input with two questions: several answers (multiSelect), and one answer.
TWO_QUESTIONS = {"questions": [
    {"question": "Which features?", "header": "Features", "multiSelect": True,
     "options": [{"label": "Auth", "description": ""}, {"label": "Search", "description": ""},
                 {"label": "Cache", "description": ""}]},
    {"question": "Which database?", "header": "DB", "multiSelect": False,
     "options": [{"label": "PostgreSQL", "description": ""}, {"label": "SQLite", "description": ""}]}]}


def hook_payload(name: str) -> dict:
    """A real hook payload captured from Claude Code 2.1.328 (tests/fixtures/hooks/<name>.json)."""
    return json.loads((FIXTURES / "hooks" / f"{name}.json").read_text())


@pytest.fixture
def piko_home(tmp_path: Path) -> Path:
    home = tmp_path / "piko-home"
    return home


@pytest.fixture
def server(piko_home: Path):
    srv = PikoServer(piko_home).start()
    yield srv
    srv.stop()


@pytest.fixture
def tmux():
    t = TmuxServer()
    yield t
    t.kill()
