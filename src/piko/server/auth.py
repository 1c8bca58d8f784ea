"""The routes that sign browsers in and out, list and revoke their sessions, and rotate the token
(the contract is docs/api.md, "Browser sessions").

Who may call what:
- `POST /api/auth/login` needs no credential, only a one-time code (from a login link);
- `DELETE /api/auth/session` ends the caller's own browser session (the UI's "Sign out");
- minting login links and pairings, `/api/auth/sessions`, and rotating the token need the token itself: a
  browser session cannot make more sessions for itself, so revoking it is final;
- `/api/auth/devices` (list; revoke one) is open to browser sessions too, so a person can cut off a lost
  phone from any signed-in browser without a terminal. Listing shows nothing secret, and revoking only
  ever takes access away: a stolen session could sign others out, never in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from piko.server.body import read_json
from piko.server.errors import ApiRefusal
from piko.server.guard import CLOSE_UNAUTHORIZED, browser_session, require_token
from piko.server.hub import Hub
from piko.server.parts import parts
from piko.server.sessions import MAX_PAIRING_SECONDS, Sessions, clean_name, iso

log = logging.getLogger("piko.server")

MAX_LOGIN_BODY = 4096
SWEEP_EVERY = 60.0
NO_CACHE = {"cache-control": "no-store"}
LINK_GONE = "this login link was used or has expired: run `piko login-url` for a new one"


def write_new_token(path: Path) -> str:
    """Replace the token file with a fresh random token (mode 0600, atomically); returns the token."""
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # replaces a planted symlink itself, never what it points to
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return token


def close_sockets(hub: Hub, session_ids: set[str] | None, reason: str) -> None:
    """Close (4401) the WebSockets of these browser sessions; with None, every WebSocket."""
    for client in list(hub.clients):
        session = client.ws.scope.get("state", {}).get("session")
        if session_ids is None or (session is not None and session.id in session_ids):
            client.close(CLOSE_UNAUTHORIZED, reason)


async def _login_code(request: Request) -> str:
    data = await read_json(request, MAX_LOGIN_BODY)
    code = data.get("code") if isinstance(data, dict) else None
    if not isinstance(code, str) or not code:
        raise ApiRefusal(400, "bad_request", 'send {"code": "<the code from the login link>"}')
    return code


async def _pairing(request: Request) -> tuple[str | None, int | None]:
    """The device name and lifetime a pairing asks for (both optional)."""
    data = await read_json(request, MAX_LOGIN_BODY, empty={})
    name, seconds = (data.get("name"), data.get("seconds")) if isinstance(data, dict) else (0, 0)
    if name is not None and not isinstance(name, str):
        raise ApiRefusal(400, "bad_request", "name must be a string (the device's name)")
    if seconds is not None and (type(seconds) is not int or not 1 <= seconds <= MAX_PAIRING_SECONDS):
        raise ApiRefusal(400, "bad_request", f"seconds must be a whole number from 1 to {MAX_PAIRING_SECONDS}")
    return name, seconds


async def login(request: Request) -> Response:
    code = await _login_code(request)
    made = await parts(request).sessions.redeem(code, request.headers.get("user-agent", ""))
    if made is None:
        raise ApiRefusal(401, "link_used_or_expired", LINK_GONE)
    credential, session = made
    return JSONResponse({"session": credential, **session.public()}, headers=NO_CACHE)


async def sign_out(request: Request) -> Response:
    the = parts(request)
    session = browser_session(request.scope)
    if session is None:
        raise ApiRefusal(400, "not_a_session", "only a browser session signs out; "
                         "use `piko sessions revoke` to end browser sessions")
    await the.sessions.revoke(session.id)
    close_sockets(the.hub, {session.id}, "signed out")
    return JSONResponse({"ok": True, "id": session.id})


async def login_link(request: Request) -> Response:
    require_token(request.scope)
    the = parts(request)
    code, expires = the.sessions.new_login_code()
    return JSONResponse({"url": f"{the.access.base_url}/login#code={code}", "expires_at": iso(expires),
                         "seconds": the.sessions.link_seconds}, headers=NO_CACHE)


async def list_sessions(request: Request) -> Response:
    require_token(request.scope)
    return JSONResponse({"sessions": [s.public() for s in await parts(request).sessions.live()]}, headers=NO_CACHE)


async def revoke(request: Request) -> Response:
    require_token(request.scope)
    return await revoke_one(request)


async def revoke_one(request: Request) -> Response:
    """One session or device ends: with the token, or from a browser session (see list_devices)."""
    the = parts(request)
    id = request.path_params["id"]
    if not await the.sessions.revoke(id):
        raise ApiRefusal(404, "not_found", f"no browser session {id!r}")
    close_sockets(the.hub, {id}, "session revoked")
    return JSONResponse({"ok": True, "revoked": [id]})


async def revoke_all(request: Request) -> Response:
    require_token(request.scope)
    the = parts(request)
    ids = await the.sessions.revoke_all()
    close_sockets(the.hub, set(ids), "session revoked")
    return JSONResponse({"ok": True, "revoked": ids})


async def rotate(request: Request) -> Response:
    require_token(request.scope)
    the = parts(request)
    if the.access.token_path is None:
        raise ApiRefusal(409, "no_token_file", "this server was started without a token file")
    the.access.token = write_new_token(the.access.token_path)
    ids = await the.sessions.rotate(the.access.token)
    close_sockets(the.hub, None, "the token changed")
    log.warning("token rotated; %d browser session(s) ended", len(ids))
    return JSONResponse({"ok": True, "revoked": ids})


async def pair(request: Request) -> Response:
    require_token(request.scope)
    the = parts(request)
    if not the.access.tls:
        raise ApiRefusal(409, "not_remote", "pairing a device needs HTTPS: start the server with "
                         "`piko server --remote` (with --cert/--key, or tailscale)")
    name, seconds = await _pairing(request)
    device = clean_name(name or "") or "device"
    code, expires = the.sessions.new_login_code(device=device, seconds=seconds)
    return JSONResponse({"url": f"{the.access.remote_url}/login#code={code}", "expires_at": iso(expires),
                         "seconds": round(expires - the.sessions.clock()), "name": device},
                        headers=NO_CACHE)


async def list_devices(request: Request) -> Response:
    """Every signed-in browser and device; a browser session may read it (nothing in it is secret) and
    revoke one (a lost phone can be cut off from any signed-in browser; revoking only takes access away)."""
    own = browser_session(request.scope)
    listed = [{**s.public(), "current": own is not None and s.id == own.id}
              for s in await parts(request).sessions.live()]
    return JSONResponse({"devices": listed}, headers=NO_CACHE)


ROUTES = [
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/session", sign_out, methods=["DELETE"]),
    Route("/api/auth/login-links", login_link, methods=["POST"]),
    Route("/api/auth/sessions", list_sessions),
    Route("/api/auth/sessions", revoke_all, methods=["DELETE"]),
    Route("/api/auth/sessions/{id}", revoke, methods=["DELETE"]),
    Route("/api/auth/token/rotate", rotate, methods=["POST"]),
    Route("/api/auth/pairings", pair, methods=["POST"]),
    Route("/api/auth/devices", list_devices),
    Route("/api/auth/devices/{id}", revoke_one, methods=["DELETE"]),
]


def sweeper(sessions: Sessions, hub: Hub) -> Callable[[Any], Awaitable[asyncio.Task[None]]]:
    """A start-up hook: every minute, end the sessions that expired (closing their WebSockets) and count an
    open WebSocket as use, so a watched inbox does not go idle."""

    async def start(app: Any) -> asyncio.Task[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(SWEEP_EVERY)
                try:
                    close_sockets(hub, set(await sessions.sweep()), "session expired")
                    open_ids = {s.id for c in hub.clients if (s := c.ws.scope.get("state", {}).get("session"))}
                    await sessions.touch(sorted(open_ids))
                except Exception:  # the sweep must keep running
                    log.exception("sweeping browser sessions failed")

        return asyncio.create_task(loop())

    return start
