"""The hook and the CLI talk only to their own server, and a waiting hook's decision goes to that hook only.

Real processes throughout: the real hook and `piko respond`, a real server, and real listeners that pretend
to be the server (tests/support/impostor.py) and record everything they receive.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from piko.channel import unix_address
from tests.conftest import hook_payload
from tests.support.hook import hook_env, waiting_hook
from tests.support.impostor import Impostor, Relay
from tests.support.server import PikoServer, recv_json

WAIT = "/api/orchestra/notifications/{}/wait"
ALLOW = {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}}


def run(command: str, stdin: dict | None, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`piko cc notify` (fed `stdin`) or `piko respond`, as a real process."""
    argv = [sys.executable, "-m", "piko", *(["cc", "notify"] if command == "notify" else ["respond"]), *args]
    return subprocess.run(argv, input=json.dumps(stdin).encode() if stdin is not None else b"", env=env,
                          capture_output=True, timeout=20)


def private_home(path: Path, token: str = "the-real-token") -> Path:
    path.mkdir(mode=0o700)
    (path / "token").write_text(token + "\n")
    (path / "token").chmod(0o600)  # piko reads only an owner-only token file
    return path


def spooled(home: Path) -> list[Path]:
    return sorted((home / "spool").glob("*.json")) if (home / "spool").is_dir() else []


def log_text(home: Path) -> str:
    return (home / "notify.log").read_text() if (home / "notify.log").exists() else ""


def finish(hook: subprocess.Popen, timeout: float = 10) -> bytes:
    try:
        assert hook.wait(timeout=timeout) == 0
        assert hook.stdout is not None
        return hook.stdout.read()
    finally:
        if hook.poll() is None:
            hook.kill()
            hook.wait()


def unix_client(path: Path) -> tuple[httpx.Client, int | None]:
    """An HTTP client on the server's Unix socket (through its folder when the path is long)."""
    address, folder = unix_address(str(path))
    return httpx.Client(transport=httpx.HTTPTransport(uds=address), base_url="http://localhost", timeout=10), folder


# ---- over TCP, the server proves it is ours before anything that matters is sent ----------------------

def test_a_port_squatter_gets_no_token_and_no_event_and_the_hook_prints_nothing(tmp_path: Path):
    home = private_home(tmp_path / "home")
    impostor = Impostor()
    try:
        result = run("notify", hook_payload("PermissionRequest-Bash"), hook_env(home, impostor.url))
    finally:
        impostor.close()
    assert result.returncode == 0 and result.stdout == b"" and result.stderr == b""
    seen = impostor.everything
    assert seen.startswith(b"GET /api/hello?nonce=")  # a random nonce, and nothing else
    assert b"the-real-token" not in seen and b"Authorization" not in seen
    assert b"/api/orchestra" not in seen and b"session_id" not in seen
    assert len(spooled(home)) == 1
    assert f"the server at {impostor.url} did not prove it is ours" in log_text(home)


def test_piko_respond_sends_a_squatter_nothing_and_says_so(tmp_path: Path):
    home = private_home(tmp_path / "home")
    impostor = Impostor()
    try:
        listed = run("respond", None, hook_env(home, impostor.url), "--list")
        answered = run("respond", None, hook_env(home, impostor.url), "abcdefabcdef", "--allow")
    finally:
        impostor.close()
    for result in (listed, answered):
        assert result.returncode == 1
        assert b"did not prove it is ours" in result.stderr and b"nothing was sent" in result.stderr
    seen = impostor.everything
    assert b"the-real-token" not in seen and b"/api/orchestra" not in seen


def test_a_relay_to_the_real_server_fails_the_port_bound_proof(server: PikoServer, piko_home: Path):
    relay = Relay(server.port)
    try:
        assert httpx.get(relay.url + "/api/health", timeout=5).status_code == 200  # it does reach the server
        result = run("notify", hook_payload("PermissionRequest-Bash"), hook_env(piko_home, relay.url))
        listed = run("respond", None, hook_env(piko_home, relay.url), "--list")
    finally:
        relay.close()
    assert result.returncode == 0 and result.stdout == b""
    assert listed.returncode == 1 and b"did not prove it is ours" in listed.stderr
    seen = relay.everything
    assert b"GET /api/hello?nonce=" in seen
    assert server.token.encode() not in seen and b"/api/orchestra" not in seen
    assert f"the server at {relay.url} did not prove it is ours" in log_text(piko_home)
    # Straight to the server, over TCP, the same hook is let through.
    direct = run("notify", hook_payload("Notification-idle_prompt"), hook_env(piko_home, server.url))
    assert direct.returncode == 0 and "Notification" not in log_text(piko_home)


def test_a_relay_on_the_same_port_of_another_loopback_address_fails_the_proof(server: PikoServer,
                                                                               piko_home: Path):
    """The proof names the address too: a squatter on [::1]:<port> relaying to 127.0.0.1:<port> fails."""
    try:
        relay = Relay(server.port, host="::1", port=server.port)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert httpx.get(relay.url + "/api/health", timeout=5).status_code == 200
        result = run("notify", hook_payload("PermissionRequest-Bash"), hook_env(piko_home, relay.url))
    finally:
        relay.close()
    assert result.returncode == 0 and result.stdout == b""
    seen = relay.everything
    assert server.token.encode() not in seen and b"/api/orchestra" not in seen
    assert f"the server at {relay.url} did not prove it is ours" in log_text(piko_home)


def test_the_hook_never_falls_back_to_the_default_port(tmp_path: Path):
    squatter = socket.socket()
    try:
        squatter.bind(("127.0.0.1", 19876))
    except OSError:
        squatter.close()
        pytest.skip("port 19876 is in use here")
    impostor = Impostor(squatter)
    home = private_home(tmp_path / "home")
    try:
        result = run("notify", hook_payload("PermissionRequest-Bash"), hook_env(home))
        listed = run("respond", None, hook_env(home), "--list")
    finally:
        impostor.close()
    assert result.returncode == 0 and result.stdout == b""
    assert listed.returncode == 1
    assert impostor.received == []  # no PIKO_URL: the hook and the CLI use the socket in $PIKO_HOME only
    assert len(spooled(home)) == 1


def test_a_waiting_hook_over_tcp_gets_its_decision(server: PikoServer, piko_home: Path):
    hook, record = waiting_hook(server, piko_home, url=server.url)
    answer = server.respond(notification_id=record["id"], decision="allow")
    assert answer.status_code == 200 and answer.json()["delivered_via"] == "hook", answer.text
    assert json.loads(finish(hook)) == ALLOW


def test_the_hello_route_refuses_bad_nonces_with_a_sentence(server: PikoServer):
    for nonce in ("", "short", "x" * 129, "a|b" * 8):
        r = server.request("GET", "/api/hello", params={"nonce": nonce}, auth=False)
        assert r.status_code == 400 and "nonce must be" in r.json()["error"]


# ---- the Unix socket ----------------------------------------------------------------------------------

def test_the_socket_is_owner_only_accepts_local_requests_and_goes_away_with_the_server(server: PikoServer,
                                                                                          piko_home: Path):
    path = piko_home / "server.sock"
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    client, folder = unix_client(path)
    try:
        foreign = {"Host": "evil.example", "Origin": "http://evil.example"}
        r = client.get("/api/orchestra/notifications", headers={**server.auth, **foreign})
        assert r.status_code == 200, r.text  # no browser reaches a Unix socket: Host/Origin do not matter
        assert client.get("/api/orchestra/notifications", headers=foreign).status_code == 401  # still the token
        r = client.get("/api/hello", params={"nonce": "n" * 32})
        assert r.status_code == 400 and "Unix socket needs none" in r.json()["error"]
    finally:
        client.close()
        if folder is not None:
            os.close(folder)
    r = server.request("GET", "/api/orchestra/notifications", headers={"Host": "evil.example"})
    assert r.status_code == 421  # over TCP the host is checked as before
    assert server.stop() == 0
    assert not os.path.lexists(path)


def test_a_wrong_token_over_the_socket_is_refused_and_the_event_spooled(server: PikoServer, piko_home: Path):
    (piko_home / "token").write_text("not-the-token\n")  # the running server keeps the one it read
    result = run("notify", hook_payload("Notification-idle_prompt"), hook_env(piko_home))
    assert result.returncode == 0 and result.stdout == b""
    assert "401" in log_text(piko_home) and len(spooled(piko_home)) == 1


def test_a_stale_socket_from_a_killed_server_makes_the_hook_spool_and_is_replaced(server: PikoServer,
                                                                                   piko_home: Path):
    server.kill9()
    assert stat.S_ISSOCK(os.lstat(piko_home / "server.sock").st_mode)  # left behind
    result = run("notify", hook_payload("Notification-idle_prompt"), hook_env(piko_home))
    assert result.returncode == 0 and result.stdout == b"" and result.stderr == b""
    assert len(spooled(piko_home)) == 1 and "server unreachable" in log_text(piko_home)
    server.start()  # the stale socket is ours: replaced
    [pending] = server.pending()
    assert pending["kind"] == "idle" and spooled(piko_home) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="planting a socket owned by another user needs root")
def test_a_socket_of_another_user_is_refused_by_the_hook_the_cli_and_the_server(tmp_path: Path):
    home = private_home(tmp_path / "home")
    path = home / "server.sock"
    listener = socket.socket(socket.AF_UNIX)
    address, folder = unix_address(str(path))
    listener.bind(address)
    if folder is not None:
        os.close(folder)
    os.chmod(path, 0o666)
    os.chown(path, 65534, 65534)  # planted by another user (nobody)
    planted = Impostor(listener)
    try:
        result = run("notify", hook_payload("PermissionRequest-Bash"), hook_env(home))
        listed = run("respond", None, hook_env(home), "--list")
        with pytest.raises(RuntimeError, match="is not a socket of this user's: refusing to replace it"):
            PikoServer(home).start()
    finally:
        planted.close()
    assert planted.received == []  # not even a connection
    assert result.returncode == 0 and result.stdout == b""
    assert len(spooled(home)) == 1 and "is not a socket of this user's" in log_text(home)
    assert listed.returncode == 1 and b"is not a socket of this user's" in listed.stderr
    assert os.lstat(path).st_uid == 65534  # left as it was


def test_a_symlink_planted_as_the_socket_is_not_followed(tmp_path: Path):
    home = private_home(tmp_path / "home")
    elsewhere = tmp_path / "elsewhere.sock"
    listener = socket.socket(socket.AF_UNIX)
    address, folder = unix_address(str(elsewhere))
    listener.bind(address)
    if folder is not None:
        os.close(folder)
    listener_at_the_end = Impostor(listener)  # a socket of ours, but not in the state folder
    (home / "server.sock").symlink_to(elsewhere)
    try:
        result = run("notify", hook_payload("PermissionRequest-Bash"), hook_env(home))
    finally:
        listener_at_the_end.close()
    assert result.returncode == 0 and result.stdout == b""
    assert listener_at_the_end.received == []
    assert len(spooled(home)) == 1 and "is not a socket of this user's" in log_text(home)


@pytest.mark.parametrize("planted", ["file", "symlink"])
def test_the_server_refuses_to_replace_what_is_not_its_socket(tmp_path: Path, planted: str):
    home = private_home(tmp_path / "home")
    path = home / "server.sock"
    if planted == "file":
        path.write_text("keep me")
    else:
        path.symlink_to(tmp_path / "elsewhere.sock")
    with pytest.raises(RuntimeError, match=r"is not a socket of this user's|is a symbolic link"):
        PikoServer(home).start()
    assert path.read_text() == "keep me" if planted == "file" else path.is_symlink()
    assert not (tmp_path / "elsewhere.sock").exists()


# ---- a waiting hook's decision goes to that hook only -------------------------------------------------

def steal(server: PikoServer, method: str, path: str, body: dict | None, got: list, opened: threading.Event) -> None:
    """Another holder of the token opens the wait route, and keeps whatever it is given."""
    with (httpx.Client(timeout=15) as client,
          client.stream(method, server.url + path, headers=server.auth, json=body) as r):
        got.append(r.status_code)
        opened.set()
        got.extend(r.iter_lines())


@pytest.mark.parametrize("method, body", [("GET", None), ("POST", {}), ("POST", {"wait_key": "a guess"})])
def test_another_token_holder_cannot_take_the_decision(server: PikoServer, piko_home: Path, method: str,
                                                        body: dict | None):
    hook, record = waiting_hook(server, piko_home)
    got: list = []
    opened = threading.Event()
    thief = threading.Thread(target=steal, args=(server, method, WAIT.format(record["id"]), body, got, opened))
    thief.start()
    assert opened.wait(10)
    answer = server.respond(notification_id=record["id"], decision="allow")
    printed = finish(hook)
    thief.join(15)
    assert not [line for line in got[1:] if "decided" in line], "the decision went to another client"
    assert answer.status_code == 200 and answer.json()["delivered_via"] == "hook", answer.text
    assert json.loads(printed) == ALLOW
    assert got[0] == (405 if method == "GET" else 403)  # reading is not waiting; POST needs the key
    assert ("only the hook that asked" if method == "POST" else "is a POST with the wait_key") in \
        json.loads(got[1])["error"]


def test_a_wait_without_the_key_does_not_disturb_the_waiting_hook(server: PikoServer, piko_home: Path):
    hook, record = waiting_hook(server, piko_home)
    path = WAIT.format(record["id"])
    for attempt in ({}, {"wait_key": None}, {"wait_key": 1}):
        r = server.request("POST", path, json=attempt)
        assert r.status_code == 403 and "only the hook that asked" in r.json()["error"], r.text
    assert server.request("POST", path, content=b"not json").status_code == 403
    assert server.get(record["id"])["hook_waiting"] is True
    answer = server.respond(notification_id=record["id"], decision="allow")
    assert answer.status_code == 200 and answer.json()["delivered_via"] == "hook", answer.text
    assert json.loads(finish(hook)) == ALLOW


def test_reading_a_request_twice_changes_nothing(server: PikoServer, piko_home: Path):
    hook, record = waiting_hook(server, piko_home)
    first, listed = server.get(record["id"]), server.pending()
    second, listed_again = server.get(record["id"]), server.pending()
    assert first == second and listed == listed_again and first["hook_waiting"] is True
    answer = server.respond(notification_id=record["id"], decision="allow")
    assert answer.json()["delivered_via"] == "hook"
    assert json.loads(finish(hook)) == ALLOW


def test_the_wait_key_is_given_once_and_stored_only_as_a_hash(server: PikoServer, piko_home: Path):
    with server.ws() as ws:
        snapshot = ws.recv(timeout=5)
        answer = server.notify(**hook_payload("PermissionRequest-Bash"))
        created = json.dumps(recv_json(ws))
    key = answer["wait_key"]
    assert isinstance(key, str) and len(key) >= 32
    assert "wait_key" not in server.notify(**hook_payload("Notification-idle_prompt") | {"session_id": "s2"})
    seen = [snapshot, created, json.dumps(answer["notification"]),
            server.request("GET", "/api/orchestra/notifications").text,
            server.request("GET", f"/api/orchestra/notifications/{answer['id']}").text,
            server.request("GET", "/api/orchestra/notifications", params={"status": "all"}).text]
    assert not [text for text in seen if key in text]
    stored = b"".join(p.read_bytes() for p in piko_home.glob("state.db*"))
    assert key.encode() not in stored


def test_after_a_kill_9_the_same_hook_reconnects_with_its_key(server: PikoServer, piko_home: Path):
    hook, record = waiting_hook(server, piko_home)
    server.kill9()
    server.start()
    assert server.request("POST", WAIT.format(record["id"]), json={}).status_code == 403
    # The record still says hook_waiting from before the kill; answer once the hook is really back
    # (until then there is no hook and no pane: 409, nothing sent).
    deadline = time.monotonic() + 10
    while True:
        answer = server.respond(notification_id=record["id"], decision="allow")
        if answer.status_code != 409 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer.status_code == 200 and answer.json()["delivered_via"] == "hook", answer.text
    assert json.loads(finish(hook)) == ALLOW


def test_the_hooks_usual_way_loads_no_hmac(server: PikoServer, piko_home: Path, tmp_path: Path):
    """Over the socket the hook stays light; hmac (and hashlib) are loaded only for a TCP server's proof."""
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps(hook_payload("Notification-idle_prompt")))
    code = ("import sys; from piko.cli import notify; notify.main(['--no-wait']); "
            "sys.stderr.write(' '.join(sorted(sys.modules)))")
    loaded = {}
    for way, env in (("socket", hook_env(piko_home)), ("tcp", hook_env(piko_home, server.url))):
        with payload.open("rb") as stdin:
            result = subprocess.run([sys.executable, "-c", code], stdin=stdin, env=env, capture_output=True,
                                    timeout=20)
        assert result.returncode == 0 and result.stdout == b""
        loaded[way] = set(result.stderr.decode().split())
    assert "hmac" not in loaded["socket"] and "hashlib" not in loaded["socket"]
    assert "hmac" in loaded["tcp"]
    assert not log_text(piko_home) and len(server.pending()) == 1
