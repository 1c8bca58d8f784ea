"""A fuzzed stream of bad requests: every one gets a clear 4xx, none a 500, and the server keeps working."""

from __future__ import annotations

import json
import socket

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from websockets.exceptions import ConnectionClosed

from tests.support.server import recv_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=12,
)
FIELDS = ["hook_event_name", "notification_type", "message", "title", "session_id", "cwd", "tool_name",
          "tool_input", "project_name", "env_name", "tmux_session", "tmux_target", "tmux_socket",
          "permission_suggestions", "notification_id", "response", "response_type", "decision", "answers"]
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8),
    st.fixed_dictionaries({"hook_event_name": st.sampled_from(["PermissionRequest", "Notification", "Stop", "X"])},
                          optional={f: json_values for f in FIELDS if f != "hook_event_name"}),
)


def check(r) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400 and not r.headers.get("content-type", "").startswith("text/html"):
        body = r.json()
        assert body["error"] and body["code"], body


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    from tests.support.server import PikoServer

    srv = PikoServer(tmp_path_factory.mktemp("fuzz")).start()
    yield srv
    srv.stop()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies, route=st.sampled_from(["/api/orchestra/notify", "/api/orchestra/respond"]))
def test_fuzzed_json_bodies(fuzz_server, body, route):
    check(fuzz_server.request("POST", route, json=body))


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(max_size=300), route=st.sampled_from(["/api/orchestra/notify", "/api/orchestra/respond"]))
def test_fuzzed_raw_bytes(fuzz_server, raw, route):
    check(fuzz_server.request("POST", route, content=raw, headers={"Content-Type": "application/json"}))


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e, exclude_characters="#?"), max_size=40),
       method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH"]),
       query=st.dictionaries(st.sampled_from(["status", "limit", "before", "token"]), st.text(max_size=10)))
def test_fuzzed_paths_and_params(fuzz_server, path, method, query):
    for base in ("/api/orchestra/notifications/", "/api/orchestra/", "/"):
        check(fuzz_server.request(method, base + path.lstrip("/"), params=query))


@pytest.mark.parametrize("raw", [b'{"hook_event_name": "X", "n": NaN}', b'{"hook_event_name": "X", "n": -Infinity}',
                                 b"[" * 100000 + b"]" * 100000, b'{"hook_event_name": "\\ud800"}',
                                 '{"hook_event_name": "é"}'.encode("latin-1")])
def test_json_edge_cases(fuzz_server, raw):
    r = fuzz_server.request("POST", "/api/orchestra/notify", content=raw)
    check(r)


def test_server_still_works_after_fuzzing(fuzz_server):
    answer = fuzz_server.notify(hook_event_name="Notification", notification_type="idle_prompt", session_id="z")
    assert answer["action"] == "created"


@pytest.mark.parametrize("garbage,code", [
    ("not json", 1003), ('{"type": "subscribe"}', 1003), ("[1,2,3]", 1003), (b"\x00\x01binary", 1003),
    ("x" * (100 * 1024), 1009),
])
def test_websocket_garbage_is_closed_with_a_reason(fuzz_server, garbage, code):
    with fuzz_server.ws() as ws:
        recv_json(ws)
        ws.send(garbage)
        with pytest.raises(ConnectionClosed) as e:
            while True:
                ws.recv(timeout=5)
    assert e.value.rcvd.code == code
    if code == 1003:
        assert e.value.rcvd.reason


def test_half_open_and_garbage_http(fuzz_server):
    """Raw sockets speaking nonsense or nothing do not hurt anyone else."""
    host, port = "127.0.0.1", fuzz_server.port
    silent = socket.create_connection((host, port))
    junk = socket.create_connection((host, port))
    junk.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
    junk.settimeout(5)
    reply = junk.recv(100)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4")
    assert fuzz_server.pending() is not None
    silent.close()
    junk.close()
