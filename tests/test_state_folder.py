"""A state folder only its owner can write (issue 10): a folder others can write or own, and a planted
symbolic link, are refused by the real server and the real hook; nothing is followed, written or chmod'ed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from piko import config
from tests.conftest import hook_payload
from tests.support.hook import hook_env, notify
from tests.support.server import ROOT, PikoServer
from tests.test_cc_notify import closed_port_url

NOBODY = 65534
VICTIM_TEXT = "the victim's own file\n"
LINKS = ["token", "server.lock", "notify.log", "state.db", "state.db-wal", "spool"]


def start_refused(home: Path) -> tuple[int, str]:
    """Run `piko server` on `home`; it must stop by itself. Returns (exit status, output)."""
    env = {**os.environ, "PIKO_HOME": str(home)}
    result = subprocess.run([sys.executable, "-m", "piko", "server", "--port", "0"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=20)
    return result.returncode, result.stdout + result.stderr


def snapshot(path: Path) -> tuple:
    """What an attack could change: content (or a folder's entries), mode and owner."""
    st = path.lstat()
    content = sorted(os.listdir(path)) if path.is_dir() else path.read_bytes()
    return content, stat.S_IMODE(st.st_mode), st.st_uid


def victim_for(tmp_path: Path, name: str) -> Path:
    victim = tmp_path / "victim"
    if name == "spool":
        victim.mkdir(mode=0o755)
        (victim / "kept").write_text(VICTIM_TEXT)
    else:
        victim.write_text(VICTIM_TEXT)
        victim.chmod(0o644)
    return victim


@pytest.mark.parametrize("name", LINKS)
def test_server_refuses_a_planted_link(tmp_path: Path, piko_home: Path, name: str):
    piko_home.mkdir(mode=0o700)
    victim = victim_for(tmp_path, name)
    before = snapshot(victim)
    (piko_home / name).symlink_to(victim)
    status, output = start_refused(piko_home)
    assert status != 0
    assert str(piko_home / name) in output and "link" in output, output
    assert "Piko Orchestra http" not in output
    assert snapshot(victim) == before


@pytest.mark.parametrize("name", ["notify.log", "spool", "token"])
def test_the_hook_touches_nothing_through_a_planted_link(tmp_path: Path, piko_home: Path, name: str):
    piko_home.mkdir(mode=0o700)
    victim = victim_for(tmp_path, name)
    before = snapshot(victim)
    (piko_home / name).symlink_to(victim)
    result, _ = notify(hook_payload("PermissionRequest-Bash"), hook_env(piko_home, closed_port_url()))
    assert result.returncode == 0 and result.stdout == b"" and result.stderr == b""
    assert snapshot(victim) == before
    assert (piko_home / name).is_symlink()


def test_a_planted_token_link_is_never_read(tmp_path: Path, piko_home: Path):
    piko_home.mkdir(mode=0o700)
    victim = victim_for(tmp_path, "token")
    (piko_home / "token").symlink_to(victim)
    assert config.read_token(str(piko_home)) is None


def unsafe_homes(tmp_path: Path) -> dict[str, tuple[Path, Path]]:
    """name -> (PIKO_HOME, the folder the refusal must name)."""
    open_parent = tmp_path / "open"
    open_parent.mkdir()
    open_parent.chmod(0o777)  # writable by everyone, no sticky bit
    theirs_parent = tmp_path / "theirs"
    theirs_parent.mkdir(mode=0o755)
    os.chown(theirs_parent, NOBODY, NOBODY)
    theirs = tmp_path / "their-home"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, NOBODY, NOBODY)
    target = tmp_path / "safe"
    target.mkdir(mode=0o700)
    their_link = tmp_path / "their-link"
    their_link.symlink_to(target)
    os.lchown(their_link, NOBODY, NOBODY)  # they could point it at a folder of theirs at any time
    loose = tmp_path / "loose-home"
    loose.mkdir()
    loose.chmod(0o755)
    return {
        "parent writable by all": (open_parent / "home", open_parent),
        "parent owned by another user": (theirs_parent / "home", theirs_parent),
        "home owned by another user": (theirs, theirs),
        "home mode 0755": (loose, loose),
        "a link of another user on the way": (their_link / "home", their_link),
    }


@pytest.mark.parametrize("case", ["parent writable by all", "parent owned by another user",
                                  "home owned by another user", "home mode 0755",
                                  "a link of another user on the way"])
def test_an_unsafe_state_folder_is_refused_not_repaired(tmp_path: Path, case: str):
    if os.getuid() != 0:
        pytest.skip("needs root to make folders of another user")
    home, named = unsafe_homes(tmp_path)[case]
    before = {p: snapshot(p) for p in (home, named) if p.exists()}
    status, output = start_refused(home)
    assert status != 0 and str(named) in output and "refusing to start" in output, output
    result, _ = notify(hook_payload("PermissionRequest-Bash"), hook_env(home, closed_port_url()))
    assert result.returncode == 0 and result.stdout == b"" and result.stderr == b""
    assert {p: snapshot(p) for p in (home, named) if p.exists()} == before  # not made, not chmod'ed
    if case == "home mode 0755":
        assert "chmod 700" in output


def test_another_user_can_plant_a_link_in_an_open_parent(tmp_path: Path):
    """The attack itself, by a real second user: the folder is refused before the link is used."""
    if os.getuid() != 0:
        pytest.skip("needs root to act as another user")
    victim = victim_for(tmp_path, "notify.log")
    before = snapshot(victim)
    with tempfile.TemporaryDirectory(dir="/tmp") as reachable:  # pytest's own folders are 0700
        parent = Path(reachable) / "shared"
        parent.mkdir()
        parent.chmod(0o777)
        Path(reachable).chmod(0o755)
        home = parent / "piko"
        subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "sh", "-c",
                        f"mkdir -m 777 {home} && ln -s {victim} {home}/notify.log && ln -s {victim} {home}/token"],
                       check=True)
        status, output = start_refused(home)
        assert status != 0 and "refusing to start" in output
        result, _ = notify(hook_payload("PermissionRequest-Bash"), hook_env(home, closed_port_url()))
        assert result.returncode == 0 and result.stdout == b"" and result.stderr == b""
        assert sorted(os.listdir(home)) == ["notify.log", "token"]
    assert snapshot(victim) == before


def test_a_sticky_root_folder_like_tmp_is_a_fine_parent(tmp_path: Path):
    if os.getuid() != 0:
        pytest.skip("needs root to own the sticky folder as root")
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    srv = PikoServer(sticky / "home").start()
    try:
        assert srv.pending() == []
        assert stat.S_IMODE((sticky / "home").stat().st_mode) == 0o700
    finally:
        srv.stop()


def test_a_missing_state_folder_is_made_owner_only(piko_home: Path):
    result, _ = notify(hook_payload("Stop"), hook_env(piko_home, closed_port_url()))
    assert result.returncode == 0
    assert stat.S_IMODE(piko_home.stat().st_mode) == 0o700
    for path in [piko_home / "notify.log", *(piko_home / "spool").glob("*.json")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
