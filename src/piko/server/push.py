"""Web Push: a browser that subscribes is told of each new request, even with no tab open (docs/api.md, "Push").

- The VAPID key pair is made on first use and kept in `$PIKO_HOME/vapid.pem` (0600, opened without
  following a link: piko.config.open_private). Signing and encryption are pywebpush's (RFC 8291/8292).
- A subscription belongs to the browser session that made it: only a session may subscribe, and a
  subscription whose session has ended (signed out, revoked, expired, token rotated) is deleted before
  anything is sent, so it never gets another push.
- A new request is pushed to each subscription after that subscription's delay (0 = at once), unless it was
  answered meanwhile or some page reports a visible inbox (`{"type": "presence", "visible": true}` on its
  WebSocket). The tool and command go into the push only for a subscription that opted in (`show_content`):
  the payload passes through the browser vendor's push service (encrypted, but the vendor sees the timing).
- When a pushed request is answered anywhere, a small `resolved` push with the same tag withdraws it.
- Sending runs on worker threads (pywebpush is blocking), never on the event loop; a push service that
  answers 404 or 410 (the subscription is gone) deletes the subscription. Subscriptions are written on the
  store's writer thread (server/store.py), awaited, never on the event loop.
- pywebpush (with requests, aiohttp and cryptography: ~25 MB of the server's memory) is imported only when a
  key is made or a push is sent, not at start (benchmark 5: idle memory).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from piko import config
from piko.models import ChangeKind, Record
from piko.server.body import read_json
from piko.server.errors import ApiRefusal
from piko.server.guard import browser_session
from piko.server.hub import Hub
from piko.server.sessions import Sessions
from piko.server.store import Database

if TYPE_CHECKING:
    from py_vapid import Vapid02

log = logging.getLogger("piko.push")

KEY_FILE = "vapid.pem"
MAX_DELAY = 3600
MAX_BODY = 8192
MAX_ENDPOINT = 2048
MAX_DETAIL = 300  # characters of tool input in a push (a push payload is at most ~4 KB)
PUSH_TTL = 3600
SEND_TIMEOUT = 10.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")
SUBJECT = os.environ.get("PIKO_PUSH_SUBJECT", "mailto:piko@localhost")

SCHEMA = """
CREATE TABLE IF NOT EXISTS push_subscriptions (
    endpoint      TEXT PRIMARY KEY,
    session_id    TEXT NOT NULL,
    p256dh        TEXT NOT NULL,
    auth          TEXT NOT NULL,
    delay_seconds INTEGER NOT NULL,
    show_content  INTEGER NOT NULL,
    created_at    REAL NOT NULL
);
"""

Sender = Callable[[dict[str, Any], str, "Vapid02", int], None]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load_or_create_key(path: Path) -> Vapid02:
    """The server's VAPID key, made (P-256, 0600) on first use; UnsafeHome if the file is not safely ours."""
    from py_vapid import Vapid02
    try:
        fd = config.open_private(str(path), os.O_RDONLY)
    except FileNotFoundError:
        key = Vapid02()
        key.generate_keys()
        try:
            fd = config.open_private(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:  # made meanwhile: use that one
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as f:
            f.write(key.private_pem())
        return key
    with os.fdopen(fd, "rb") as f:
        return Vapid02.from_pem(f.read())


def public_key(key: Vapid02) -> str:
    """The application server key a browser subscribes with: the raw public point, base64url."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return _b64url(key.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def send_with_pywebpush(subscription: dict[str, Any], data: str, key: Vapid02, ttl: int) -> None:
    """One signed, encrypted push (aes128gcm); WebPushException on a refusal."""
    from pywebpush import webpush

    webpush(subscription, data, vapid_private_key=key, vapid_claims={"sub": SUBJECT}, ttl=ttl,
            timeout=SEND_TIMEOUT, headers={"Urgency": "high", "Content-Type": "application/octet-stream"})


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    session_id: str
    p256dh: str
    auth: str
    delay_seconds: int
    show_content: bool

    @property
    def info(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def check_subscription(body: Any) -> tuple[str, str, str, int, bool]:
    """(endpoint, p256dh, auth, delay_seconds, show_content) of a subscribe body; ApiRefusal 400 otherwise."""
    if not isinstance(body, dict) or not isinstance(body.get("subscription"), dict):
        raise ApiRefusal(400, "bad_request", 'send {"subscription": <PushSubscription.toJSON()>, '
                                             '"delay_seconds": 0, "show_content": false}')
    sub = body["subscription"]
    endpoint, keys = sub.get("endpoint"), sub.get("keys")
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= MAX_ENDPOINT:
        raise ApiRefusal(400, "bad_request", f"subscription.endpoint must be a URL of at most {MAX_ENDPOINT} "
                                             "characters")
    url = urlsplit(endpoint)
    local_test_service = os.environ.get("PIKO_PUSH_LOOPBACK_HTTP") == "1" and url.hostname in LOOPBACK
    if not (url.scheme == "https" or (url.scheme == "http" and local_test_service)) or not url.hostname:
        raise ApiRefusal(400, "bad_request", "subscription.endpoint must be an https URL")
    if not isinstance(keys, dict) or not all(_is_b64url(keys.get(k)) for k in ("p256dh", "auth")):
        raise ApiRefusal(400, "bad_request", "subscription.keys must hold p256dh and auth, base64url")
    delay = body.get("delay_seconds", 0)
    if type(delay) is not int or not 0 <= delay <= MAX_DELAY:
        raise ApiRefusal(400, "bad_request", f"delay_seconds must be a whole number from 0 to {MAX_DELAY}")
    show = body.get("show_content", False)
    if not isinstance(show, bool):
        raise ApiRefusal(400, "bad_request", "show_content must be true or false")
    return endpoint, keys["p256dh"], keys["auth"], delay, show


def _is_b64url(value: Any) -> bool:
    ok = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
    return isinstance(value, str) and 0 < len(value) <= 256 and ok.issuperset(value)


def payload(record: Record, show_content: bool) -> dict[str, Any]:
    """What a push carries for a new request (the service worker's JSON): who needs you, and the tool and
    command only if opted in."""
    cwd = (record.cwd or "").rstrip("/")
    project = record.project_name or record.tmux_session or cwd.rsplit("/", 1)[-1] or "a session"
    message: dict[str, Any] = {"type": "request", "id": record.id, "tag": f"piko-{record.id}",
                               "title": f"Claude needs you in {project}", "body": "", "url": "/"}
    if show_content:
        tool = record.tool_name or ""
        detail = record.summary or record.message or ""
        message["body"] = (f"{tool}: {detail}" if tool else detail)[:MAX_DETAIL]
    decidable = record.kind == "permission" and any(o.decision for o in record.options)
    message["actions"] = ["allow", "deny", "open"] if decidable else ["open"]
    return message


class Push:
    """Subscriptions (in the store's SQLite), and the pushes for new and answered requests."""

    def __init__(self, store: Database, key_path: Path, sessions: Sessions, hub: Hub,
                 *, sender: Sender = send_with_pywebpush) -> None:
        self.store = store
        self.key_path = key_path
        self.sessions = sessions
        self.hub = hub
        self.sender = sender
        self._key: Vapid02 | None = None
        store.db.executescript(SCHEMA)  # at start-up, before the event loop runs
        self.pending: dict[str, Record] = {}  # requests created since start, still open
        self.pushed: dict[str, set[str]] = {}  # request id -> endpoints that were told of it
        self.tasks: dict[str, asyncio.Task[None]] = {}  # request id -> its delayed pushes
        self.sending: set[asyncio.Task[None]] = set()

    @property
    def key(self) -> Vapid02:
        if self._key is None:
            self._key = load_or_create_key(self.key_path)
        return self._key

    # ---- subscriptions ---------------------------------------------------------------------------

    async def subscribe(self, session_id: str, body: Any) -> dict[str, Any]:
        endpoint, p256dh, auth, delay, show = check_subscription(body)
        row = (endpoint, session_id, p256dh, auth, delay, int(show), time.time())
        await self.store.run(lambda db: db.execute(
            "INSERT OR REPLACE INTO push_subscriptions (endpoint, session_id, p256dh, auth, delay_seconds,"
            " show_content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", row))
        return {"subscribed": True, "delay_seconds": delay, "show_content": show}

    async def unsubscribe(self, session_id: str) -> int:
        return await self.store.run(lambda db: db.execute(
            "DELETE FROM push_subscriptions WHERE session_id = ?", (session_id,)).rowcount)

    def of_session(self, session_id: str) -> list[Subscription]:
        rows = self.store.db.execute("SELECT endpoint, session_id, p256dh, auth, delay_seconds, show_content"
                               " FROM push_subscriptions WHERE session_id = ?", (session_id,))
        return [Subscription(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    async def live(self) -> list[Subscription]:
        """Every subscription whose session is alive; those of ended sessions are deleted first."""
        alive = [s.id for s in await self.sessions.live()]

        def job(db: sqlite3.Connection) -> list[Subscription]:
            marks = ",".join("?" * len(alive))
            db.execute(f"DELETE FROM push_subscriptions WHERE session_id NOT IN ({marks})", alive)
            rows = db.execute("SELECT endpoint, session_id, p256dh, auth, delay_seconds, show_content"
                              " FROM push_subscriptions ORDER BY delay_seconds")
            return [Subscription(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

        return await self.store.run(job)

    async def drop(self, endpoint: str) -> None:
        await self.store.run(lambda db: db.execute("DELETE FROM push_subscriptions WHERE endpoint = ?", (endpoint,)))

    # ---- what the orchestra announces ------------------------------------------------------------

    def observe(self, kind: ChangeKind, record: Record) -> None:
        """Told every change the orchestra announces (on the event loop; never blocks, never raises)."""
        try:
            self._observe(kind, record)
        except Exception:
            log.exception("scheduling a push failed")

    def _observe(self, kind: ChangeKind, record: Record) -> None:
        id = record.id
        if kind == "created" and record.status == "pending":
            self.pending[id] = record
            # Who is looking now, when the request appears: a push without delay follows that, not what
            # presence is by the time the subscriptions are read (off the loop).
            looking = self.someone_looking()
            self.tasks[id] = asyncio.get_running_loop().create_task(self._announce(id, looking))
        elif kind == "updated" and id in self.pending:
            self.pending[id] = record
        elif kind in ("resolved", "dismissed"):
            self.pending.pop(id, None)
            task = self.tasks.pop(id, None)
            if task is not None:
                task.cancel()
            told = self.pushed.pop(id, set())
            if told:
                self._spawn(self._withdraw(id, told))

    def someone_looking(self) -> bool:
        return any(getattr(c, "visible", False) for c in self.hub.clients)

    async def _announce(self, id: str, looking_at_start: bool) -> None:
        try:
            started = asyncio.get_running_loop().time()
            for sub in await self.live():
                wait = started + sub.delay_seconds - asyncio.get_running_loop().time()
                if wait > 0:
                    await asyncio.sleep(wait)
                record = self.pending.get(id)
                if record is None:
                    return
                if self.someone_looking() or (looking_at_start and sub.delay_seconds == 0):
                    continue
                self.pushed.setdefault(id, set()).add(sub.endpoint)
                self._spawn(self._send(sub, payload(record, sub.show_content)))
        except Exception:
            log.exception("pushing request %s failed", id)
        finally:
            if self.tasks.get(id) is asyncio.current_task():
                del self.tasks[id]

    async def _withdraw(self, id: str, endpoints: set[str]) -> None:
        message = {"type": "resolved", "id": id, "tag": f"piko-{id}"}
        for sub in await self.live():
            if sub.endpoint in endpoints:
                self._spawn(self._send(sub, message))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def _send(self, sub: Subscription, message: dict[str, Any]) -> None:
        from pywebpush import WebPushException
        from requests import RequestException

        data = json.dumps(message, ensure_ascii=False)
        try:
            await asyncio.to_thread(self.sender, sub.info, data, self.key, PUSH_TTL)
        except config.UnsafeHome as e:
            log.error("no push sent: %s", e)
        except WebPushException as e:
            status = getattr(e.response, "status_code", None)
            if status in (404, 410):
                log.info("the push service no longer knows a subscription (%s): dropped", status)
                try:
                    await self.drop(sub.endpoint)
                except sqlite3.Error as failed:
                    log.error("could not delete a push subscription: %s", failed)
            else:
                log.warning("a push failed: %s", e)
        except (RequestException, OSError, ValueError, TypeError) as e:  # unreachable, or keys that are no key
            log.warning("a push failed: %s", e)

    def close(self) -> None:
        for task in [*self.tasks.values(), *self.sending]:
            task.cancel()


def routes(push: Push) -> list[Route]:
    """GET /api/push/key, and the caller's own subscription: GET, POST (subscribe), DELETE."""

    def own_session(request: Request) -> str:
        session = browser_session(request.scope)
        if session is None:
            raise ApiRefusal(400, "not_a_session", "push subscriptions belong to a browser session; "
                                                   "the token holder has none")
        return session.id

    async def key(request: Request) -> Response:
        try:
            return JSONResponse({"public_key": public_key(push.key)})
        except config.UnsafeHome as e:
            raise ApiRefusal(409, "unsafe_state", str(e)) from None

    async def current(request: Request) -> Response:
        subs = push.of_session(own_session(request))
        return JSONResponse({"subscriptions": [{"endpoint": s.endpoint, "delay_seconds": s.delay_seconds,
                                                "show_content": s.show_content} for s in subs]},
                            headers={"cache-control": "no-store"})

    async def subscribe(request: Request) -> Response:
        session_id = own_session(request)
        return JSONResponse(await push.subscribe(session_id, await read_json(request, MAX_BODY)))

    async def unsubscribe(request: Request) -> Response:
        return JSONResponse({"ok": True, "removed": await push.unsubscribe(own_session(request))})

    return [
        Route("/api/push/key", key),
        Route("/api/push/subscription", current),
        Route("/api/push/subscription", subscribe, methods=["POST"]),
        Route("/api/push/subscription", unsubscribe, methods=["DELETE"]),
    ]
