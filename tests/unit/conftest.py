"""The in-process test layer: the lifecycle rules as pure functions, and the API through httpx's ASGI
transport against the real app factory, with a real SQLite store in tmp_path, a fake clock and a fake pane
(no server process, no tmux). `pytest tests/unit` runs only this layer, in seconds."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from piko import claude_screen, tmux
from piko.server.app import App, create_app
from piko.server.guard import Access
from piko.server.store import Store

FIXTURES = Path(__file__).parent.parent / "fixtures"
TOKEN = "unit-test-token-" + "x" * 24
PORT = 8765


class FakeClock:
    """Each reading is one second after the last, from a fixed start."""

    def __init__(self) -> None:
        self._seconds = itertools.count()

    def __call__(self) -> str:
        s = next(self._seconds)
        return f"2026-01-01T00:{s // 60:02d}:{s % 60:02d}.000Z"


class FakePane:
    """One tmux pane in memory: the screen it shows, and what was typed into it. Pressing a key on a
    dialog takes the dialog away (as Claude Code does); `gone` makes every call raise PaneGone."""

    def __init__(self, screen: str = "", session: str = "work") -> None:
        self.screen = screen
        self.session = session
        self.typed: list[tuple[str, str]] = []  # ("text" | "key", what)
        self.gone = False

    def _check(self) -> None:
        if self.gone:
            raise tmux.PaneGone("can't find pane")

    async def capture(self, socket: str | None, target: str, history: int = 0, *, join: bool = False) -> str:
        self._check()
        return self.screen

    async def send_text(self, socket: str | None, target: str, text: str) -> None:
        self._check()
        tmux.check_text(text)
        self.typed.append(("text", text))

    async def send_key(self, socket: str | None, target: str, key: str) -> None:
        self._check()
        self.typed.append(("key", key))
        if claude_screen.screen_options(self.screen):
            self.screen = "> \n? for shortcuts\n"

    async def session_name(self, socket: str | None, target: str) -> str:
        self._check()
        return self.session + "\n"


def screen(name: str) -> str:
    return (FIXTURES / "screens" / f"screen-{name}.txt").read_text()


@pytest.fixture
def pane() -> FakePane:
    return FakePane()


@pytest.fixture
def app(tmp_path: Path, pane: FakePane) -> Iterator[App]:
    store = Store(tmp_path / "state.db")
    access = Access.for_server(TOKEN, "127.0.0.1", PORT)
    yield create_app(store, access, panes=pane, clock=FakeClock())
    store.close()


@pytest.fixture
def api(app: App) -> httpx.AsyncClient:
    """A client of `app` with the token (the ASGI transport holds no connection: nothing to close)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://127.0.0.1:{PORT}",
                             headers={"authorization": f"Bearer {TOKEN}"})


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an `async def` test on a fresh event loop in a thread of its own: the session's browser
    (Playwright's sync API) keeps an event loop marked running on the main thread."""
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, function(**kwargs)).result()
    return True
