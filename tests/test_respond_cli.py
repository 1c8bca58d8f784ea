"""`piko respond`: driven directly and interactively in a real tmux pane, delivering into another real pane."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, hook_payload
from tests.support.hook import hook_env, waiting_hook
from tests.support.server import PikoServer

PIKO_SCRIPT = Path(sys.executable).parent / "piko"


def env_for(server: PikoServer | None, home: Path, url: str | None = None) -> dict[str, str]:
    return hook_env(home, url or (server.url if server else ""))


def respond(*args: str, env: dict[str, str], script: bool = False) -> subprocess.CompletedProcess:
    command = [str(PIKO_SCRIPT)] if script else [sys.executable, "-m", "piko"]
    return subprocess.run([*command, "respond", *args], env=env, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def idle_in(server: PikoServer, tmux, pane: str, session: str = "s-idle", **fields) -> dict:
    """An idle request from the agent in `pane`."""
    return server.notify(**{**hook_payload("Notification-idle_prompt"), "session_id": session,
                            "tmux_target": pane, "tmux_socket": f"{tmux.socket_path},1,0",
                            "project_name": "shop", "env_name": "feat-x", **fields})


# ---- direct --------------------------------------------------------------------------------------------

def test_list_and_json(server: PikoServer, piko_home: Path):
    env = env_for(server, piko_home)
    empty = respond("--list", env=env)
    assert empty.returncode == 0 and "Nothing is waiting" in empty.stdout
    first = server.notify(**hook_payload("PermissionRequest-Bash"), project_name="shop", env_name="feat-x")
    second = server.notify(**hook_payload("Notification-idle_prompt") | {"session_id": "s2"}, project_name="shop")

    listed = respond("--list", env=env, script=True)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(first["id"]) and lines[1].startswith(second["id"])
    assert "shop/feat-x" in lines[0] and "permission" in lines[0] and "touch /tmp/build-marker" in lines[0]
    assert "idle" in lines[1] and "Claude is waiting for your input" in lines[1]

    as_json = respond("--list", "--json", env=env)
    assert as_json.returncode == 0
    assert [n["id"] for n in json.loads(as_json.stdout)["notifications"]] == [first["id"], second["id"]]


def test_text_by_id_prefix_is_typed_into_the_agents_pane(server: PikoServer, piko_home: Path, tmux):
    pane = tmux.echo_pane()
    request = idle_in(server, tmux, pane)
    result = respond(request["id"][:4], "run", "the", "tests", "--", "-v", env=env_for(server, piko_home),
                     script=True)
    assert result.returncode == 0, result.stderr
    assert request["id"] in result.stdout and "shop/feat-x" in result.stdout
    tmux.wait_for(pane, r"GOT:'run the tests -v'")
    record = server.get(request["id"])
    assert record["status"] == "resolved" and record["response"] == "run the tests -v"


def test_option_presses_the_key(server: PikoServer, piko_home: Path, tmux):
    pane = tmux.dialog_pane(FIXTURES / "screens" / "screen-askuserquestion.txt")
    request = server.notify(**hook_payload("PermissionRequest-AskUserQuestion")
                            | {"tmux_target": pane, "tmux_socket": tmux.socket_path})["notification"]
    result = respond(request["id"][:6], "--option", "2", env=env_for(server, piko_home))
    assert result.returncode == 0, result.stderr
    tmux.wait_for(pane, r"GOT:'2'")
    assert server.get(request["id"])["response_type"] == "option"


def test_option_on_an_idle_prompt_is_refused(server: PikoServer, piko_home: Path, tmux):
    pane = tmux.echo_pane()
    request = idle_in(server, tmux, pane)
    result = respond(request["id"], "--option", "2", env=env_for(server, piko_home))
    assert result.returncode == 1 and "no menu" in result.stderr
    assert server.get(request["id"])["status"] == "pending"


def hook_answer(hook: subprocess.Popen) -> dict:
    try:
        assert hook.wait(timeout=5) == 0
        return json.loads(hook.stdout.read())["hookSpecificOutput"]["decision"]
    finally:
        if hook.poll() is None:
            hook.kill()


def test_deny_with_message_reaches_the_waiting_hook(server: PikoServer, piko_home: Path):
    hook, request = waiting_hook(server, piko_home)
    result = respond(request["id"], "--deny", "--message", "use make instead", env=env_for(server, piko_home))
    assert result.returncode == 0, result.stderr
    assert "through the waiting hook" in result.stdout
    assert hook_answer(hook) == {"behavior": "deny", "message": "use make instead"}


def test_picker_answers_a_question_with_one_of_its_options(server: PikoServer, piko_home: Path, tmux):
    hook, _request = waiting_hook(server, piko_home, "PermissionRequest-AskUserQuestion")
    picker = run_in_pane(tmux, server, piko_home)
    tmux.wait_for(picker, r"Which request\?")
    tmux.cmd("send-keys", "-t", picker, "Enter")
    tmux.wait_for(picker, r"Which database should the app use\?(.|\n)*SQLite")
    for key in ("Down", "Enter"):
        tmux.cmd("send-keys", "-t", picker, key)
    tmux.wait_for(picker, r"EXIT:0")
    decision = hook_answer(hook)
    assert decision["behavior"] == "allow"
    assert decision["updatedInput"]["answers"] == {"Which database should the app use?": "SQLite"}


def test_answer_a_question_directly(server: PikoServer, piko_home: Path):
    hook, request = waiting_hook(server, piko_home, "PermissionRequest-AskUserQuestion")
    wrong = respond(request["id"], "--allow", env=env_for(server, piko_home))
    assert wrong.returncode == 1 and "question" in wrong.stderr
    result = respond(request["id"], "--answer", "PostgreSQL", env=env_for(server, piko_home))
    assert result.returncode == 0, result.stderr
    assert hook_answer(hook)["updatedInput"]["answers"] == {"Which database should the app use?": "PostgreSQL"}


def test_clear_errors(server: PikoServer, piko_home: Path, tmux, tmp_path: Path):
    env = env_for(server, piko_home)

    unknown = respond("0123456789ab", "hi", env=env)
    assert unknown.returncode == 1 and "no request with an id starting with '0123456789ab'" in unknown.stderr

    ids = [server.notify(**hook_payload("Notification-idle_prompt") | {"session_id": f"s{i}"})["id"]
           for i in range(17)]  # 17 ids, 16 first digits: two share one
    shared = next(i[0] for i in ids if sum(j[0] == i[0] for j in ids) > 1)
    ambiguous = respond(shared, "hi", env=env)
    assert ambiguous.returncode == 1 and "ambiguous" in ambiguous.stderr

    server.notify(hook_event_name="Stop", session_id="s0")
    answered = respond(ids[0][:8], "too late", env=env)
    assert answered.returncode == 1
    assert f"request {ids[0]} was already resolved" in answered.stderr and "nothing was sent" in answered.stderr
    assert "moved on (Stop)" in answered.stderr

    no_pane = respond(ids[1], "hi", env=env)
    assert no_pane.returncode == 1 and "no pane to type into" in no_pane.stderr

    both = respond(ids[1], "hi", "--option", "1", env=env)
    assert both.returncode == 2 and "one answer" in both.stderr

    bad_token_home = tmp_path / "elsewhere"
    bad_token_home.mkdir()
    (bad_token_home / "token").write_text("wrong\n")
    refused = respond("--list", env=env_for(server, bad_token_home))  # over TCP: no proof, nothing sent
    assert refused.returncode == 1
    assert "did not prove it is ours" in refused.stderr and "nothing was sent" in refused.stderr

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        down_url = f"http://127.0.0.1:{s.getsockname()[1]}"
    down = respond(ids[1], "hi", env=env_for(None, piko_home, down_url))
    assert down.returncode == 1 and "cannot reach the Orchestra server" in down.stderr
    assert down.stdout == ""


def test_no_terminal_and_no_arguments_prints_the_list_and_a_hint(server: PikoServer, piko_home: Path):
    request = server.notify(**hook_payload("Notification-idle_prompt"))
    result = respond(env=env_for(server, piko_home))
    assert result.returncode == 2
    assert request["id"] in result.stdout and "piko respond ID TEXT" in result.stderr


# ---- interactive, in a real terminal -------------------------------------------------------------------

def run_in_pane(tmux, server: PikoServer, home: Path, *args: str) -> str:
    """`piko respond ARGS` in its own tmux pane; the pane then shows EXIT:<status>."""
    command = " ".join(shlex.quote(a) for a in (str(PIKO_SCRIPT), "respond", *args))
    return tmux.new_session(["sh", "-c", f"{command}; echo EXIT:$?; sleep 60"], width=160, height=30,
                            env={"PIKO_HOME": str(home), "PIKO_URL": server.url})


def test_picker_answers_an_idle_agent_in_another_pane(server: PikoServer, piko_home: Path, tmux):
    agent = tmux.echo_pane()
    server.notify(**hook_payload("PermissionRequest-Bash"), project_name="billing", env_name="main")
    request = idle_in(server, tmux, agent)

    picker = run_in_pane(tmux, server, piko_home)
    screen = tmux.wait_for(picker, r"Which request\?")
    assert "billing/main · permission · touch /tmp/build-marker" in screen
    assert "shop/feat-x · idle · Claude is waiting for your input" in screen
    tmux.cmd("send-keys", "-t", picker, "Down")
    tmux.cmd("send-keys", "-t", picker, "Enter")
    tmux.wait_for(picker, r"Answer:")
    tmux.cmd("send-keys", "-t", picker, "-l", "ship it, then write the changelog")
    tmux.cmd("send-keys", "-t", picker, "Enter")

    tmux.wait_for(agent, r"GOT:'ship it, then write the changelog'")
    tmux.wait_for(picker, r"EXIT:0")
    assert server.get(request["id"])["status"] == "resolved"


def test_picker_denies_a_permission_with_a_message(server: PikoServer, piko_home: Path, tmux):
    hook, request = waiting_hook(server, piko_home)
    picker = run_in_pane(tmux, server, piko_home, request["id"][:6])  # the id given, the answer picked
    tmux.wait_for(picker, r"Yes, and don't ask again")
    for key in ("Down", "Down", "Enter"):
        tmux.cmd("send-keys", "-t", picker, key)
    tmux.wait_for(picker, r"Message for Claude")
    tmux.cmd("send-keys", "-t", picker, "-l", "not in /tmp")
    tmux.cmd("send-keys", "-t", picker, "Enter")

    tmux.wait_for(picker, r"EXIT:0")
    assert hook_answer(hook) == {"behavior": "deny", "message": "not in /tmp"}
    assert server.get(request["id"])["response"] == "deny: not in /tmp"


def test_ctrl_c_in_the_picker_exits_130_quietly(server: PikoServer, piko_home: Path, tmux):
    server.notify(**hook_payload("Notification-idle_prompt"))
    picker = run_in_pane(tmux, server, piko_home)
    tmux.wait_for(picker, r"Which request\?")
    tmux.cmd("send-keys", "-t", picker, "C-c")
    screen = tmux.wait_for(picker, r"EXIT:130")
    assert "Traceback" not in screen and "Aborted" not in screen
