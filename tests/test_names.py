"""Piko's own names: an agent in the tmux session `piko/<project>/<env>` is project <project>, env <env>,
unless PIKO_PROJECT / PIKO_ENV_NAME name it (real tmux sessions, the real hook, a real server)."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import pytest

from piko import names
from tests.conftest import hook_payload
from tests.support.hook import hook_env

SESSION = "piko/shop/auth"


def wait_for_record(server, test, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for record in server.pending():
            if test(record):
                return record
        time.sleep(0.05)
    raise AssertionError(f"no such request: {server.pending()}")


@pytest.mark.parametrize("session,found", [
    ("piko/shop/auth", ("shop", "auth")), ("piko/shop", None), ("piko/shop/auth/x", None), ("piko//auth", None),
    ("other/shop/auth", None), ("shop", None), (None, None),
])
def test_which_sessions_are_piko_s(session, found):
    assert names.from_session(session) == found


def test_the_server_names_project_and_env_from_the_pane_s_session(server, tmux):
    pane = tmux.echo_pane(name=SESSION)
    assert tmux.cmd("display-message", "-p", "-t", pane, "#{session_name}").strip() == SESSION
    id = server.notify(**hook_payload("Notification-idle_prompt"), tmux_target=pane, tmux_socket=tmux.socket_path,
                       project_name="git-folder-name")["id"]
    record = wait_for_record(server, lambda r: r["id"] == id and r["tmux_session"])
    assert (record["project_name"], record["env_name"], record["tmux_session"]) == ("shop", "auth", SESSION)


def test_names_given_to_the_hook_win(server, tmux):
    pane = tmux.echo_pane(name=SESSION)
    id = server.notify(**hook_payload("Notification-idle_prompt"), tmux_target=pane, tmux_socket=tmux.socket_path,
                       project_name="mine", env_name="given", names_given=["project", "env"])["id"]
    record = wait_for_record(server, lambda r: r["id"] == id and r["tmux_session"])
    assert (record["project_name"], record["env_name"]) == ("mine", "given")


def test_a_session_given_in_the_event_names_it_too(server):
    record = server.notify(**hook_payload("Notification-idle_prompt"), tmux_session=SESSION,
                           project_name="git-folder-name", env_name="given", names_given=["env"])["notification"]
    assert (record["project_name"], record["env_name"]) == ("shop", "given")


@pytest.mark.parametrize("with_pane_var", [True, False], ids=["TMUX_PANE", "no-TMUX_PANE"])
@pytest.mark.parametrize("given,expected", [({}, ("shop", "auth")), ({"PIKO_ENV_NAME": "mine"}, ("shop", "mine")),
                                            ({"PIKO_PROJECT": "/src/other"}, ("other", "auth"))])
def test_the_real_hook_in_a_piko_session(server, tmux, piko_home: Path, tmp_path: Path, with_pane_var, given, expected):
    """`piko cc notify` run by an agent in the pane (with $TMUX_PANE the server asks tmux; without it,
    as one Claude release ran hooks, the hook finds its pane itself)."""
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps(hook_payload("Notification-idle_prompt")))
    hook = f"{shlex.quote(sys.executable)} -m piko cc notify < {shlex.quote(str(payload))}; echo HOOK-DONE; sleep 60"
    unset = "" if with_pane_var else "-u TMUX_PANE "
    env = hook_env(piko_home, server.url, **given)
    tmux.new_session(["sh", "-c", f"env {unset}sh -c {shlex.quote(hook)}"], name=SESSION, env=env)
    record = wait_for_record(server, lambda r: r["tmux_session"] == SESSION)
    assert (record["project_name"], record["env_name"]) == expected
