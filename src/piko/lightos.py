"""The few `os` and `os.path` functions the hook's modules need, over the built-in `posix` module.

The hook (`piko cc notify`) runs as `python -I -S`, where `os` is not loaded yet; importing it (with
`_collections_abc`, `stat`, `posixpath`, `genericpath`) costs 0.6-0.9 ms, a third of what the hook may
spend beyond a bare interpreter (docs/benchmarks.md, "Hook cost by install"). So the modules on its path
(config, client, channel, spool, cli/notify*) take `posix` and these functions instead. They behave as
their `os.path` namesakes for `str` paths on POSIX (tests/unit/test_lightos.py compares them); the
server, which loads `os` anyway, shares them.
"""

from __future__ import annotations

import posix
import sys

TYPE_CHECKING = False  # not `from typing import ...`: typing imports re, which the hook cannot afford
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from os import PathLike

SEP = "/"
S_IFMT = 0o170000
S_IFDIR, S_IFREG, S_IFLNK, S_IFSOCK = 0o040000, 0o100000, 0o120000, 0o140000


def S_ISDIR(mode: int) -> bool:
    return mode & S_IFMT == S_IFDIR


def S_ISREG(mode: int) -> bool:
    return mode & S_IFMT == S_IFREG


def S_ISLNK(mode: int) -> bool:
    return mode & S_IFMT == S_IFLNK


def S_ISSOCK(mode: int) -> bool:
    return mode & S_IFMT == S_IFSOCK


# ---- the environment --------------------------------------------------------------------------------

def environ() -> Mapping[str, str]:
    """The environment as `os.environ` has it: `os.environ` itself once `os` is loaded (it may have been
    changed through it), else `posix.environ` decoded as `os` decodes it."""
    os = sys.modules.get("os")
    if os is not None:
        live: Mapping[str, str] = os.environ
        return live
    return {k.decode("utf-8", "surrogateescape"): v.decode("utf-8", "surrogateescape")
            for k, v in posix.environ.items()}


def getenv(name: str) -> str | None:
    """One variable of the environment (as `os.environ.get`)."""
    os = sys.modules.get("os")
    if os is not None:
        value: str | None = os.environ.get(name)
        return value
    raw = posix.environ.get(name.encode("utf-8", "surrogateescape"))
    return None if raw is None else raw.decode("utf-8", "surrogateescape")


# ---- paths (posixpath's rules, for str) -------------------------------------------------------------

def join(a: str | PathLike[str], *parts: str | PathLike[str]) -> str:
    path = posix.fspath(a)
    for part in parts:
        b = posix.fspath(part)
        if b.startswith(SEP):
            path = b
        elif not path or path.endswith(SEP):
            path += b
        else:
            path += SEP + b
    return path


def split(p: str) -> tuple[str, str]:
    i = p.rfind(SEP) + 1
    head, tail = p[:i], p[i:]
    if head and head != SEP * len(head):
        head = head.rstrip(SEP)
    return head, tail


def dirname(p: str) -> str:
    return split(p)[0]


def basename(p: str) -> str:
    return p[p.rfind(SEP) + 1:]


def normpath(p: str) -> str:
    return posix._path_normpath(p) or "."  # type: ignore[attr-defined]  # CPython 3.11+, as posixpath uses


def abspath(p: str) -> str:
    if not p.startswith(SEP):
        p = join(posix.getcwd(), p)
    return normpath(p)


def exists(p: str) -> bool:
    return _found(posix.stat, p)


def lexists(p: str) -> bool:
    """Is there an entry at `p`, even a link that leads nowhere?"""
    return _found(posix.lstat, p)


def _found(stat: Callable[[str], object], p: str) -> bool:
    try:
        stat(p)
    except (OSError, ValueError):
        return False
    return True


def expanduser(p: str) -> str:
    """`~` and `~user` at the start of `p` (as os.path.expanduser)."""
    if not p.startswith("~"):
        return p
    i = p.find(SEP, 1)
    if i < 0:
        i = len(p)
    if i == 1:
        home = getenv("HOME")
        if home is None:
            import pwd

            try:
                home = pwd.getpwuid(posix.getuid()).pw_dir
            except KeyError:
                return p
    else:
        import pwd

        try:
            home = pwd.getpwnam(p[1:i]).pw_dir
        except KeyError:
            return p
    return (home.rstrip(SEP) + p[i:]) or SEP


def realpath(p: str) -> str:
    """`p` with every symbolic link resolved (as os.path.realpath, not strict: a missing part is kept)."""
    path, _ = _join_real("", p, {})
    return abspath(path)


def _join_real(path: str, rest: str, seen: dict[str, str | None]) -> tuple[str, bool]:
    # CPython's posixpath._joinrealpath (3.11), for str and strict=False.
    if rest.startswith(SEP):
        rest = rest[1:]
        path = SEP
    while rest:
        name, _, rest = rest.partition(SEP)
        if not name or name == ".":
            continue
        if name == "..":
            if path:
                path, name = split(path)
                if name == "..":
                    path = join(path, "..", "..")
            else:
                path = ".."
            continue
        newpath = join(path, name)
        try:
            is_link = S_ISLNK(posix.lstat(newpath).st_mode)
        except OSError:
            is_link = False
        if not is_link:
            path = newpath
            continue
        if newpath in seen:
            known = seen[newpath]
            if known is not None:
                path = known
                continue
            return join(newpath, rest), False  # a loop: keep the rest as it is
        seen[newpath] = None
        path, ok = _join_real(path, posix.readlink(newpath), seen)
        if not ok:
            return join(path, rest), False
        seen[newpath] = path
    return path, True


def makedirs(path: str, mode: int = 0o777) -> None:
    """Make `path` and any missing folder above it, those with the default mode (as os.makedirs with
    exist_ok: an existing folder is fine)."""
    head, tail = split(path)
    if not tail:
        head, tail = split(head)
    if head and tail and not exists(head):
        makedirs(head)
    try:
        posix.mkdir(path, mode)
    except OSError:
        if not _is_dir(path):
            raise


def _is_dir(p: str) -> bool:
    try:
        return S_ISDIR(posix.stat(p).st_mode)
    except OSError:
        return False
