"""A session's live terminal (`GET /api/orchestra/sessions/{id}/screen`) against a real server process and
a real tmux server on a private socket: the pane's text while the agent works, and every refusal."""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pytest

from tests.conftest import hook_payload
from tests.support.server import PikoServer

NOBODY = 65534


def screen_of(server: PikoServer, sid: str, **kw: Any) -> Any:
    return server.request("GET", f"/api/orchestra/sessions/{sid}/screen", **kw)


def screen_until(server: PikoServer, sid: str, pattern: str, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        r = screen_of(server, sid)
        assert r.status_code == 200, r.text
        lines = r.json()["lines"]
        if re.search(pattern, "\n".join(lines)):
            return lines
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} never showed in session {sid}'s screen: {lines}")


def test_a_working_session_shows_its_pane_live(server, tmux):
    pane = tmux.echo_pane()
    server.notify(**hook_payload("UserPromptSubmit") | {"session_id": "s-live", "tmux_target": pane,
                                                        "tmux_socket": tmux.socket_path})
    server.notify(**hook_payload("PreToolUse-Bash") | {"session_id": "s-live", "tmux_target": pane,
                                                       "tmux_socket": tmux.socket_path})
    assert server.request("GET", "/api/orchestra/sessions/s-live").json()["session"]["state"] == "working"
    assert server.pending() == []  # no request: the per-request route has nothing to show it by

    r = screen_of(server, "s-live")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["pane_alive"] is True and "READY" in body["lines"]
    assert body["lines"] == tmux.capture(pane).rstrip("\n").split("\n")  # as the terminal shows it

    tmux.cmd("send-keys", "-t", pane, "-l", "printed after the first look")
    tmux.cmd("send-keys", "-t", pane, "Enter")
    lines = screen_until(server, "s-live", re.escape("GOT:'printed after the first look'"))
    assert lines[0] == "READY"

    # the per-request route reads through the same code: a request on that pane shows the same lines
    request = server.notify(**hook_payload("PermissionRequest-Bash")
                            | {"session_id": "s-live", "tmux_target": pane, "tmux_socket": tmux.socket_path})
    by_request = server.request("GET", f"/api/orchestra/notifications/{request['id']}/screen").json()
    assert by_request == {"lines": lines, "pane_alive": True}


def test_refusals_say_why(server, tmux):
    r = screen_of(server, "no-such-session")
    assert r.status_code == 404 and r.json()["code"] == "not_found" and "no-such-session" in r.json()["error"]

    server.notify(hook_event_name="UserPromptSubmit", session_id="s-outside", prompt="go")  # not in tmux
    r = screen_of(server, "s-outside")
    assert r.status_code == 409 and r.json()["code"] == "no_pane" and "outside tmux" in r.json()["error"]

    pane = tmux.echo_pane()
    server.notify(hook_event_name="UserPromptSubmit", session_id="s-gone", prompt="go", tmux_target=pane,
                  tmux_socket=tmux.socket_path)
    assert screen_of(server, "s-gone").status_code == 200
    r = screen_of(server, "s-gone", auth=False)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = screen_of(server, "s-gone", auth=False, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401

    tmux.kill_pane(pane)
    r = screen_of(server, "s-gone")  # before or after the watcher ended the session: the same answer
    assert r.status_code == 409 and r.json()["code"] == "pane_gone" and pane in r.json()["error"]
    deadline = time.monotonic() + 10
    while server.request("GET", "/api/orchestra/sessions/s-gone").json()["session"]["state"] != "ended":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    r = screen_of(server, "s-gone")
    assert r.status_code == 409 and r.json()["code"] == "pane_gone"


def test_a_session_whose_tmux_server_is_gone(server, tmux):
    pane = tmux.echo_pane()
    socket = tmux.socket_path
    server.notify(hook_event_name="Stop", session_id="s-idle", tmux_target=pane, tmux_socket=socket)
    assert "READY" in screen_of(server, "s-idle").json()["lines"]
    tmux.kill()  # the whole tmux server, its socket file with it
    r = screen_of(server, "s-idle")
    assert r.status_code == 409 and r.json()["code"] == "pane_gone"


def test_a_socket_that_changed_hands_is_not_read(server, tmux):
    """The socket was ours when the event came; now it is another user's: the screen is not read."""
    if os.getuid() != 0:
        pytest.skip("giving the socket to another user needs root")
    pane = tmux.echo_pane()
    server.notify(hook_event_name="UserPromptSubmit", session_id="s-hands", prompt="go", tmux_target=pane,
                  tmux_socket=tmux.socket_path)
    assert screen_of(server, "s-hands").status_code == 200
    os.chown(tmux.socket_path, NOBODY, NOBODY)
    try:
        r = screen_of(server, "s-hands")
    finally:
        os.chown(tmux.socket_path, os.getuid(), os.getgid())
    assert r.status_code == 409 and r.json()["code"] == "unsafe_socket" and "another user" in r.json()["error"]
    assert "READY" not in r.text
