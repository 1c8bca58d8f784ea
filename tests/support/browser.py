"""Debian's Chromium driven through Playwright (sync API), for the web UI tests.

Nothing is downloaded: Playwright is pointed at /usr/bin/chromium. When that browser (or the playwright
package) is missing the tests are skipped with the reason, unless PIKO_REQUIRE_BROWSER is set, then they fail.

Fixtures (import them into the test module):
  browser      one headless Chromium for the whole session
  open_page    a factory: open_page(server, **context_options) -> a page of a fresh context, signed in
               with a one-time login link and connected; every page it made is screenshotted if the test fails,
               and an error a page's script did not catch fails the test
  shot         shot(page, suffix="") saves test-artifacts/screenshots/<test name><-suffix>.png
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PIKO_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DEFAULT_VIEWPORT = {"width": 1280, "height": 800}


def _unavailable(reason: str) -> None:
    if os.environ.get("PIKO_REQUIRE_BROWSER"):
        pytest.fail(f"{reason} (PIKO_REQUIRE_BROWSER is set, so this is a failure)", pytrace=False)
    pytest.skip(reason)


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / (re.sub(r"[^\w.-]+", "_", name).strip("_") + ".png")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"{CHROMIUM} is missing: install Debian's chromium package to run the web UI tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


def login_url(server: Any) -> str:
    """A fresh one-time login link, asked of the server with the token (what `piko login-url` prints)."""
    r = server.request("POST", "/api/auth/login-links")
    assert r.status_code == 200, r.text
    return r.json()["url"]


def login(page: Any, server: Any) -> Any:
    """Sign the page's context in the way a person does (a one-time login link) and wait until the inbox
    has its snapshot."""
    from playwright.sync_api import expect

    page.goto(login_url(server))
    expect(page.locator("#conn-status")).to_have_attribute("data-state", "connected", timeout=10_000)
    return page


def stored_session(page: Any) -> str:
    """The browser session the page keeps (in localStorage, where only its own origin can read it)."""
    return page.evaluate("() => localStorage.getItem('piko.orchestra.session')")


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    def take(page: Any, suffix: str = "", **kw: Any) -> Path:
        path = screenshot_path(request.node.name + (f"-{suffix}" if suffix else ""))
        page.screenshot(path=str(path), **kw)
        return path
    return take


@pytest.fixture
def open_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []
    pages: list[Any] = []
    uncaught: list[str] = []  # errors the pages' scripts did not catch
    failed_before = request.session.testsfailed
    for stale in SCREENSHOTS.glob(f"{screenshot_path(request.node.name).stem}-failure*.png"):
        stale.unlink()  # from an earlier run

    def make(server: Any | None = None, *, signed_in: bool = True, init_script: str | None = None,
             **options: Any) -> Any:
        options.setdefault("viewport", DEFAULT_VIEWPORT)
        options.setdefault("color_scheme", "light")
        options.setdefault("reduced_motion", "reduce")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        if init_script:
            context.add_init_script(init_script)  # runs in every page before the page's own scripts
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: uncaught.append(f"{page.url}: {error}"))
        pages.append(page)
        if server is not None and signed_in:
            login(page, server)
        return page

    yield make

    # The call phase's report is already counted when fixtures are torn down.
    if request.session.testsfailed > failed_before:
        for i, page in enumerate(pages):
            try:
                page.screenshot(path=str(screenshot_path(f"{request.node.name}-failure{f'-{i}' if i else ''}")))
            except Exception:  # noqa: BLE001 - a crashed page must not hide the real failure
                pass
    for context in contexts:
        try:
            context.close()
        except Exception:  # noqa: BLE001 - closing what is left: nothing to report
            pass
    if uncaught:
        pytest.fail("uncaught errors in the page's scripts:\n" + "\n".join(uncaught), pytrace=False)


def publish(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
