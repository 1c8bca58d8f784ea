"""The parts of one `piko server` app, as its routes find them (`parts(request)`; server/app.py makes them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from starlette.requests import Request
from starlette.websockets import WebSocket

from piko.server.guard import Access
from piko.server.hub import Hub
from piko.server.orchestra import Orchestra
from piko.server.push import Push
from piko.server.sessions import Sessions
from piko.server.store import Store
from piko.server.targets import Notifier
from piko.server.waitkeys import WaitKeys


@dataclass(frozen=True)
class Parts:
    """What the routes work with (one of each per app)."""

    store: Store
    orchestra: Orchestra
    hub: Hub
    sessions: Sessions
    wait_keys: WaitKeys
    access: Access
    notifier: Notifier
    push: Push


def parts(request: Request | WebSocket) -> Parts:
    return cast(Parts, request.app.state.parts)
