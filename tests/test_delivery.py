"""Answers reach the exact pane, literally, on the tmux server the event came from."""

from __future__ import annotations

import time

import pytest

from tests.conftest import FIXTURES, hook_payload

HOSTILE = [
    "-n looks like a flag",
    "--",
    "it's \"quoted\" and 'single'",
    "$(touch /tmp/piko-pwned) `id` ; rm -rf ~ && echo $HOME | cat",
    "unicode: héllo wörld ✓ 日本語 🚀",
    "back\\slash and %s %d {} \\n literal",
    "Enter",  # a tmux key name, must arrive as five letters
    "   leading and trailing spaces   ",
    "a;b|c>d<e&f",
]


def idle_in(tmux, server, pane: str, session: str = "sess") -> str:
    return server.notify(hook_event_name="Notification", notification_type="idle_prompt",
                         message="Claude is waiting for your input", session_id=session,
                         tmux_target=pane, tmux_socket=f"{tmux.socket_path},123,0")["id"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_arrives_literally(server, tmux, text):
    pane = tmux.echo_pane()
    id = idle_in(tmux, server, pane)
    r = server.respond(notification_id=id, response=text)
    assert r.status_code == 200, r.text
    assert r.json()["delivered_via"] == "keys"
    tmux.wait_for(pane, "GOT:")
    assert f"GOT:{text!r}" in tmux.capture(pane)
    record = server.get(id)
    assert record["status"] == "resolved" and record["response"] == text and record["resolved_via"] == "keys"


def test_exact_pane_among_several(server, tmux):
    panes = [tmux.echo_pane() for _ in range(3)]
    ids = [idle_in(tmux, server, p, session=f"s{i}") for i, p in enumerate(panes)]
    assert server.respond(notification_id=ids[1], response="only the middle one").status_code == 200
    tmux.wait_for(panes[1], "GOT:'only the middle one'")
    for p in (panes[0], panes[2]):
        assert "GOT" not in tmux.capture(p)


def test_multiline_text_is_pasted_bracketed_then_entered(server, tmux):
    pane = tmux.echo_pane()
    id = idle_in(tmux, server, pane)
    assert server.respond(notification_id=id, response="line one\nline two\n-three").status_code == 200
    screen = tmux.wait_for(pane, "PASTE:")
    assert "PASTE:'line one\\nline two\\n-three'" in screen


def test_option_is_a_single_key_without_enter(server, tmux):
    pane = tmux.dialog_pane(FIXTURES / "screens" / "screen-permission-bash.txt")
    id = server.notify(**hook_payload("PermissionRequest-Bash") | {"tmux_target": pane,
                                                                   "tmux_socket": tmux.socket_path})["id"]
    r = server.respond(notification_id=id, response="2", response_type="option")
    assert r.status_code == 200, r.text
    tmux.wait_for(pane, "GOT:'2'")  # one key, nothing after it
    assert server.get(id)["response_type"] == "option"


def test_no_digit_lands_in_a_text_box_and_no_text_in_a_dialog(server, tmux):
    idle_pane = tmux.echo_pane()
    id = idle_in(tmux, server, idle_pane)
    r = server.respond(notification_id=id, response="2", response_type="option")
    assert r.status_code == 409 and r.json()["code"] == "no_prompt"
    dialog_pane = tmux.dialog_pane(FIXTURES / "screens" / "screen-permission-bash.txt")
    other = server.notify(**hook_payload("PermissionRequest-Bash") | {"tmux_target": dialog_pane,
                                                                      "tmux_socket": tmux.socket_path})["id"]
    r = server.respond(notification_id=other, response="yes please")
    assert r.status_code == 409 and r.json()["code"] == "dialog_showing"
    time.sleep(0.3)
    assert "GOT" not in tmux.capture(idle_pane) and "GOT" not in tmux.capture(dialog_pane)
    assert server.get(id)["status"] == server.get(other)["status"] == "pending"


def test_decision_by_keys_reads_the_key_off_the_screen(server, tmux):
    pane = tmux.dialog_pane(FIXTURES / "screens" / "screen-permission-write.txt")
    id = server.notify(**hook_payload("PermissionRequest-Write") | {"tmux_target": pane,
                                                                    "tmux_socket": tmux.socket_path})["id"]
    r = server.respond(notification_id=id, decision="deny")
    assert r.status_code == 200 and r.json()["delivered_via"] == "keys", r.text
    tmux.wait_for(pane, "GOT:'3'")  # "No" is option 3 on a Write dialog (4 on a Bash one)


def test_pane_gone_is_an_error_and_the_request_stays_pending(server, tmux):
    pane = tmux.echo_pane()
    tmux.echo_pane()  # keep the tmux server alive
    id = idle_in(tmux, server, pane)
    tmux.kill_pane(pane)
    r = server.respond(notification_id=id, response="hello")
    if r.status_code == 409:  # the watcher may have noticed first
        assert r.json()["code"] == "already_resolved" and server.get(id)["resolved_via"] == "pane_gone"
        return
    assert r.status_code == 410 and r.json()["code"] == "pane_gone", r.text
    assert "gone" in r.json()["error"]
    assert server.get(id)["status"] in ("pending", "resolved")


def test_tmux_server_gone_is_an_error(server, tmux):
    id = server.notify(hook_event_name="Notification", notification_type="idle_prompt", session_id="x",
                       tmux_target="%0", tmux_socket="/tmp/piko-no-such-tmux-socket")["id"]
    r = server.respond(notification_id=id, response="hello")
    assert r.status_code in (409, 410), r.text


def test_request_without_a_pane_cannot_be_typed_into(server):
    id = server.notify(**hook_payload("Notification-idle_prompt"))["id"]
    r = server.respond(notification_id=id, response="hello")
    assert r.status_code == 409 and r.json()["code"] == "no_pane"
    assert server.get(id)["status"] == "pending"


def test_control_characters_are_refused_and_nothing_is_typed(server, tmux):
    pane = tmux.echo_pane()
    id = idle_in(tmux, server, pane)
    r = server.respond(notification_id=id, response="hi\x1b[2Jthere\x03")
    assert r.status_code == 400 and "control characters" in r.json()["error"]
    assert server.get(id)["status"] == "pending"
    assert "GOT" not in tmux.capture(pane)


def test_concurrent_answers_deliver_once(server, tmux):
    import concurrent.futures

    pane = tmux.echo_pane()
    id = idle_in(tmux, server, pane)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(lambda i: server.respond(notification_id=id, response=f"answer {i}").status_code,
                                range(4)))
    assert codes == [200, 409, 409, 409]
    tmux.wait_for(pane, "GOT:")
    assert tmux.capture(pane).count("GOT:") == 1
