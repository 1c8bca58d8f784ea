"""The guard in front of every route: who may talk to the server at all.

The server can type into terminals that run agents with a developer's rights, so before any route runs:
- the `Host` must be one of the server's own names (no DNS rebinding);
- an `Origin`, when a browser sends one, must be the server's own (no CSRF, no cross-site WebSocket);
- the caller must hold the token: `Authorization: Bearer <token>` or the session cookie a browser gets
  by opening `/?token=<token>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

PUBLIC_PATHS = ("/api/health", "/api/hello", "/favicon.ico")
PUBLIC_PREFIXES = ("/static/",)
PAGE_PATHS = ("/",)  # decides for itself what an unauthenticated browser sees (the login help)
CLOSE_UNAUTHORIZED = 4401


@dataclass
class Access:
    """What the guard accepts: the token, and the server's own hosts and origins."""

    token: str
    port: int
    hosts: set[str] = field(default_factory=set)

    @classmethod
    def for_server(cls, token: str, bind_host: str, port: int, extra_hosts: tuple[str, ...] = ()) -> Access:
        names = {"127.0.0.1", "localhost", "[::1]"}
        if bind_host not in ("0.0.0.0", "::", ""):
            names.add(f"[{bind_host}]" if ":" in bind_host else bind_host)
        names.update(h.lower() for h in extra_hosts)
        return cls(token=token, port=port, hosts={f"{n}:{port}" for n in names})

    @property
    def origins(self) -> set[str]:
        return {f"http://{h}" for h in self.hosts}

    @property
    def cookie_name(self) -> str:
        # Cookies are not separated by port: name it per port so two servers on one host don't collide.
        return f"piko_session_{self.port}"

    @property
    def cookie_value(self) -> str:
        # Derived from the token, never the token itself; changes when the token does.
        return hmac.new(self.token.encode(), b"piko-browser-session-v1", hashlib.sha256).hexdigest()

    def token_ok(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(candidate.encode(), self.token.encode())

    def authenticated(self, headers: Headers) -> bool:
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and self.token_ok(auth[7:].strip()):
            return True
        cookie = _cookie(headers.get("cookie", ""), self.cookie_name)
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.cookie_value.encode())


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class Guard:
    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        path: str = scope["path"]
        host = headers.get("host", "").lower()
        # uvicorn gives (path, None) as the server address of the owner-only Unix socket: no browser there.
        local = scope.get("server") is not None and scope["server"][1] is None
        if host not in self.access.hosts and not local:
            return await _refuse(scope, receive, send, 421, "bad_host",
                                 f"this server does not answer to host {host!r}")
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.access.origins and not local:
            return await _refuse(scope, receive, send, 403, "bad_origin",
                                 f"requests from pages on {origin!r} are refused")
        fetch_site = headers.get("sec-fetch-site")
        if fetch_site == "cross-site" and (path.startswith("/api/") or scope["type"] == "websocket"):
            return await _refuse(scope, receive, send, 403, "bad_origin", "cross-site requests are refused")
        authed = self.access.authenticated(headers)
        scope.setdefault("state", {})["authenticated"] = authed
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or path in PAGE_PATHS
        if not authed and not public:
            if scope["type"] == "websocket":
                return await _close_unauthorized(receive, send)
            return await _refuse(scope, receive, send, 401, "unauthorized",
                                 "missing or wrong token: send 'Authorization: Bearer <token>' "
                                 "(the token is in $PIKO_HOME/token) or open the URL piko server printed")
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
    if scope["type"] == "websocket":
        # Refused before the handshake completes: the client sees HTTP 403.
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = json.dumps({"error": message, "code": code}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


async def _close_unauthorized(receive: Receive, send: Send) -> None:
    """Accept, then close with 4401, so a browser can tell 'log in' from a network failure."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": CLOSE_UNAUTHORIZED, "reason": "unauthorized"})
