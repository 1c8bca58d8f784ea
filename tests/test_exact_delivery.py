"""What is typed arrives byte for byte (tmux's own syntax included), into a pane named exactly, through a
socket that is this user's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

NOBODY = 65534
TMUX_SYNTAX = ["ends with;", "ends with\\;", " ; ", ";", "two;;", "#{pane_id}", "{", "}", "-t", "a \\; b",
               "{ x }", "\\\\;", "#[fg=red]x", "~/.tmux.conf;"]


def idle_in(tmux, server, pane: str, session: str = "sess") -> str:
    return server.notify(hook_event_name="Notification", notification_type="idle_prompt", session_id=session,
                         tmux_target=pane, tmux_socket=f"{tmux.socket_path},123,0")["id"]


@pytest.mark.parametrize("text", TMUX_SYNTAX)
def test_tmux_syntax_arrives_byte_for_byte(server, tmux, text):
    pane = tmux.echo_pane()
    id = idle_in(tmux, server, pane)
    r = server.respond(notification_id=id, response=text)
    assert r.status_code == 200, r.text
    tmux.wait_for(pane, "GOT:")
    assert f"GOT:{text!r}" in tmux.capture(pane)


def test_a_deny_message_ending_in_a_semicolon_arrives_whole(server, tmux):
    from tests.conftest import FIXTURES, hook_payload

    pane = tmux.dialog_pane(FIXTURES / "screens" / "screen-permission-bash.txt")
    id = server.notify(**hook_payload("PermissionRequest-Bash") | {"tmux_target": pane,
                                                                   "tmux_socket": tmux.socket_path})["id"]
    r = server.respond(notification_id=id, decision="deny", message="use make test;")
    assert r.status_code == 200, r.text
    tmux.wait_for(pane, "GOT:'use make test;'")


def test_text_with_a_lone_surrogate_is_refused_before_typing(server, tmux):
    pane = tmux.echo_pane()
    id = idle_in(tmux, server, pane)
    r = server.request("POST", "/api/orchestra/respond", headers={"Content-Type": "application/json"},
                       content=b'{"notification_id": "%s", "response": "x\\ud800"}' % id.encode())
    assert r.status_code == 400 and "surrogate" in r.json()["error"]
    assert server.get(id)["status"] == "pending" and "GOT" not in tmux.capture(pane)


@pytest.fixture
def nobodys_tmux():
    """A real tmux server run by uid 65534 (nobody), and its socket (in /tmp: nobody cannot reach tmp_path)."""
    folder = Path(tempfile.mkdtemp(prefix="piko-nobody-"))
    os.chown(folder, NOBODY, NOBODY)
    socket = folder / "sock"
    nobody = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "tmux", "-S", str(socket)]
    subprocess.run([*nobody, "-f", "/dev/null", "new-session", "-d", "cat"], check=True, timeout=10,
                   env={"PATH": os.environ["PATH"], "HOME": str(folder)})
    assert os.lstat(socket).st_uid == NOBODY
    yield socket
    subprocess.run([*nobody, "kill-server"], timeout=10)
    shutil.rmtree(folder, ignore_errors=True)


def test_another_users_socket_is_refused(server, nobodys_tmux):
    r = server.request("POST", "/api/orchestra/notify", json={
        "hook_event_name": "Notification", "notification_type": "idle_prompt", "session_id": "x",
        "tmux_target": "%0", "tmux_socket": f"{nobodys_tmux},1,0"})
    assert r.status_code == 400 and "another user" in r.json()["error"], r.text
    assert server.pending() == []


def test_a_socket_that_changed_hands_is_not_used(server, tmux):
    """The socket was ours when the event came; by the answer it is another user's: nothing is typed."""
    pane = tmux.echo_pane()
    id = idle_in(tmux, server, pane)
    os.chown(tmux.socket_path, NOBODY, NOBODY)
    try:
        r = server.respond(notification_id=id, response="hello")
    finally:
        os.chown(tmux.socket_path, os.getuid(), os.getgid())
    assert r.status_code == 409 and r.json()["code"] == "unsafe_socket" and "another user" in r.json()["error"]
    assert server.get(id)["status"] == "pending" and "GOT" not in tmux.capture(pane)


@pytest.mark.parametrize("path,reason", [("relative/sock", "absolute"), ("/etc/passwd", "not a socket")])
def test_socket_paths_that_are_not_sockets_are_refused(server, path, reason):
    r = server.request("POST", "/api/orchestra/notify", json={
        "hook_event_name": "Notification", "notification_type": "idle_prompt", "tmux_socket": path})
    assert r.status_code == 400 and reason in r.json()["error"], r.text


def test_a_symlink_to_our_own_socket_is_refused(server, tmux, tmp_path):
    tmux.echo_pane()  # the tmux server runs: its socket exists
    link = tmp_path / "link"
    link.symlink_to(tmux.socket_path)
    r = server.request("POST", "/api/orchestra/notify", json={
        "hook_event_name": "Notification", "notification_type": "idle_prompt", "tmux_socket": str(link)})
    assert r.status_code == 400 and "not a socket" in r.json()["error"], r.text
