"""Notify targets: messages about new requests sent through apprise (ntfy, Slack, Telegram, Matrix, email,
... each configured by one URL), by the rules of server/notify_rules.py. `piko notify-targets` manages
them through the routes here (the token only, never a browser session).

A target's URL holds its secrets (a bot token, a password): it is kept in the owner-only store, sent
nowhere but to apprise, never logged, and shown masked (apprise's privacy mode). Sending is outbound only
and never on the event loop: apprise's blocking call runs on a small thread pool, with a time limit, from
one task that the orchestra's changes wake.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import os
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from piko.models import ChangeKind, Record
from piko.server import notify_rules
from piko.server.body import read_json
from piko.server.errors import ApiRefusal
from piko.server.guard import require_token
from piko.server.store import Database

log = logging.getLogger("piko.targets")
logging.getLogger("apprise").setLevel(logging.CRITICAL + 1)  # its lines may quote the URL, secrets included
# apprise is imported on first use (off the event loop: loading its plugins takes a while), never at start.

SCHEMA = """
CREATE TABLE IF NOT EXISTS notify_targets (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    delay       REAL NOT NULL,
    content     INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
"""
MAX_URL = 4096
MAX_DELAY = 86400.0
MAX_TARGETS = 50
SEND_SECONDS = 30.0  # one try of one message, at most
SENDERS = 4  # threads sending at once
NO_CACHE = {"cache-control": "no-store"}

Send = Callable[[str, str, str], bool]
T = TypeVar("T")


def understood(url: str) -> bool:
    """Whether apprise knows this kind of URL (blocking: call it off the event loop)."""
    import apprise

    return apprise.Apprise.instantiate(url) is not None


def masked(url: str) -> str:
    """The URL with its secrets hidden (apprise's privacy mode; blocking: call it off the event loop)."""
    import apprise

    plugin = apprise.Apprise.instantiate(url)
    return str(plugin.url(privacy=True)) if plugin is not None else url.split(":", 1)[0] + "://…"  # type: ignore[no-untyped-call]


def send_apprise(url: str, title: str, body: str) -> bool:
    """Send one message through apprise (blocking I/O: call it off the event loop)."""
    import apprise

    sender = apprise.Apprise()
    if not sender.add(url):
        return False
    return bool(sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))


def _env_seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) and value >= 0 else default


@dataclass(frozen=True)
class Target:
    id: str
    url: str
    delay: float
    content: bool
    created_at: str

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "url": masked(self.url), "delay": self.delay, "content": self.content,
                "created_at": self.created_at}


class Targets:
    """The targets, in the store's SQLite file (an owner-only folder); changes are written on the store's
    writer thread."""

    def __init__(self, store: Database) -> None:
        self.store = store
        store.db.executescript(SCHEMA)  # at start-up, before the event loop runs

    def all(self) -> list[Target]:
        rows = self.store.db.execute(
            "SELECT id, url, delay, content, created_at FROM notify_targets ORDER BY created_at")
        return [Target(id, url, delay, bool(content), created) for id, url, delay, content, created in rows]

    async def add(self, url: str, delay: float, content: bool) -> Target:
        stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        target = Target(secrets.token_hex(4), url, delay, content, stamp)
        await self._write("INSERT INTO notify_targets (id, url, delay, content, created_at) VALUES (?, ?, ?, ?, ?)",
                          (target.id, url, delay, int(content), stamp))
        return target

    async def remove(self, id: str) -> bool:
        return await self._write("DELETE FROM notify_targets WHERE id = ?", (id,)) > 0

    async def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        try:
            return await self.store.run(lambda db: db.execute(sql, args).rowcount)
        except sqlite3.Error as e:
            log.error("notify targets: store write failed: %s", e)
            raise ApiRefusal(503, "store_failed", f"the change could not be saved ({e}); try again") from None


class Notifier:
    """Carries out the rules: `observe` hears every change of the orchestra, `run` sends what is due."""

    def __init__(self, targets: Targets, still_pending: Callable[[str], bool], *, send: Send = send_apprise,
                 clock: Callable[[], float] = time.monotonic, schedule: notify_rules.Schedule | None = None) -> None:
        self.targets = targets
        self.adding = 0  # adds waiting for their write
        self.still_pending = still_pending
        self.send = send
        self.clock = clock
        self.schedule = schedule or notify_rules.Schedule(
            rate=_env_seconds("PIKO_NOTIFY_RATE_SECONDS", notify_rules.RATE_SECONDS),
            gather=_env_seconds("PIKO_NOTIFY_GATHER_SECONDS", notify_rules.GATHER_SECONDS),
            backoff=_env_seconds("PIKO_NOTIFY_BACKOFF_SECONDS", notify_rules.BACKOFF_SECONDS))
        self.by_id = {t.id: t for t in targets.all()}
        for target in self.by_id.values():
            self.schedule.add_target(target.id, target.delay)
        self._wake = asyncio.Event()
        self._pool = concurrent.futures.ThreadPoolExecutor(SENDERS, thread_name_prefix="piko-notify")
        self._sending: set[asyncio.Task[None]] = set()

    def observe(self, kind: ChangeKind, record: Record) -> None:
        """A change the orchestra announced (it must not fail: it is on the orchestra's path)."""
        try:
            if kind == "created" and self.by_id:
                self.schedule.created(notify_rules.ask_of(record), self.clock())
            elif kind in ("resolved", "dismissed"):
                self.schedule.resolved(record.id)
            else:
                return
            self._wake.set()
        except Exception:  # a notification is never worth failing a request for
            log.exception("notify targets could not take a change of request %s", record.id)

    async def add(self, url: str, delay: float, content: bool) -> Target:
        """A new target (409 past MAX_TARGETS, counting those still being written: two adds at once
        cannot both take the last place)."""
        if len(self.by_id) + self.adding >= MAX_TARGETS:
            raise ApiRefusal(409, "too_many", f"there are {MAX_TARGETS} notify targets already: remove one first")
        self.adding += 1
        try:
            target = await self.targets.add(url, delay, content)
        finally:
            self.adding -= 1
        self.by_id[target.id] = target
        self.schedule.add_target(target.id, delay)
        return target

    async def remove(self, id: str) -> bool:
        removed = await self.targets.remove(id)
        self.by_id.pop(id, None)
        self.schedule.remove_target(id)
        return removed

    async def off_loop(self, work: Callable[[], T]) -> T:
        """`work()` on the pool (apprise blocks), within SEND_SECONDS; a 503 when it took longer."""
        try:
            return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(self._pool, work), SEND_SECONDS)
        except TimeoutError:
            raise ApiRefusal(503, "busy", "the notify targets are busy sending: try again in a minute") from None

    async def deliver(self, url: str, title: str, body: str) -> bool:
        """One try, on the pool, within SEND_SECONDS; False when it failed or took too long."""
        try:
            return await self.off_loop(lambda: self.send(url, title, body))
        except Exception:  # noqa: BLE001 - whatever went wrong, the target did not get it
            return False

    async def run(self) -> None:
        """Send what is due, then sleep until the next thing is due or a change wakes it; until cancelled."""
        try:
            while True:
                self._wake.clear()
                for batch in self.schedule.take(self.clock()):
                    task = asyncio.create_task(self._send(batch))
                    self._sending.add(task)
                    task.add_done_callback(self._sending.discard)
                when = self.schedule.next_time()
                timeout = None if when is None else max(0.0, when - self.clock())
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    pass
        finally:
            for task in list(self._sending):
                task.cancel()
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _send(self, batch: notify_rules.Batch) -> None:
        target = self.by_id.get(batch.target)
        asks = [ask for ask in batch.asks if self.still_pending(ask.id)]
        if target is None or not asks or await self.deliver(target.url, *notify_rules.compose(asks, target.content)):
            self.schedule.sent(batch)
        else:
            again = self.schedule.failed(batch, self.clock())
            if again is None:
                log.warning("notify target %s: dropped a message about %d request(s) after %d failed tries",
                            target.id, len(asks), batch.attempt)
            else:
                log.warning("notify target %s: sending failed (try %d of %d); trying again in %.1f s",
                            target.id, batch.attempt, self.schedule.tries, again - self.clock())
        self._wake.set()

    def starter(self) -> Callable[[Any], Awaitable[asyncio.Task[None]]]:
        """A start-up step of the app: the sending task, cancelled at shutdown."""

        async def start(app: Any) -> asyncio.Task[None]:
            self._wake = asyncio.Event()  # of the running loop
            return asyncio.create_task(self.run())

        return start


async def _new_target(notifier: Notifier, body: Any) -> tuple[str, float, bool]:
    """The url, delay and content of `POST /api/notify-targets`; ApiRefusal (400) naming what is wrong."""
    if not isinstance(body, dict):
        raise ApiRefusal(400, "bad_request", 'send {"url": "<apprise URL>", "delay": <seconds>, "content": false}')
    unknown = set(body) - {"url", "delay", "content"}
    if unknown:
        raise ApiRefusal(400, "bad_request", f"unknown field(s): {', '.join(sorted(unknown))}")
    url, delay, content = body.get("url"), body.get("delay", 0), body.get("content", False)
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL:
        raise ApiRefusal(400, "bad_request", f"url must be an apprise URL of at most {MAX_URL} characters")
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= MAX_DELAY:
        raise ApiRefusal(400, "bad_request", f"delay must be a number of seconds from 0 to {MAX_DELAY:.0f}")
    if not isinstance(content, bool):
        raise ApiRefusal(400, "bad_request", "content must be true or false")
    if not await notifier.off_loop(lambda: understood(url.strip())):
        raise ApiRefusal(400, "bad_url", "apprise does not understand this URL (see "
                                         "https://github.com/caronc/apprise/wiki for the services and their URLs)")
    return url.strip(), float(delay), content


def routes(notifier: Notifier) -> list[Route]:
    def find(request: Request) -> Target:
        require_token(request.scope)
        target = notifier.by_id.get(request.path_params["id"])
        if target is None:
            raise ApiRefusal(404, "not_found", f"no notify target {request.path_params['id']!r}")
        return target

    async def list_targets(request: Request) -> Response:
        require_token(request.scope)
        targets = list(notifier.by_id.values())
        shown = await notifier.off_loop(lambda: [t.public() for t in targets])
        return JSONResponse({"targets": shown}, headers=NO_CACHE)

    async def add(request: Request) -> Response:
        require_token(request.scope)
        url, delay, content = await _new_target(notifier, await read_json(request))
        target = await notifier.add(url, delay, content)
        return JSONResponse({"target": await notifier.off_loop(target.public)}, status_code=201, headers=NO_CACHE)

    async def remove(request: Request) -> Response:
        target = find(request)
        await notifier.remove(target.id)
        return JSONResponse({"ok": True, "removed": target.id})

    async def test(request: Request) -> Response:
        target = find(request)
        if not await notifier.deliver(target.url, "Piko Orchestra", "A test message: this target works."):
            raise ApiRefusal(502, "send_failed", f"notify target {target.id} did not take the test message: "
                                                 "check its URL, and that the service is reachable from here")
        return JSONResponse({"ok": True, "id": target.id})

    return [
        Route("/api/notify-targets", list_targets),
        Route("/api/notify-targets", add, methods=["POST"]),
        Route("/api/notify-targets/{id}", remove, methods=["DELETE"]),
        Route("/api/notify-targets/{id}/test", test, methods=["POST"]),
    ]
