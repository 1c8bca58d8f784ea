"""The notify-target routes in process (server/targets.py): what they refuse, what they show, who may
call them."""

from __future__ import annotations

import asyncio

import httpx
import msgspec

from piko import models
from piko.server.app import App
from piko.server.targets import MAX_TARGETS
from tests.unit.conftest import PORT

SECRET_URL = "json://someone:hunter2-secret@127.0.0.1:9/hook"


async def test_bad_targets_are_refused_with_a_sentence_and_nothing_is_added(api: httpx.AsyncClient) -> None:
    for body, words in [({"url": "nope://x"}, "apprise does not understand this URL"),
                        ({"url": ""}, "url must be an apprise URL"),
                        ({"url": SECRET_URL, "delay": -1}, "delay must be a number of seconds"),
                        ({"url": SECRET_URL, "delay": "5"}, "delay must be a number of seconds"),
                        ({"url": SECRET_URL, "content": "yes"}, "content must be true or false"),
                        ({"url": SECRET_URL, "colour": "red"}, "unknown field(s): colour"),
                        (["json://x"], "send {")]:
        r = await api.post("/api/notify-targets", json=body)
        assert r.status_code == 400 and words in r.json()["error"], (body, r.text)
        assert "hunter2" not in r.text
    assert (await api.get("/api/notify-targets")).json() == {"targets": []}


async def test_a_target_is_shown_masked_and_can_be_removed(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/notify-targets", json={"url": SECRET_URL, "delay": 30, "content": True})
    assert r.status_code == 201, r.text
    target = r.json()["target"]
    msgspec.convert(target, models.NotifyTarget)  # the wire matches the model
    assert target["delay"] == 30 and target["content"] is True
    assert target["url"].startswith("json://someone:") and "hunter2" not in r.text
    listed = (await api.get("/api/notify-targets")).json()["targets"]
    assert [t["id"] for t in listed] == [target["id"]] and "hunter2" not in str(listed)
    assert (await api.delete(f"/api/notify-targets/{target['id']}")).json() == {"ok": True, "removed": target["id"]}
    r = await api.delete(f"/api/notify-targets/{target['id']}")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert (await api.get("/api/notify-targets")).json() == {"targets": []}


async def test_a_browser_session_cannot_read_or_change_targets(app: App, api: httpx.AsyncClient) -> None:
    await api.post("/api/notify-targets", json={"url": SECRET_URL})
    code, _ = app.sessions.new_login_code()
    credential = (await api.post("/api/auth/login", json={"code": code})).json()["session"]
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://127.0.0.1:{PORT}",
                                headers={"authorization": f"Bearer {credential}"})
    assert (await browser.get("/api/orchestra/notifications")).status_code == 200  # a working session
    for method, path in [("GET", "/api/notify-targets"), ("POST", "/api/notify-targets")]:
        r = await browser.request(method, path, json={"url": "json://127.0.0.1:9/x"})
        assert r.status_code == 403 and r.json()["code"] == "needs_token" and "hunter2" not in r.text
    assert len((await api.get("/api/notify-targets")).json()["targets"]) == 1


async def test_the_last_place_goes_to_one_of_two_adds_at_once(api: httpx.AsyncClient) -> None:
    for i in range(MAX_TARGETS - 1):
        assert (await api.post("/api/notify-targets", json={"url": f"json://127.0.0.1:9/{i}"})).status_code == 201
    both = await asyncio.gather(*(api.post("/api/notify-targets", json={"url": f"json://127.0.0.1:9/last{i}"})
                                  for i in range(2)))
    assert sorted(r.status_code for r in both) == [201, 409]
    refused = next(r for r in both if r.status_code == 409)
    assert refused.json()["code"] == "too_many" and "remove one first" in refused.json()["error"]
    assert len((await api.get("/api/notify-targets")).json()["targets"]) == MAX_TARGETS
