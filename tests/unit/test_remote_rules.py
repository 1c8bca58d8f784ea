"""The rules of remote access, in process: which certificate and address `piko server --remote` uses (a
fake `tailscale` on PATH stands in for a tailnet), the private key's checks, refusing plain HTTP beyond
loopback, pairing codes and device sessions, who may list and revoke devices, and `answered_by`."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import httpx
import pytest

from piko.server import tls
from piko.server.app import create_app
from piko.server.guard import Access
from piko.server.main import StartupError, https
from piko.server.sessions import MAX_PAIRING_SECONDS, Sessions
from piko.server.store import Inline, Store
from tests.support.certs import fake_tailscale, self_signed
from tests.unit.conftest import PORT, TOKEN, FakeClock, FakePane, screen


@pytest.fixture
def certs(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path / "certs", ("box.tail1234.ts.net",))


def home_of(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return home


def test_tailscale_gives_the_address_name_and_certificate(tmp_path, certs, monkeypatch):
    for k, v in fake_tailscale(tmp_path / "bin", *certs).items():
        monkeypatch.setenv(k, v)
    home = home_of(tmp_path)
    got = tls.plan(True, None, None, home)
    assert got == tls.Tls(home / "tls" / "tailscale.crt", home / "tls" / "tailscale.key",
                          address="127.0.0.1", name="box.tail1234.ts.net")
    calls = (tmp_path / "bin" / "calls.log").read_text().splitlines()
    assert calls == ["ip -4", "status --json",
                     f"cert --cert-file {home}/tls/tailscale.crt --key-file {home}/tls/tailscale.key "
                     "box.tail1234.ts.net"]
    assert (home / "tls").stat().st_mode & 0o777 == 0o700
    tls.context(got)  # the certificate tailscale wrote loads


def test_a_failing_tailscale_is_a_sentence(tmp_path, monkeypatch):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    (bin_ / "tailscale").write_text("#!/bin/sh\necho 'not logged in' >&2\nexit 1\n")
    (bin_ / "tailscale").chmod(0o700)
    monkeypatch.setenv("PATH", f"{bin_}:{os.environ['PATH']}")
    with pytest.raises(tls.TlsError, match="`tailscale ip -4` failed: not logged in"):
        tls.plan(True, None, None, home_of(tmp_path))


def test_remote_without_a_certificate_or_tailscale_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no tailscale here
    with pytest.raises(StartupError, match="--remote serves HTTPS only"):
        https(True, None, None, home_of(tmp_path), None)


def test_plain_http_only_on_loopback(tmp_path, certs):
    home = home_of(tmp_path)
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        with pytest.raises(StartupError, match=f"refusing to listen on {host} without TLS"):
            https(False, None, None, home, host)
    assert https(False, None, None, home, None)[:2] == ("127.0.0.1", None)
    assert https(False, None, None, home, "::1")[:2] == ("::1", None)
    cert, key = certs
    host, got, ctx = https(False, cert, key, home, "0.0.0.0")
    assert host == "0.0.0.0" and got is not None and ctx is not None
    assert https(True, cert, key, home, None)[0] == "0.0.0.0"  # --remote with a certificate: every address


def test_the_certificates_name_for_links(tmp_path):
    """The host other devices reach: the certificate's first DNS name that is not loopback or a wildcard,
    else its first IPv4 address that is not loopback; None when it names only this machine."""
    def name(names: tuple[str, ...], ips: tuple[str, ...] = ("127.0.0.1",)) -> str | None:
        folder = tmp_path / f"c{len(list(tmp_path.iterdir()))}"
        return tls.certificate_name(self_signed(folder, names, ips)[0])

    assert name(("box.tail1234.ts.net",)) == "box.tail1234.ts.net"
    assert name(("localhost", "*.example.com", "Laptop.Example.")) == "laptop.example"
    assert name(("localhost",), ("127.0.0.1", "::1", "192.168.1.20")) == "192.168.1.20"
    assert name(("localhost", "app.localhost"), ("127.0.0.1", "fd7a::1")) is None
    not_a_cert = tmp_path / "junk.pem"
    not_a_cert.write_text("not a certificate")
    assert tls.certificate_name(not_a_cert) is None and tls.certificate_name(tmp_path / "missing.pem") is None


def test_a_certificate_needs_its_key(tmp_path, certs):
    with pytest.raises(StartupError, match="give both --cert FILE and --key FILE"):
        https(False, certs[0], None, home_of(tmp_path), None)


def test_the_private_key_must_be_owner_only(tmp_path, certs):
    cert, key = certs
    key.chmod(0o640)
    with pytest.raises(StartupError, match=r"open to others \(mode 640\).*chmod 600"):
        https(False, cert, key, home_of(tmp_path), None)
    key.chmod(0o600)
    os.link(key, tmp_path / "another-name.pem")
    with pytest.raises(StartupError, match="other hard links"):
        https(False, cert, key, tmp_path, None)
    (tmp_path / "another-name.pem").unlink()
    link = tmp_path / "link.pem"
    link.symlink_to(key)  # a link the person made to their own key: its target is what is checked
    assert https(False, cert, link, tmp_path, None)[1] == tls.Tls(cert, key)


def test_a_key_that_is_not_the_certificates_is_a_sentence(tmp_path, certs):
    _, other_key = self_signed(tmp_path / "other")
    with pytest.raises(StartupError, match="cannot use the certificate"):
        https(False, certs[0], other_key, tmp_path, None)


def test_access_over_https():
    access = Access.for_server(TOKEN, "100.64.0.7", 8443, ("laptop.example",), tls=True,
                               public_name="box.tail1234.ts.net")
    assert access.base_url == "https://box.tail1234.ts.net:8443"  # the name the certificate is for
    assert access.remote_url == "https://box.tail1234.ts.net:8443"
    assert "https://box.tail1234.ts.net:8443" in access.origins
    assert "https://laptop.example:8443" in access.origins
    assert not any(o.startswith("http://") for o in access.origins)  # the listener speaks only TLS
    plain = Access.for_server(TOKEN, "127.0.0.1", 8443)
    assert plain.origins == {f"http://{h}" for h in plain.hosts} and plain.remote_url == plain.base_url


# ---- pairing codes and device sessions -----------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_pairing_makes_a_named_device_session_once():
    clock = Clock()
    sessions = Sessions(Inline(sqlite3.connect(":memory:")), TOKEN, clock=clock)
    code, expires = sessions.new_login_code(device="Pixel 8\u202e\x07", seconds=60)
    assert expires == clock.now + 60
    credential, session = await sessions.redeem(code, "Mozilla/5.0 (Linux; Android 15)") or ("", None)
    assert session is not None and (session.kind, session.name) == ("device", "Pixel 8")
    assert await sessions.redeem(code) is None  # once
    assert sessions.lookup(credential) == session
    assert (await sessions.live())[0].public()["kind"] == "device"
    login, _ = sessions.new_login_code()
    _, browser = await sessions.redeem(login) or ("", None)
    assert browser is not None and (browser.kind, browser.public()["name"]) == ("browser", None)


async def test_a_pairing_lasts_minutes_at_most():
    clock = Clock()
    sessions = Sessions(Inline(sqlite3.connect(":memory:")), TOKEN, clock=clock)
    code, expires = sessions.new_login_code(device="tablet", seconds=10 * MAX_PAIRING_SECONDS)
    assert expires == clock.now + MAX_PAIRING_SECONDS
    clock.now = expires
    assert await sessions.redeem(code) is None


async def test_a_sessions_table_from_before_devices_gets_their_columns():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE browser_sessions (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL UNIQUE, token_tag "
               "TEXT NOT NULL, created_at REAL NOT NULL, last_seen_at REAL NOT NULL, expires_at REAL NOT NULL, "
               "user_agent TEXT NOT NULL)")
    sessions = Sessions(Inline(db), TOKEN, clock=Clock())
    db.execute("INSERT INTO browser_sessions (id, secret_hash, token_tag, created_at, last_seen_at, expires_at,"
               " user_agent) VALUES ('old', 'h', ?, 1.8e9, 1.8e9, 1.9e9, 'ua')", (sessions.tag,))
    assert [(s.id, s.kind, s.name) for s in await sessions.live()] == [("old", "browser", "")]


# ---- the API: pairing, devices, answered_by -------------------------------------------------------

@pytest.fixture
def remote_app(tmp_path: Path, pane: FakePane):
    store = Store(tmp_path / "state.db")
    access = Access.for_server(TOKEN, "127.0.0.1", PORT, ("phone-host.example",), tls=True)
    yield create_app(store, access, panes=pane, clock=FakeClock())
    store.close()


def client(app, credential: str = TOKEN) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"https://127.0.0.1:{PORT}",
                             headers={"authorization": f"Bearer {credential}"})


async def paired(app, name: str = "Pixel 8") -> tuple[str, dict]:
    r = await client(app).post("/api/auth/pairings", json={"name": name, "seconds": 90})
    assert r.status_code == 200, r.text
    link = r.json()
    assert link["url"].startswith(f"https://phone-host.example:{PORT}/login#code=") and link["seconds"] == 90
    r = await client(app, "").post("/api/auth/login", json={"code": link["url"].split("#code=")[1]})
    assert r.status_code == 200, r.text
    return r.json()["session"], r.json()


async def test_pairing_needs_https_and_the_token(api, remote_app):
    r = await api.post("/api/auth/pairings", json={})
    assert r.status_code == 409 and r.json()["code"] == "not_remote"
    credential, made = await paired(remote_app)
    assert (made["kind"], made["name"]) == ("device", "Pixel 8")
    r = await client(remote_app, credential).post("/api/auth/pairings", json={})
    assert r.status_code == 403 and r.json()["code"] == "needs_token"  # a device cannot mint more devices
    for bad in ({"seconds": 0}, {"seconds": MAX_PAIRING_SECONDS + 1}, {"seconds": "60"}, {"name": 7}, [1]):
        r = await client(remote_app).post("/api/auth/pairings", json=bad)
        assert r.status_code == 400, (bad, r.text)


async def test_a_browser_lists_devices_and_revokes_one_but_not_all(remote_app):
    phone, made = await paired(remote_app)
    laptop, _ = await paired(remote_app, "laptop")
    r = await client(remote_app, laptop).get("/api/auth/devices")
    assert r.status_code == 200
    listed = {d["name"]: d for d in r.json()["devices"]}
    assert listed["laptop"]["current"] and not listed["Pixel 8"]["current"]
    assert (await client(remote_app, laptop).delete("/api/auth/sessions")).status_code == 403
    r = await client(remote_app, laptop).delete(f"/api/auth/devices/{made['id']}")
    assert r.status_code == 200 and r.json()["revoked"] == [made["id"]]
    assert (await client(remote_app, phone).get("/api/auth/devices")).status_code == 401
    assert (await client(remote_app, laptop).delete(f"/api/auth/devices/{made['id']}")).status_code == 404


@pytest.mark.parametrize("pane", [FakePane(screen("permission-bash"))])
async def test_every_answer_records_who_gave_it(remote_app, pane):
    phone, made = await paired(remote_app)
    answered = []
    for n, credential in enumerate((phone, TOKEN)):
        # A session of its own each: a permission Notification just after Piko answered one of that
        # session's dialogs is that dialog told late, and is ignored (server/lifecycle.py).
        r = await client(remote_app).post("/api/orchestra/notify", json={
            "hook_event_name": "Notification", "notification_type": "permission_prompt", "session_id": f"s{n}",
            "message": "Claude needs your permission to use Bash", "tmux_target": "%1"})
        id = r.json()["id"]
        r = await client(remote_app, credential).post("/api/orchestra/respond",
                                                      json={"notification_id": id, "decision": "allow"})
        assert r.status_code == 200, r.text
        answered.append(r.json()["notification"]["answered_by"])
        pane.screen = screen("permission-bash")
        assert (await client(remote_app).get(f"/api/orchestra/notifications/{id}")).json()["answered_by"] == \
            answered[-1]
    assert answered == [{"kind": "device", "id": made["id"], "name": "Pixel 8"},
                        {"kind": "cli", "id": None, "name": None}]
