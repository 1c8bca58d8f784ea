"""A fuzzed stream of bad requests: every one gets a clear 4xx, none a 500, and the server keeps working."""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from websockets.exceptions import ConnectionClosed

from tests.conftest import FIXTURES, hook_payload
from tests.support.server import recv_json

if TYPE_CHECKING:
    import httpx

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
@given(path=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7e, exclude_characters="#?"),
                    max_size=40),
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


# ---- every field of every real payload, mutated ------------------------------------------------------

HOOK_FIELDS = {"project_name": "shop", "env_name": "feat", "tmux_target": "%424242",
               "tmux_socket": "/tmp/piko-fuzz-no-such-dir/sock,1,0", "names_given": ["project"]}
DEEP: object = "x"
for _ in range(40):  # deeper than any real payload nests
    DEEP = [DEEP]
MUTATIONS = [7, -1.5, True, None, [], {}, "", "x" * 200_000, "\ud800", "a\x00b", "tail\udfff",
             {"k\ud800": ["\x00", {"n": "\udc00"}]}, ["\ud800"], "\u202e\u200b;", "%0\n", "%\u0663", DEEP]
INNER_MUTATIONS = [7, None, {}, ["\ud800"], "\ud800", "a\x00b", DEEP]  # for fields inside fields


class Session:
    """One keep-alive HTTP connection to the fuzz server (thousands of cases: no new connection each)."""

    def __init__(self, server) -> None:
        import httpx

        self.server = server
        self.http = httpx.Client(base_url=server.url, headers=server.auth, timeout=15)

    def post(self, path: str, body) -> httpx.Response:
        """POST `body` as JSON, lone surrogates escaped (\\ud800) as Claude Code's JSON.stringify writes them."""
        return self.http.post(path, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})

    def still_serving(self) -> None:
        """The inbox still answers, and a new WebSocket still gets its snapshot."""
        r = self.http.get("/api/orchestra/notifications")
        assert r.status_code == 200, r.text
        assert self.http.get("/api/orchestra/notifications", params={"status": "all"}).status_code == 200
        with self.server.ws() as ws:
            assert recv_json(ws)["type"] == "snapshot"

    def answer_every_way(self, record) -> None:
        """Answers and dismissal of a request made from a mutated payload: refused or done, never a 5xx."""
        id = record["id"]
        for body in ({"decision": "allow"}, {"answers": {"q\ud800": "a"}}, {"answers": {"q": "a\udfff"}},
                     {"response": "x\ud800"}, {"response": "1", "response_type": "option"}):
            r = self.post("/api/orchestra/respond", {"notification_id": id, **body})
            check(r)
            if r.status_code == 200:
                break
        check(self.http.delete(f"/api/orchestra/notifications/{id}"))
        check(self.http.get(f"/api/orchestra/notifications/{id}"))


def paths(value, prefix=()):
    """Every key path into a payload: its fields, and the fields and items inside them."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield prefix + (k,)
            yield from paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):
            yield prefix + (i,)
            yield from paths(v, prefix + (i,))


def mutated(payload, path, value):
    copy = json.loads(json.dumps(payload))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


FIXTURE_NAMES = sorted(p.stem for p in (FIXTURES / "hooks").glob("*.json"))


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_field_of_every_real_payload_mutated(fuzz_server, name):
    """Each field (and each field inside them) of a real payload replaced by a wrong type, deep nesting, a
    huge or empty value, a lone surrogate or NUL: refused with a 4xx or accepted; after each case the inbox
    and the WebSocket snapshot still work, and the resulting request can be answered or dismissed."""
    session = Session(fuzz_server)
    base = {**hook_payload(name), **HOOK_FIELDS}
    for path in list(paths(base)):
        for value in MUTATIONS if len(path) == 1 else INNER_MUTATIONS:
            body = mutated(base, path, value)
            r = session.post("/api/orchestra/notify", body)
            check(r)
            session.still_serving()
            if r.status_code == 200 and r.json()["notification"]:
                record = r.json()["notification"]
                json.dumps(record).encode()  # nothing unstorable was kept
                session.answer_every_way(record)
                session.still_serving()


def test_lone_surrogate_in_an_enriching_notification(fuzz_server):
    """A PermissionRequest, then its Notification holding a lone surrogate: the text is repaired (U+FFFD),
    stored, shown, and the request can be dismissed, in memory and in the store alike."""
    session = Session(fuzz_server)
    asked = session.post("/api/orchestra/notify", {**hook_payload("PermissionRequest-Bash"), "session_id": "sur"})
    assert asked.status_code == 200, asked.text
    id = asked.json()["id"]
    told = session.post("/api/orchestra/notify", {**hook_payload("Notification-permission_prompt"),
                                                  "session_id": "sur", "title": "t\ud800", "message": "m\x00"})
    assert told.status_code == 200 and told.json()["action"] == "updated", told.text
    session.still_serving()
    shown = next(n for n in session.http.get("/api/orchestra/notifications").json()["notifications"] if n["id"] == id)
    assert shown["title"] == "t\ufffd"
    dismissed = session.http.delete(f"/api/orchestra/notifications/{id}")
    assert dismissed.status_code == 200, dismissed.text
    assert session.http.get(f"/api/orchestra/notifications/{id}").json()["status"] == "dismissed"
    fuzz_server.restart()  # what the store kept is what memory had
    assert Session(fuzz_server).http.get(f"/api/orchestra/notifications/{id}").json()["status"] == "dismissed"


@pytest.mark.parametrize("body", [
    {"hook_event_name": "PermissionRequest", "tool_name": "AskUserQuestion", "tool_input": {"questions": {"a": 1}}},
    {"hook_event_name": "PermissionRequest", "tool_name": "AskUserQuestion",
     "tool_input": {"questions": [{"question": "q", "options": 5}]}},
    {"hook_event_name": "PermissionRequest", "tool_name": "Write",
     "permission_suggestions": [{"type": "addDirectories", "directories": 5}]},
    {"hook_event_name": "PermissionRequest", "tool_name": "Bash",
     "permission_suggestions": [{"type": "addRules", "rules": 5}]},
])
def test_claude_fields_of_the_wrong_shape_are_not_a_500(fuzz_server, body):
    r = Session(fuzz_server).post("/api/orchestra/notify", {**body, "session_id": "shape"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("target", ["%0\n", "%\u0663", "%", "0", "%1 ", "%-1"])
def test_pane_ids_are_percent_and_ascii_digits(fuzz_server, target):
    r = Session(fuzz_server).post("/api/orchestra/notify", {"hook_event_name": "Notification",
                                                            "notification_type": "idle_prompt", "tmux_target": target})
    assert r.status_code == 400 and "tmux_target" in r.json()["error"]


@pytest.mark.parametrize("limit", ["²", "١", "99999999999999999999999", "-1", "0", "1.5"])
def test_limit_and_before_are_ascii_numbers(fuzz_server, limit):
    for name in ("limit", "before"):
        r = fuzz_server.request("GET", "/api/orchestra/notifications", params={"status": "all", name: limit})
        assert r.status_code == 400 and name in r.json()["error"], r.text
