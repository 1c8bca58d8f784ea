"""What a push says (server/push.py): who needs you, and the tool and command only when opted in."""

from __future__ import annotations

import pytest

from piko.server.errors import ApiRefusal
from piko.server.push import check_subscription, payload
from tests.support.records import record

PERMISSION = record(id="r1", kind="permission", project_name=None, cwd="/home/dev/shop/", tool_name="Bash",
                    summary="rm -rf build " + "x" * 400, options=[{"key": "1", "label": "Yes", "decision": "allow"}])


def test_without_opting_in_a_push_names_only_the_project():
    message = payload(PERMISSION, show_content=False)
    assert message["title"] == "Claude needs you in shop" and message["body"] == ""
    assert "rm -rf" not in str(message) and "Bash" not in str(message)


def test_opted_in_it_carries_the_tool_and_command_cut_to_fit_a_push():
    body = payload(PERMISSION, show_content=True)["body"]
    assert body.startswith("Bash: rm -rf build ") and len(body) == 300


def test_allow_and_deny_only_where_a_decision_can_be_given():
    assert payload(PERMISSION, False)["actions"] == ["allow", "deny", "open"]
    idle = record(id="r2", kind="idle", tmux_session="api-fix", options=[])
    assert payload(idle, False)["actions"] == ["open"]
    assert payload(idle, False)["title"] == "Claude needs you in api-fix"


def test_plain_http_endpoints_are_refused(monkeypatch):
    monkeypatch.delenv("PIKO_PUSH_LOOPBACK_HTTP", raising=False)
    body = {"subscription": {"endpoint": "http://127.0.0.1:9/notify/x", "keys": {"p256dh": "a", "auth": "b"}}}
    with pytest.raises(ApiRefusal, match="https"):
        check_subscription(body)
    body["subscription"]["endpoint"] = "https://fcm.googleapis.com/fcm/send/x"
    assert check_subscription(body) == ("https://fcm.googleapis.com/fcm/send/x", "a", "b", 0, False)
