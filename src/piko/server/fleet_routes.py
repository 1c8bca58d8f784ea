"""The routes of the fleet view (docs/api.md, "Sessions"): the sessions, and one with its timeline."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from piko.models import SessionDetail, SessionList
from piko.server.errors import ApiRefusal
from piko.server.fleet import Fleet
from piko.server.guard import browser_session

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


async def one_session(request: Request) -> Response:
    fleet = _fleet(request)
    session_id = request.path_params["id"]
    session = fleet.get(session_id)
    if session is None:
        raise ApiRefusal(404, "not_found", f"no session with id {session_id!r}")
    return _json(SessionDetail(session=session, timeline=fleet.timeline(session_id)))
