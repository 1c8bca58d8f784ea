"""lightos: the hook's stand-ins for os.path (and os.environ) behave as their namesakes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from piko import lightos

PARTS = st.lists(st.sampled_from(["", "/", "//", "a", "b/", "/c", "..", ".", "d/..", "~", "x y", "é"]),
                 min_size=1, max_size=6)


@given(PARTS)
def test_join_split_dirname_basename_normpath_match_os_path(parts: list[str]) -> None:
    assert lightos.join(*parts) == os.path.join(*parts)
    path = "".join(parts)
    assert lightos.split(path) == os.path.split(path)
    assert lightos.dirname(path) == os.path.dirname(path)
    assert lightos.basename(path) == os.path.basename(path)
    assert lightos.normpath(path) == os.path.normpath(path)
    assert lightos.abspath(path) == os.path.abspath(path)


def test_join_takes_path_objects() -> None:
    assert lightos.join(Path("/a"), Path("b"), "c") == "/a/b/c"


def test_realpath_matches_os_path_with_links_loops_and_missing_parts(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "abs").symlink_to(tmp_path / "real")
    (tmp_path / "rel").symlink_to("real/deep")
    (tmp_path / "real" / "up").symlink_to("..")
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    (tmp_path / "chain").symlink_to("abs/up/rel")
    monkeypatch.chdir(tmp_path)
    for p in ["abs", "abs/deep", "rel", "rel/..", "real/up/abs", "loop1", "loop1/x", "chain", "chain/../x",
              "missing/abs", "abs/missing/../deep", ".", "..", "", "/", "//x", str(tmp_path / "abs" / "up")]:
        assert lightos.realpath(p) == os.path.realpath(p), p


def test_exists_lexists_and_makedirs(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert not lightos.exists(str(tmp_path / "dangling")) and lightos.lexists(str(tmp_path / "dangling"))
    assert not lightos.exists("bad\0path") and not lightos.lexists("bad\0path")
    deep = tmp_path / "a" / "b" / "c"
    lightos.makedirs(str(deep), 0o700)
    lightos.makedirs(str(deep) + "/", 0o700)  # there already: fine, as exist_ok
    assert deep.is_dir() and (deep.stat().st_mode & 0o777) == 0o700
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError):
        lightos.makedirs(str(tmp_path / "file"))
    with pytest.raises(NotADirectoryError):
        lightos.makedirs(str(tmp_path / "file" / "below"))


def test_expanduser_matches_os_path(monkeypatch) -> None:
    monkeypatch.setenv("HOME", "/home/someone/")
    for p in ["~", "~/x", "~root/y", "~nosuchuser-piko/z", "a/~", "/~"]:
        assert lightos.expanduser(p) == os.path.expanduser(p), p
    monkeypatch.delenv("HOME")
    assert lightos.expanduser("~/x") == os.path.expanduser("~/x")


def test_the_environment_is_os_environ_once_os_is_loaded(monkeypatch) -> None:
    monkeypatch.setenv("PIKO_LIGHTOS_PROBE", "changed through os.environ")
    assert lightos.getenv("PIKO_LIGHTOS_PROBE") == "changed through os.environ"
    assert lightos.environ()["PIKO_LIGHTOS_PROBE"] == "changed through os.environ"
    assert lightos.getenv("PIKO_LIGHTOS_NOT_SET") is None


def test_without_os_the_environment_is_decoded_as_os_decodes_it() -> None:
    code = ("import sys; from piko import lightos; assert 'os' not in sys.modules; "
            "print(ascii((lightos.getenv('PROBE'), lightos.environ()['PROBE'], lightos.getenv('NONE'))))"
            "; assert 'os' not in sys.modules")
    env = {"PROBE": "caf\xe9 \udcff", "PYTHONPATH": str(Path(lightos.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-S", "-c", code], env=env, capture_output=True, text=True,
                         errors="surrogateescape")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ascii(("caf\xe9 \udcff", "caf\xe9 \udcff", None))
