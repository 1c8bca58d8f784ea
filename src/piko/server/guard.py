"""The guard in front of every route: who may talk to the server at all.

The server can type into terminals that run agents with a developer's rights, so before any route runs:
- the `Host` must be one of the server's own names (no DNS rebinding);
- an `Origin`, when a browser sends one, must be the server's own (no CSRF, no cross-site WebSocket);
- the caller must hold the token (`Authorization: Bearer <token>`: the CLI and hooks) or a browser
  session's credential (server/sessions.py), sent the same way, or on the WebSocket, where a browser cannot
  set headers, as the subprotocol `piko.bearer.<credential>` beside `piko.v1`. No cookie: cookies are not
  scoped by port, so every other server on the same host would receive one.

Every HTTP answer, refusals included, carries the security headers of server/headers.py.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from piko.server.errors import ApiRefusal
from piko.server.headers import secured
from piko.server.sessions import Session, Sessions

PUBLIC_PATHS = ("/api/health", "/api/hello", "/favicon.ico", "/api/auth/login",
                "/sw.js", "/manifest.webmanifest")  # the installable app's worker and manifest
PUBLIC_PREFIXES = ("/static/",)
PAGE_PATHS = ("/", "/login")  # static pages: their script asks for data with the browser's credential
CLOSE_UNAUTHORIZED = 4401
WS_PROTOCOL = "piko.v1"
WS_BEARER = "piko.bearer."


@dataclass
class Access:
    """What the guard accepts: the token, and the server's own hosts and origins."""

    token: str
    port: int
    hosts: set[str] = field(default_factory=set)
    bind_host: str = "127.0.0.1"
    token_path: Path | None = None  # where `piko token rotate` writes the new token
    tls: bool = False  # the TCP listener speaks HTTPS (server/tls.py): pages are https, WebSockets wss
    public_host: str | None = None  # the name other devices use (a tailnet name, the first --allow-host)

    @classmethod
    def for_server(cls, token: str, bind_host: str, port: int, extra_hosts: tuple[str, ...] = (),
                   token_path: Path | None = None, *, tls: bool = False, public_name: str | None = None) -> Access:
        names = {"127.0.0.1", "localhost", "[::1]"}
        if bind_host not in ("0.0.0.0", "::", ""):
            names.add(f"[{bind_host}]" if ":" in bind_host else bind_host)
        names.update(h.lower() for h in (*extra_hosts, *([public_name] if public_name else [])))
        public = public_name or (extra_hosts[0].lower() if extra_hosts else None)
        return cls(token=token, port=port, hosts={f"{n}:{port}" for n in names}, bind_host=bind_host,
                   token_path=token_path, tls=tls, public_host=public)

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def origins(self) -> set[str]:
        return {f"{self.scheme}://{h}" for h in self.hosts}

    @property
    def base_url(self) -> str:
        """The URL to show a person (login links start with it): over HTTPS the name the certificate is
        for when there is one (the tailnet's, the first --allow-host), else the address listened on."""
        if self.tls and self.public_host:
            return self.remote_url
        host = "127.0.0.1" if self.bind_host in ("0.0.0.0", "::", "") else self.bind_host
        return f"{self.scheme}://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def remote_url(self) -> str:
        """The URL for another device (pairing links start with it): the public name when there is one."""
        if not self.public_host:
            return self.base_url
        return f"{self.scheme}://{self.public_host}:{self.port}"

    def token_ok(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(str(candidate).encode(), self.token.encode())


def credential(scope: Scope, headers: Headers) -> str | None:
    """What the caller presents: the bearer of `Authorization`, or on a WebSocket the `piko.bearer.`
    subprotocol."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    if scope["type"] == "websocket":
        for proto in headers.get("sec-websocket-protocol", "").split(","):
            if proto.strip().startswith(WS_BEARER):
                return proto.strip()[len(WS_BEARER):]
    return None


def browser_session(scope: Scope) -> Session | None:
    """The browser session a request came with; None for the token holder (or no one)."""
    session = scope.get("state", {}).get("session")
    return session if isinstance(session, Session) else None


def require_token(scope: Scope) -> None:
    """Refuse a browser session (403) where only the token will do: routes that mint or end access, or
    configure the server, so a stolen session cannot extend itself."""
    if browser_session(scope) is not None:
        raise ApiRefusal(403, "needs_token", "this needs the server's token (the piko command), "
                         "not a browser session")


def ws_subprotocol(scope: Scope) -> str | None:
    """The subprotocol to accept a WebSocket with: `piko.v1` when the browser offered it (it must be echoed,
    or Chromium drops the connection)."""
    offered = Headers(scope=scope).get("sec-websocket-protocol", "")
    return WS_PROTOCOL if WS_PROTOCOL in (p.strip() for p in offered.split(",")) else None


class Guard:
    def __init__(self, app: ASGIApp, access: Access, sessions: Sessions) -> None:
        self.app = app
        self.access = access
        self.sessions = sessions

    def authenticate(self, scope: Scope, headers: Headers) -> tuple[bool, Session | None]:
        """(authenticated, the browser session if that is how)."""
        presented = credential(scope, headers)
        if not presented:
            return False, None
        if self.access.token_ok(presented):
            return True, None
        session = self.sessions.lookup(presented)
        return session is not None, session

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        path: str = scope["path"]
        host = headers.get("host", "").lower()
        if scope["type"] == "http":
            send = secured(send, host if host in self.access.hosts else None, self.access.tls)
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
        authed, session = self.authenticate(scope, headers)
        scope.setdefault("state", {})["authenticated"] = authed
        scope["state"]["session"] = session
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or path in PAGE_PATHS
        if not authed and not public:
            if scope["type"] == "websocket":
                return await _close_unauthorized(scope, receive, send)
            return await _refuse(scope, receive, send, 401, "unauthorized",
                                 "missing or wrong token: send 'Authorization: Bearer <token>' (the token "
                                 "is in $PIKO_HOME/token); a browser signs in with a link from piko login-url")
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


async def _close_unauthorized(scope: Scope, receive: Receive, send: Send) -> None:
    """Accept, then close with 4401, so a browser can tell 'log in' from a network failure."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept", "subprotocol": ws_subprotocol(scope)})
    await send({"type": "websocket.close", "code": CLOSE_UNAUTHORIZED, "reason": "unauthorized"})
