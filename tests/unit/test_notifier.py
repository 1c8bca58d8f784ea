"""The notifier (server/targets.py) in process, with every wait of the rules set to zero and a stand-in
for apprise's blocking send: what it hands to the sender, and what it does when the sender fails."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading

import pytest
from msgspec.structs import replace

from piko.server.notify_rules import Schedule
from piko.server.store import Inline
from piko.server.targets import Notifier, Targets
from tests.support.records import record

RECORD = record(id="r1", project_name="shop", env_name="auth", tool_name="Bash", summary="make deploy",
                kind="permission", status="pending")


async def notifier(send, pending: set[str]) -> Notifier:
    targets = Targets(Inline(sqlite3.connect(":memory:", check_same_thread=False)))
    one = Notifier(targets, pending.__contains__, send=send, schedule=Schedule(rate=0, gather=0, backoff=0, tries=3))
    await one.add("json://127.0.0.1:9/hook", 0, False)
    return one


async def until(condition, seconds: float = 10) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_sender_that_raises_is_tried_again_then_dropped_with_a_log_line(caplog: pytest.LogCaptureFixture):
    calls: list[str] = []

    def broken(url: str, title: str, body: str) -> bool:
        calls.append(threading.current_thread().name)
        raise OSError("connection refused")

    one = await notifier(broken, {"r1"})
    task = asyncio.create_task(one.run())
    with caplog.at_level(logging.WARNING, logger="piko.targets"):
        one.observe("created", RECORD)
        await until(lambda: "dropped a message" in caplog.text)
    task.cancel()
    assert len(calls) == 3 and all(name.startswith("piko-notify") for name in calls)  # never on the loop
    assert "json://" not in caplog.text and "127.0.0.1" not in caplog.text


async def test_the_sender_gets_the_message_and_an_answered_request_is_left_out():
    sent: list[tuple[str, str, str]] = []
    pending = {"r1", "r2"}

    def send(url: str, title: str, body: str) -> bool:
        sent.append((url, title, body))
        return True

    one = await notifier(send, pending)
    task = asyncio.create_task(one.run())
    one.observe("created", RECORD)
    await until(lambda: len(sent) == 1)
    pending.discard("r2")  # resolved, though its "resolved" change was not seen (yet)
    one.observe("created", replace(RECORD, id="r2"))
    one.observe("created", replace(RECORD, id="r3", project_name="web"))
    pending.add("r3")
    await until(lambda: len(sent) == 2)
    task.cancel()
    assert sent[0] == ("json://127.0.0.1:9/hook", "Claude needs you", "Claude needs you in shop/auth")
    assert sent[1][2] == "Claude needs you in web/auth"
