"""A tmux pane's screen as the API gives it (docs/api.md): one reader for the per-request route
(`GET /api/orchestra/notifications/{id}/screen`) and the per-session one (`GET /api/orchestra/sessions/{id}/screen`).

The pane is the record's own (`tmux_target`, else its tmux session's active pane: delivery.pane_of) on the
record's tmux socket, which tmux.py uses only when it is a socket owned by this user (anything else is
refused 409 `unsafe_socket`, as delivery refuses it: nothing is read)."""

from __future__ import annotations

from starlette.responses import JSONResponse

from piko import tmux
from piko.models import FleetSession, Record
from piko.server.delivery import Panes, pane_of
from piko.server.errors import ApiRefusal

SCREEN_HISTORY = 40  # lines of history above the visible screen
NO_CACHE = {"cache-control": "no-store"}


class NoScreen(Exception):
    """There is no pane to read: `code` "no_pane" (none is known) or "pane_gone" (tmux no longer has it)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def pane_lines(panes: Panes, record: Record | FleetSession) -> list[str]:
    """The lines of the pane of `record` (a request or a session record), as the terminal shows them, with
    up to SCREEN_HISTORY lines of history above. Raises NoScreen, or ApiRefusal (409 unsafe_socket, 502 tmux_failed)."""
    target = pane_of(record)
    if target is None:
        raise NoScreen("no_pane", "no tmux pane")
    try:
        text = await panes.capture(record.tmux_socket, target, SCREEN_HISTORY)
    except tmux.PaneGone:
        raise NoScreen("pane_gone", "the pane is gone") from None
    except tmux.UnsafeSocket as e:
        raise ApiRefusal(409, "unsafe_socket", f"{e}; nothing was read") from None
    except tmux.TmuxError as e:
        raise ApiRefusal(502, "tmux_failed", f"tmux failed: {e}") from None
    return text.rstrip("\n").split("\n")


def screen_answer(lines: list[str]) -> JSONResponse:
    """The answer of both routes for a pane that could be read."""
    return JSONResponse({"lines": lines, "pane_alive": True}, headers=NO_CACHE)
