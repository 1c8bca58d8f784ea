"""`piko cc notify` waiting for a person's decision (PermissionRequest): against a stand-in that speaks the
/wait protocol with scripted misbehaviour (heartbeats, dropped connections, an agent gone), and against a
real server (`piko respond`, the agent moving on, a restart)."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from piko.channel import server_proof
from tests.conftest import hook_payload
from tests.support.hook import finish, hook_env as base_env, notify, waiting_hook
from tests.support.server import PikoServer

ROOT = Path(__file__).resolve().parents[1]
WAIT_ROUTE = "/wait" in (ROOT / "src" / "piko" / "server" / "app.py").read_text()


class FakeWaitServer:
    """Speaks the /wait protocol the way the server does (chunked lines: heartbeats, then one JSON line),
    with scripted misbehaviour, to test the hook's side of it: retries, heartbeats, the final line."""

    def __init__(self, waits: list[list[bytes]], home: Path) -> None:
        self.waits = waits  # per /wait connection: the lines to send; ends without a final line = drop
        self.wait_calls = 0
        self.unexpected: list[bytes] = []  # request lines that were neither the notify nor the wait
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(mode=0o700, exist_ok=True)  # it knows the token, so it can prove it is the server
        self.token = "fake-server-token"
        (home / "token").write_text(self.token + "\n")
        (home / "token").chmod(0o600)  # piko reads only an owner-only token file
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while True:
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return  # the peer went away before sending a request
                    request += chunk
                head, _, request = request.partition(b"\r\n\r\n")
                if not head.startswith(b"GET /api/hello?nonce="):
                    break
                nonce = head.split(b"nonce=", 1)[1].split(b" ", 1)[0].decode()
                proof = json.dumps({"proof": server_proof(self.token, nonce, "127.0.0.1", self.port)}).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(proof), proof))
            if head.startswith(b"POST /api/orchestra/notify"):
                answer = json.dumps({"id": "abcdefabcdef", "action": "created", "notification": None,
                                     "wait_key": "the-key"}).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                             b"connection: close\r\n\r\n%s" % (len(answer), answer))
                return
            length = int(head.lower().partition(b"content-length:")[2].split(b"\r\n", 1)[0] or b"0")
            while len(request) < length:
                request += conn.recv(65536)
            if not (head.startswith(b"POST /api/orchestra/notifications/abcdefabcdef/wait")
                    and json.loads(request or b"{}").get("wait_key") == "the-key"):
                self.unexpected.append(head.split(b"\r\n", 1)[0])
                conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                return
            script = self.waits[min(self.wait_calls, len(self.waits) - 1)]
            self.wait_calls += 1
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\n"
                         b"transfer-encoding: chunked\r\n\r\n")
            try:
                for line in script:
                    if line == b"PAUSE":
                        time.sleep(0.3)
                        continue
                    conn.sendall(b"%x\r\n%s\r\n" % (len(line), line))
                if script and script[-1].startswith(b"{"):
                    conn.sendall(b"0\r\n\r\n")
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()


def test_hook_waits_through_heartbeats_and_a_dropped_connection_then_prints_the_decision(piko_home: Path):
    output = {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}}
    fake = FakeWaitServer([
        [b"\n", b"PAUSE", b"\n"],  # the server restarts: the answer ends without a final line
        [b"\n", b"PAUSE", b"\n", b"PAUSE", json.dumps({"status": "decided", "output": output}).encode() + b"\n"],
    ], piko_home)
    try:
        result, _ = notify(hook_payload("PermissionRequest-Bash"), base_env(piko_home, fake.url))
    finally:
        fake.close()
    assert result.returncode == 0
    assert json.loads(result.stdout) == output
    assert fake.wait_calls == 2 and fake.unexpected == []


def test_hook_ends_silently_when_the_request_is_resolved_another_way(piko_home: Path):
    fake = FakeWaitServer([[b"\n", b'{"status": "resolved", "output": null}\n']], piko_home)
    try:
        result, _ = notify(hook_payload("PermissionRequest-Bash"), base_env(piko_home, fake.url))
        no_wait, _ = notify(hook_payload("PermissionRequest-Bash"), base_env(piko_home, fake.url), "--no-wait")
    finally:
        fake.close()
    assert result.returncode == 0 and result.stdout == b""
    assert no_wait.returncode == 0 and no_wait.stdout == b""
    assert fake.wait_calls == 1  # --no-wait did not wait


def test_waiting_hook_exits_when_the_agent_is_gone(piko_home: Path, tmp_path: Path):
    fake = FakeWaitServer([[b"\n", b"PAUSE"] * 200], piko_home)  # heartbeats for a minute
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps(hook_payload("PermissionRequest-Bash")))
    agent = ("import subprocess, sys, time; "
             "p = subprocess.Popen([sys.executable, '-m', 'piko', 'cc', 'notify'], "
             f"stdin=open({str(payload)!r}), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(p.pid, flush=True); time.sleep(1)")  # the 'agent' goes away while its hook waits
    pid = 0
    try:
        out = subprocess.run([sys.executable, "-c", agent], env=base_env(piko_home, fake.url),
                             capture_output=True, text=True, timeout=10, cwd=ROOT).stdout
        pid = int(out.strip())
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        assert not _alive(pid), "the hook outlived its agent"
        assert fake.wait_calls >= 1
    finally:
        fake.close()
        if pid and _alive(pid):
            os.kill(pid, 9)


def test_a_hook_orphaned_before_it_started_does_not_wait(piko_home: Path, tmp_path: Path):
    fake = FakeWaitServer([[b"\n", b"PAUSE"] * 200], piko_home)
    payload, seen = tmp_path / "payload.json", tmp_path / "ppid"
    payload.write_text(json.dumps(hook_payload("PermissionRequest-Bash")))
    orphan = ("import os, sys, time; time.sleep(0.3); "  # by then the shell that started it is gone
              f"open({str(seen)!r}, 'w').write(str(os.getppid())); "
              f"fd = os.open({str(payload)!r}, os.O_RDONLY); os.dup2(fd, 0); "
              "os.execv(sys.executable, [sys.executable, '-m', 'piko', 'cc', 'notify'])")
    try:
        subprocess.run(["sh", "-c", f"{shlex.quote(sys.executable)} -c {shlex.quote(orphan)} >/dev/null 2>&1 &"],
                       env=base_env(piko_home, fake.url), cwd=ROOT, timeout=5, check=True)
        deadline = time.monotonic() + 5
        while not (seen.exists() and seen.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        if seen.read_text() != "1":
            pytest.skip("orphans are adopted by a subreaper here, not by init")
        time.sleep(1.5)
        stray = processes_with(f"PIKO_HOME={piko_home}")
        assert not stray, "an orphaned hook is waiting"
    finally:
        fake.close()
        for pid in processes_with(f"PIKO_HOME={piko_home}"):
            os.kill(pid, 9)


def processes_with(variable: str) -> list[int]:
    """Live processes whose environment holds `variable` (NAME=value)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if variable.encode() in (entry / "environ").read_bytes().split(b"\0") and _alive(int(entry.name)):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


needs_wait_route = pytest.mark.skipif(
    not WAIT_ROUTE, reason="the server has no GET /api/orchestra/notifications/{id}/wait yet; "
                           "the hook's side is tested against FakeWaitServer")


@needs_wait_route
def test_a_decision_from_piko_respond_reaches_the_waiting_hook(server: PikoServer, piko_home: Path):
    hook, record = waiting_hook(server, piko_home)
    answer = subprocess.run([sys.executable, "-m", "piko", "respond", record["id"][:5], "--allow"],
                            env=base_env(piko_home, server.url), capture_output=True, text=True, timeout=15)
    assert answer.returncode == 0, answer.stderr
    assert "through the waiting hook" in answer.stdout
    assert json.loads(finish(hook)) == {"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                                                               "decision": {"behavior": "allow"}}}


@needs_wait_route
def test_the_waiting_hook_ends_silently_when_the_agent_moves_on(server: PikoServer, piko_home: Path):
    hook, record = waiting_hook(server, piko_home)
    ran = {**hook_payload("PermissionRequest-Bash"), "hook_event_name": "PostToolUse"}
    result, _ = notify(ran, base_env(piko_home, server.url))  # answered in the terminal: the tool ran
    assert result.returncode == 0
    assert finish(hook) == b""
    assert server.get(record["id"])["resolved_via"] == "event:PostToolUse"


@needs_wait_route
def test_the_waiting_hook_survives_a_server_restart(server: PikoServer, piko_home: Path):
    hook, record = waiting_hook(server, piko_home)
    server.restart()  # same port, same home: the hook reconnects
    deadline = time.monotonic() + 10
    while not server.get(record["id"])["hook_waiting"] and time.monotonic() < deadline:
        time.sleep(0.05)
    answer = server.respond(notification_id=record["id"], decision="always")
    assert answer.status_code == 200 and answer.json()["delivered_via"] == "hook", answer.text
    decision = json.loads(finish(hook))["hookSpecificOutput"]["decision"]
    assert decision["behavior"] == "allow"
    assert decision["updatedPermissions"] == hook_payload("PermissionRequest-Bash")["permission_suggestions"]
