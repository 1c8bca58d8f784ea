"""A database held locked by another program does not stop the server (issue 12): the writes wait for the
lock on the store's writer thread, while `/api/health`, reads, a browser session's requests and a new
WebSocket are answered, all while the lock is still held. The writes go through once it is released."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx

from tests.conftest import hook_payload
from tests.support.server import PikoServer, recv_json

SETTLE = 0.5  # time for the writes to reach the lock before the test looks


@contextmanager
def write_lock(server: PikoServer) -> Iterator[None]:
    """Hold the write lock of the server's database (BEGIN EXCLUSIVE, as another program could) while inside.
    Held for less than the store's busy timeout (5 s), so the waiting writes go through afterwards."""
    db = sqlite3.connect(server.home / "state.db", isolation_level=None, timeout=10)
    db.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def browser_credential(server: PikoServer) -> str:
    link = server.request("POST", "/api/auth/login-links").json()["url"]
    code = urlsplit(link).fragment.removeprefix("code=")
    r = server.request("POST", "/api/auth/login", auth=False, json={"code": code})
    assert r.status_code == 200, r.text
    return r.json()["session"]


def test_writes_wait_for_a_locked_database_and_the_server_keeps_answering(server: PikoServer):
    credential = browser_credential(server)
    as_browser = {"Authorization": f"Bearer {credential}"}
    earlier = server.notify(**{**hook_payload("Notification-idle_prompt"), "session_id": "another-session"})["id"]
    permission = {**hook_payload("PermissionRequest-Bash"), "piko_event_key": "locked-1"}
    with ThreadPoolExecutor(4) as pool:
        with write_lock(server):
            locked_at = time.monotonic()
            writes: list[Future[httpx.Response]] = [
                pool.submit(server.request, "POST", "/api/orchestra/notify", json=permission),  # record, keys
                pool.submit(server.request, "DELETE", "/api/auth/sessions"),  # browser sessions
                pool.submit(server.request, "DELETE", "/api/push/subscription", headers=as_browser),  # push
            ]
            time.sleep(SETTLE)
            assert not any(w.done() for w in writes), [w.result().text for w in writes if w.done()]

            health = httpx.get(server.url + "/api/health", timeout=15)
            assert health.status_code == 200 and health.json()["ok"] is True
            assert [n["id"] for n in server.pending()] == [earlier]  # a read: the new request is not in yet
            r = server.request("GET", "/api/orchestra/notifications", auth=False, headers=as_browser)
            assert r.status_code == 200, r.text  # the session's revocation waits behind the lock too
            r = server.request("GET", "/api/orchestra/notifications?status=all")
            assert [n["id"] for n in r.json()["notifications"]] == [earlier]
            with server.ws() as ws:
                snapshot = recv_json(ws)
                assert snapshot["type"] == "snapshot" and [n["id"] for n in snapshot["notifications"]] == [earlier]

            # All of it was answered while the lock was still held, and the writes were still waiting.
            assert not any(w.done() for w in writes)
            held = time.monotonic() - locked_at
        answers = [w.result(timeout=15) for w in writes]
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    created = answers[0].json()
    assert created["action"] == "created" and created["wait_key"]
    assert answers[1].json()["revoked"]  # the browser session, revoked once the lock was released
    assert {n["id"] for n in server.pending()} == {earlier, created["id"]}
    r = server.request("GET", "/api/orchestra/notifications", auth=False, headers=as_browser)
    assert r.status_code == 401  # revoked
    again = server.request("POST", "/api/orchestra/notify", json=permission).json()
    assert again["action"] == "duplicate"  # the event key was written too
    assert held >= SETTLE
