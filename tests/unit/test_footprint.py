"""What the server holds and loads: one snapshot string for every client, and no push library at start."""

from __future__ import annotations

import subprocess
import sys

import httpx

from piko.server.app import App
from tests.conftest import hook_payload


async def test_every_client_gets_one_snapshot_string_until_something_changes(app: App, api: httpx.AsyncClient) -> None:
    orchestra = app.orchestra
    await api.post("/api/orchestra/notify", json=hook_payload("PermissionRequest-Bash"))
    first = orchestra.snapshot_text()
    assert orchestra.snapshot_text() is first  # shared: a snapshot can be megabytes, one per client adds up
    await api.post("/api/orchestra/notify", json={**hook_payload("Stop"), "session_id": "another"})
    again = orchestra.snapshot_text()
    assert again is not first and '"session_id":"another"' in again


def test_the_server_starts_without_the_push_library() -> None:
    code = "import sys, piko.server.main; print(sorted({'pywebpush', 'py_vapid', 'requests'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
