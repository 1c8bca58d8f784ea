"""Stalled connections are dropped: uvicorn's HTTP protocol (httptools) with a header timeout and a bound on
connections still sending their request headers.

uvicorn has neither: a connection that sends half a request line and stops is held forever (its keep-alive
timer only starts after a first response), so about a thousand of them, a normal open-files limit, stop
the server for everyone, with no token needed. Here every connection must send complete request headers
within HEADER_TIMEOUT of connecting (or of starting its next request on a kept-alive connection), and at
most MAX_WAITING connections may be in that state at once: a new one beyond the bound closes the oldest
first. A real client sends its headers at once, so it is never the oldest for long; `/api/health`, the
hook and the browser keep being answered. Once the headers are in, the connection is the app's: long polls,
streamed responses and WebSockets (upgraded after their headers) are not timed.
"""

from __future__ import annotations

import asyncio
import os
import resource
from collections import OrderedDict

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0  # seconds; PIKO_HEADER_TIMEOUT overrides it (tests shorten it)
MAX_WAITING = 512  # connections without complete headers; PIKO_MAX_WAITING_CONNECTIONS overrides it


def _setting(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


def protocol_class() -> type[HttpToolsProtocol]:
    """The protocol to pass as uvicorn.Config(http=...), with its own list of waiting connections."""
    timeout = _setting("PIKO_HEADER_TIMEOUT", HEADER_TIMEOUT)
    bound = int(_setting("PIKO_MAX_WAITING_CONNECTIONS", MAX_WAITING))
    waiting: OrderedDict[HeaderTimeoutProtocol, asyncio.TimerHandle] = OrderedDict()  # oldest first

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_headers()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._await_headers()  # the next request on a kept-alive connection: timed again

        def on_headers_complete(self) -> None:
            self._headers_done()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._headers_done()
            super().connection_lost(exc)

        def _await_headers(self) -> None:
            if self in waiting:
                return
            waiting[self] = self.loop.call_later(timeout, self._drop)
            while len(waiting) > bound:
                oldest = next(iter(waiting))
                oldest._drop()

        def _headers_done(self) -> None:
            timer = waiting.pop(self, None)
            if timer is not None:
                timer.cancel()

        def _drop(self) -> None:
            """No complete headers in time, or the oldest of too many such: close the connection."""
            self._headers_done()
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderTimeoutProtocol


def raise_open_files_limit() -> None:
    """Raise the soft limit on open files to the hard one: each connection is a file, and the soft limit
    (often 1024) is what a crowd of connections would otherwise exhaust first."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass

