"""The response headers every HTTP answer carries: what a page of this server may load and who may frame it.

- `Content-Security-Policy`: scripts, styles, fetches and the WebSocket only from this origin (no inline
  script or style attribute), no plugin, no `<base>`, and no framing by any page (clickjacking);
- `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`;
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and `Cross-Origin-Resource-Policy` /
  `Cross-Origin-Opener-Policy: same-origin` so other origins (another port is one) can neither embed our
  responses nor keep a handle on our window;
- `Cache-Control: no-cache` on any answer that does not set its own (the pages and /static/): the browser
  revalidates (ETag) before it reuses a module, so after an upgrade it never runs old modules beside new ones.
"""

from __future__ import annotations

from starlette.types import Message, Send

_FIXED = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def csp(host: str | None, tls: bool = False) -> bytes:
    """The policy; `host` (already checked to be one of ours) adds its ws: origin (wss: when the server
    speaks HTTPS) for older browsers, whose 'self' does not cover WebSockets."""
    connect = "'self'" + (f" {'wss' if tls else 'ws'}://{host}" if host else "")
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
            "object-src 'none'; worker-src 'self'; manifest-src 'self'").encode()


def secured(send: Send, host: str | None, tls: bool = False) -> Send:
    """`send`, with the headers added to the start of every HTTP response."""
    extra = [*_FIXED, (b"content-security-policy", csp(host, tls))]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {extra_name for extra_name, _ in extra}
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
            if not any(k.lower() == b"cache-control" for k, _ in headers):
                headers.append((b"cache-control", b"no-cache"))
            message = {**message, "headers": headers + extra}
        await send(message)

    return wrapped
