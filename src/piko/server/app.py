"""The HTTP and WebSocket routes of `piko server` (the contract is docs/api.md), and the app factory
that composes the parts they use: store, orchestra, hub, sessions, wait keys, behind the guard.

Routes are plain module-level functions, Starlette style: they find the parts with `parts(request)`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from piko import __version__
from piko.channel import server_proof
from piko.models import AnsweredBy, api_schema
from piko.server import auth, targets
from piko.server.body import read_json
from piko.server.delivery import Panes
from piko.server.errors import ApiRefusal
from piko.server.fleet import answered_by
from piko.server.fleet_routes import client_of, list_sessions, one_session, session_screen
from piko.server.guard import Access, Guard, browser_session, ws_subprotocol
from piko.server.hub import Hub
from piko.server.orchestra import Clock, Orchestra, now
from piko.server.parts import Parts, parts
from piko.server.push import KEY_FILE, Push, routes as push_routes
from piko.server.screens import NoScreen, pane_lines, screen_answer
from piko.server.sessions import Sessions
from piko.server.store import Store
from piko.server.waitkeys import WaitKeys

log = logging.getLogger("piko.server")
# The hook events whose hook waits for the person's answer (it gets a wait key in the notify answer).
WAIT_EVENTS = ("PermissionRequest", "Elicitation")

STATIC = Path(__file__).parent / "static"
HISTORY_LIMIT = 1000
HOOK_HEARTBEAT = 2.0
NO_CACHE = {"cache-control": "no-store"}
NONCE_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_")


_encoder = msgspec.json.Encoder()


class Encoded(JSONResponse):
    """JSON of models' values (a models.Record, or builtins holding some), encoded by msgspec: the edge
    where a record leaves the server as the wire has it."""

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return Encoded({"error": message, "code": code, **extra}, status_code=status)


StartupStep = Callable[[Any], Awaitable["asyncio.Task[None] | None"]]


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=NO_CACHE)


async def login_page(request: Request) -> Response:
    return FileResponse(STATIC / "login.html", headers=NO_CACHE)


async def service_worker(request: Request) -> Response:
    # From the root, so its scope is the whole origin (server/static/sw.js).
    return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers=NO_CACHE)


async def manifest(request: Request) -> Response:
    return FileResponse(STATIC / "manifest.webmanifest", media_type="application/manifest+json")


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True, "version": __version__})


async def schema(request: Request) -> Response:
    """The JSON Schema of the API's bodies (piko/models.py)."""
    return JSONResponse(api_schema())


async def hello(request: Request) -> Response:
    """Proof, before a TCP client sends anything that matters, that this server holds the token."""
    nonce = request.query_params.get("nonce", "")
    if not 16 <= len(nonce) <= 128 or not NONCE_CHARS.issuperset(nonce):
        raise ApiRefusal(400, "bad_request", "nonce must be 16 to 128 letters, digits, '-' or '_'")
    local = request.scope.get("server")
    if not local or local[1] is None:
        raise ApiRefusal(400, "bad_request", "the proof is for TCP connections; the Unix socket needs none")
    proof = server_proof(parts(request).access.token, nonce, local[0], local[1])
    return JSONResponse({"proof": proof}, headers=NO_CACHE)


async def notify(request: Request) -> Response:
    the = parts(request)
    answer = await the.orchestra.ingest_once(await read_json(request))
    record = answer.notification
    if answer.action == "created" and record and record.hook_event_name in WAIT_EVENTS:
        answer.wait_key = await the.wait_keys.issue(record.id)  # for the hook that asked, only
    return Encoded(answer)


async def list_requests(request: Request) -> Response:
    the = parts(request)
    status = request.query_params.get("status", "pending")
    if status == "pending":
        return Encoded({"notifications": list(the.orchestra.pending.values())})
    if status not in ("all", "resolved", "dismissed"):
        raise ApiRefusal(400, "bad_request", "status must be pending, all, resolved or dismissed")
    limit = _int_param(request, "limit", 100, 1, HISTORY_LIMIT)
    before = _int_param(request, "before", None, 1, None)
    records, next_before = the.store.history(None if status == "all" else status, limit or 100, before)
    return Encoded({"notifications": records, "next_before": next_before})


async def one_request(request: Request) -> Response:
    return Encoded(parts(request).orchestra.get(request.path_params["id"]))


async def dismiss(request: Request) -> Response:
    answered_by.set(client_of(request))  # for the session's audit trail (server/fleet.py)
    record = await parts(request).orchestra.dismiss(request.path_params["id"])
    return Encoded({"ok": True, "notification": record})


async def respond(request: Request) -> Response:
    session = browser_session(request.scope)  # the guard's: None for the token holder
    by = AnsweredBy(kind="cli") if session is None else \
        AnsweredBy(kind="device" if session.kind == "device" else "browser", id=session.id, name=session.name or None)
    answered_by.set(client_of(request))  # for the session's audit trail (server/fleet.py)
    return Encoded(await parts(request).orchestra.respond(await read_json(request), by))


async def screen(request: Request) -> Response:
    orchestra = parts(request).orchestra
    try:
        lines = await pane_lines(orchestra.panes, orchestra.get(request.path_params["id"]))
    except NoScreen as e:
        return JSONResponse({"lines": [], "pane_alive": False, "reason": e.reason})
    return screen_answer(lines)


async def wait(request: Request) -> Response:
    """A PermissionRequest or Elicitation hook waits here for the person's decision, with the key its notify answer
    gave it (see docs/api.md)."""
    the = parts(request)
    orchestra = the.orchestra
    record = orchestra.get(request.path_params["id"])
    try:
        body = await read_json(request)
    except ApiRefusal as e:
        if e.status != 400:
            raise
        body = None  # no body, or not JSON: no key
    if not isinstance(body, dict) or not the.wait_keys.check(record.id, body.get("wait_key")):
        log.warning("refused a wait on %s without its key", record.id)
        raise ApiRefusal(403, "wrong_wait_key", "only the hook that asked may wait for this decision: "
                                                "send the wait_key its notify answer carried")
    if record.status != "pending":
        return JSONResponse({"status": "resolved", "output": None})
    future = await orchestra.attach_hook(record.id)

    async def lines() -> AsyncIterator[bytes]:
        try:
            while True:
                done, _ = await asyncio.wait({future}, timeout=HOOK_HEARTBEAT)
                if not done:
                    yield b"\n"
                    continue
                if future.cancelled():
                    return  # server stopping or hook reconnected: no final line, the hook retries
                output = future.result()
                status = "decided" if output is not None else "resolved"
                yield json.dumps({"status": status, "output": output}).encode() + b"\n"
                orchestra.hook_acknowledged(record.id)  # runs once the line was sent
                return
        finally:
            orchestra.detach_hook(record.id, future)

    return StreamingResponse(lines(), media_type="application/x-ndjson", headers=NO_CACHE)


async def wait_is_post(request: Request) -> Response:
    raise ApiRefusal(405, "method_not_allowed", "waiting for a decision is a POST with the wait_key of the "
                                                "notify answer; to read a request, GET .../notifications/{id}")


async def ws(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol=ws_subprotocol(websocket.scope))
    the = parts(websocket)
    await the.hub.serve(websocket, the.orchestra.snapshot_text)


async def api_refusal(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiRefusal)
    return error(exc.status, exc.code, exc.message, **exc.extra)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, f"http_{exc.status_code}", exc.detail or "request refused")


ROUTES = [
    Route("/", index),
    Route("/login", login_page),
    Route("/sw.js", service_worker),
    Route("/manifest.webmanifest", manifest),
    Route("/api/health", health),
    Route("/api/hello", hello),
    Route("/api/schema", schema),
    Route("/api/orchestra/notify", notify, methods=["POST"]),
    Route("/api/orchestra/notifications", list_requests),
    Route("/api/orchestra/notifications/{id}", one_request),
    Route("/api/orchestra/notifications/{id}", dismiss, methods=["DELETE"]),
    Route("/api/orchestra/notifications/{id}/screen", screen),
    Route("/api/orchestra/notifications/{id}/wait", wait, methods=["POST"]),
    Route("/api/orchestra/notifications/{id}/wait", wait_is_post, methods=["GET"]),
    Route("/api/orchestra/respond", respond, methods=["POST"]),
    Route("/api/orchestra/sessions", list_sessions),
    Route("/api/orchestra/sessions/{id}", one_session),
    Route("/api/orchestra/sessions/{id}/screen", session_screen),
    WebSocketRoute("/api/orchestra/ws", ws),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]


class App(Starlette):
    """`piko server`'s ASGI app: the routes behind the guard (server/guard.py), with its parts."""

    def __init__(self, the: Parts, on_startup: list[StartupStep]) -> None:
        self.parts = the

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            steps = [*on_startup, auth.sweeper(the.sessions, the.hub), the.notifier.starter()]
            background = [task for step in steps if (task := await step(app)) is not None]
            yield
            for task in background:
                task.cancel()
            the.hub.close_all()
            the.push.close()
            the.orchestra.shutdown()

        super().__init__(routes=[*ROUTES[:2], *auth.ROUTES, *ROUTES[2:], *targets.routes(the.notifier),
                                 *push_routes(the.push)],
                         exception_handlers={ApiRefusal: api_refusal, HTTPException: http_error},
                         lifespan=lifespan)
        self.state.parts = the
        self.state.orchestra = the.orchestra  # start-up steps find it here (server/startup.py)

    @property
    def orchestra(self) -> Orchestra:
        return self.parts.orchestra

    @property
    def sessions(self) -> Sessions:
        return self.parts.sessions

    def build_middleware_stack(self) -> ASGIApp:
        # The guard stands in front of everything, error pages included.
        return Guard(super().build_middleware_stack(), self.parts.access, self.parts.sessions)


def create_app(store: Store, access: Access, *, on_startup: list[StartupStep] | None = None,
               panes: Panes | None = None, clock: Clock = now) -> App:
    """The app with its parts: one orchestra on `store`, announcing through one hub. `panes` and `clock`
    are tmux and the wall clock unless given (in-process tests give a fake pane and a fake clock)."""
    hub = Hub()
    orchestra = Orchestra(store, hub, panes=panes, clock=clock)
    notifier = targets.Notifier(targets.Targets(store), orchestra.pending.__contains__)
    orchestra.observers.append(notifier.observe)
    sessions = Sessions(store, access.token)
    pusher = Push(store, Path(store.path).parent / KEY_FILE, sessions, hub)
    orchestra.observers.append(pusher.observe)
    the = Parts(store=store, orchestra=orchestra, hub=hub, sessions=sessions,
                wait_keys=WaitKeys(store), access=access, notifier=notifier,
                push=pusher)
    return App(the, on_startup or [])


def _int_param(request: Request, name: str, default: int | None, low: int, high: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if (not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or int(raw) < low
            or (high is not None and int(raw) > high)):
        bound = f" and {high}" if high is not None else ""
        raise ApiRefusal(400, "bad_request", f"{name} must be a whole number between {low}{bound}")
    return int(raw)
