"""Pending requests and history survive a restart and a kill -9; shutdown is clean."""

from __future__ import annotations

import signal
import time

from tests.conftest import hook_payload
from tests.support.server import recv_json


def _fill(server) -> tuple[list[str], str]:
    pending = [server.notify(**hook_payload("PermissionRequest-Bash") | {"session_id": f"s{i}"})["id"]
               for i in range(3)]
    done = server.notify(**hook_payload("Notification-idle_prompt"))["id"]
    server.request("DELETE", f"/api/orchestra/notifications/{done}")
    return pending, done


def test_state_survives_kill_9(server):
    pending, done = _fill(server)
    server.kill9()
    server.start()
    assert [n["id"] for n in server.pending()] == pending
    assert server.get(done)["status"] == "dismissed"
    # And it keeps working where it left off.
    server.notify(hook_event_name="UserPromptSubmit", session_id="s0")
    assert [n["id"] for n in server.pending()] == pending[1:]


def test_state_survives_restart_and_ws_clients_get_it_back(server):
    pending, done = _fill(server)
    server.restart()
    with server.ws() as ws:
        assert [n["id"] for n in recv_json(ws)["notifications"]] == pending
    history = server.request("GET", "/api/orchestra/notifications", params={"status": "all"}).json()
    assert {n["id"] for n in history["notifications"]} == {*pending, done}


def test_state_files_are_owner_only(server):
    _fill(server)
    for name in ("token", "state.db", "state.db-wal"):
        assert (server.home / name).stat().st_mode & 0o077 == 0, name
    assert server.home.stat().st_mode & 0o077 == 0


def test_clean_shutdown_on_sigterm_and_sigint_with_clients_connected(server):
    for sig in (signal.SIGTERM, signal.SIGINT):
        with server.ws() as ws:
            recv_json(ws)
            started = time.monotonic()
            assert server.stop(sig) == 0
            assert time.monotonic() - started < 5
            try:
                ws.recv(timeout=2)
                raise AssertionError("socket still open")
            except Exception as e:  # noqa: BLE001 - ConnectionClosed, with the server's close code
                assert "1001" in str(e) or "1012" in str(e) or "closed" in str(e).lower(), e
        server.start()


def test_second_server_on_same_home_is_refused(server):
    from tests.support.server import PikoServer

    other = PikoServer(server.home)
    try:
        other.start(timeout=5)
        raise AssertionError("second server started")
    except RuntimeError as e:
        assert "already using" in str(e)
