"""The routes of the fleet view (docs/api.md, "Sessions"): the sessions, one with its timeline, and its
pane's screen."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from piko.models import FleetSession, SessionDetail, SessionList
from piko.server.errors import ApiRefusal
from piko.server.fleet import Fleet
from piko.server.guard import browser_session
from piko.server.screens import NoScreen, pane_lines, screen_answer

STATES = ("working", "waiting", "idle", "ended")
NO_CACHE = {"cache-control": "no-store"}


def _fleet(request: Request) -> Fleet:
    fleet: Fleet = request.app.state.orchestra.fleet
    return fleet


def _json(answer: SessionList | SessionDetail) -> Response:
    return Response(msgspec.json.encode(answer), media_type="application/json", headers=NO_CACHE)


def client_of(request: Request) -> str:
    """Who makes this request, for the audit trail: "browser:<session id>", or "token" (the CLI, a script)."""
    session = browser_session(request.scope)
    return f"browser:{session.id}" if session is not None else "token"


async def list_sessions(request: Request) -> Response:
    state = request.query_params.get("state")
    if state is not None and state not in STATES:
        raise ApiRefusal(400, "bad_request", "state must be working, waiting, idle or ended")
    include = request.query_params.get("include")
    if include is not None and include != "ended":
        raise ApiRefusal(400, "bad_request", "include may only be ended")
    sessions = _fleet(request).listing(state, include == "ended")
    return _json(SessionList(sessions=sessions))


def _session(request: Request) -> FleetSession:
    session_id = request.path_params["id"]
    session = _fleet(request).get(session_id)
    if session is None:
        raise ApiRefusal(404, "not_found", f"no session with id {session_id!r}")
    return session


async def one_session(request: Request) -> Response:
    session = _session(request)
    return _json(SessionDetail(session=session, timeline=_fleet(request).timeline(session.session_id)))


async def session_screen(request: Request) -> Response:
    """The session's pane, read as a request's is (server/screens.py); no pane, or a pane gone: 409."""
    session = _session(request)
    try:
        if session.ended_via == "pane_gone":  # its pane id may be another pane's by now
            raise NoScreen("pane_gone", "the pane is gone")
        lines = await pane_lines(request.app.state.orchestra.panes, session)
    except NoScreen as e:
        if e.code == "no_pane":
            raise ApiRefusal(409, "no_pane", "no tmux pane is known for this session: it runs outside tmux, "
                                             "or its hooks did not say where") from None
        pane = session.tmux_target or session.tmux_session
        raise ApiRefusal(409, "pane_gone", f"the session's tmux pane ({pane}) is gone") from None
    return screen_answer(lines)
