"""The spool: hook events kept on disk while the server is down, replayed in order when it starts.

Standard library only, no pathlib, json, re or typing: the hook (`piko cc notify`) writes here, so the
hook's start-up stays fast. Every folder and file is checked as the state folder is (config.py): a link,
or anything not ours, is refused, never followed.

An event that cannot be ingested, and the oldest events when the spool is over its caps, are set aside in
`spool/rejected/` with a `<name>.reason` file beside them: kept for a person to look at, never replayed.
The rejected folder has the same caps; past them its oldest files are deleted.
"""

from __future__ import annotations

import posix  # not os: see lightos.py
import time

from piko import config, lightos

TYPE_CHECKING = False  # not `from typing import ...`: typing imports re, which the hook cannot afford
if TYPE_CHECKING:
    from os import PathLike

SPOOL_DIR = "spool"
REJECTED_DIR = "rejected"
SUFFIX = ".json"
REASON_SUFFIX = ".reason"
MAX_FILES = 10_000  # per folder (spool/, spool/rejected/); PIKO_SPOOL_MAX_FILES overrides it
MAX_BYTES = 64 * 1024 * 1024  # per folder; PIKO_SPOOL_MAX_BYTES overrides it


def folder(home: str | PathLike[str], *, rejected: bool = False) -> str:
    """spool/ (or spool/rejected/), made owner-only if missing; config.UnsafeHome if not safely ours."""
    path = lightos.join(config.ensure_home_dir(home), SPOOL_DIR)
    config.ensure_private_dir(path)
    if rejected:
        path = config.ensure_private_dir(lightos.join(path, REJECTED_DIR))
    return path


def _write_new(path: str, data: bytes) -> None:
    """Write `path` (must not exist) and fsync it, so what is renamed into place is whole."""
    fd = config.open_private(path, posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL)
    try:
        view = memoryview(data)
        while view:
            view = view[posix.write(fd, view):]
        posix.fsync(fd)
    finally:
        posix.close(fd)


def _sync_folder(path: str) -> None:
    fd = posix.open(path, posix.O_RDONLY | posix.O_DIRECTORY | posix.O_NOFOLLOW | posix.O_CLOEXEC)
    try:
        posix.fsync(fd)
    finally:
        posix.close(fd)


def write_bytes(home: str | PathLike[str], data: bytes, *, rejected: bool = False,
                stamp_ns: int | None = None, reason: str | None = None) -> str:
    """Keep an already encoded event (a JSON object) for later; returns the file's path.

    `stamp_ns` (default: now) names the file, so events replay in the order they happened (pass the
    time the event arrived, not the time a slow attempt to deliver it gave up). `rejected` puts it
    straight into spool/rejected/ (with `reason` beside it): kept for a person to look at, never replayed.
    """
    where = folder(home, rejected=rejected)
    name = f"{stamp_ns or time.time_ns():020d}-{posix.getpid()}-{posix.urandom(3).hex()}"
    tmp = lightos.join(where, f".{name}.tmp")
    _write_new(tmp, data)
    if rejected and reason:
        _write_new(lightos.join(where, name + REASON_SUFFIX), reason.encode("utf-8", "replace") + b"\n")
    final = lightos.join(where, name + SUFFIX)
    posix.rename(tmp, final)
    _sync_folder(where)
    return final


def _entries(path: str, suffix: str) -> list[posix.DirEntry[str]]:
    """`path`'s files ending in `suffix`, oldest first (names start with a nanosecond timestamp)."""
    try:
        with posix.scandir(path) as it:
            found = [e for e in it if e.name.endswith(suffix) and not e.name.startswith(".")]
    except FileNotFoundError:
        return []
    return sorted(found, key=lambda e: e.name)


def pending(home: str | PathLike[str]) -> list[str]:
    """Paths of the spooled events, oldest first (links and other oddities included: reading them fails,
    and they are set aside)."""
    home = config.check_home(home)
    path = lightos.join(home, SPOOL_DIR)
    if not lightos.lexists(path):
        return []
    return [e.path for e in _entries(config.ensure_private_dir(path), SUFFIX)]


def read(path: str) -> bytes:
    """A spooled event's bytes; config.UnsafeHome if the file is not a regular file of ours."""
    fd = config.open_private(path, posix.O_RDONLY)
    try:
        chunks = []
        while chunk := posix.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        posix.close(fd)


def set_aside(path: str, reason: str) -> str:
    """Move a spooled event to spool/rejected/ with `reason` beside it, so it is kept but not retried.
    The move never follows a link (a planted link is moved, not what it points at)."""
    spool = lightos.dirname(path)
    target = config.ensure_private_dir(lightos.join(spool, REJECTED_DIR))
    name = lightos.basename(path)
    dest = lightos.join(target, name)
    reason_file = dest[:-len(SUFFIX)] + REASON_SUFFIX if dest.endswith(SUFFIX) else dest + REASON_SUFFIX
    try:
        posix.unlink(reason_file)  # from an earlier attempt that stopped half way
    except FileNotFoundError:
        pass
    _write_new(reason_file, reason.encode("utf-8", "replace") + b"\n")
    posix.rename(path, dest)
    return dest


def _limit(name: str, default: int) -> int:
    try:
        return max(1, int(lightos.getenv(name) or default))
    except ValueError:
        return default


def enforce_caps(home: str | PathLike[str]) -> list[str]:
    """Keep the spool under its caps (files, bytes): the oldest pending events are set aside, then the
    oldest rejected ones deleted. Returns a sentence for each, for the caller's log."""
    max_files, max_bytes = _limit("PIKO_SPOOL_MAX_FILES", MAX_FILES), _limit("PIKO_SPOOL_MAX_BYTES", MAX_BYTES)
    said: list[str] = []
    spool = folder(home)
    for path in _over(spool, max_files, max_bytes):
        try:
            set_aside(path, f"set aside unread: the spool was over its cap ({max_files} files, {max_bytes} bytes)")
        except FileNotFoundError:
            continue  # replayed or set aside meanwhile by another process (the server, another hook)
        said.append(f"spool over its cap ({max_files} files, {max_bytes} bytes): set aside {path}")
    rejected = lightos.join(spool, REJECTED_DIR)
    if lightos.lexists(rejected):
        for path in _over(config.ensure_private_dir(rejected), max_files, max_bytes):
            for name in (path, path[:-len(SUFFIX)] + REASON_SUFFIX):
                try:
                    posix.unlink(name)
                except FileNotFoundError:
                    pass
            said.append(f"spool/rejected over its cap ({max_files} files, {max_bytes} bytes): deleted {path}")
    return said


def _over(path: str, max_files: int, max_bytes: int) -> list[str]:
    """The oldest events in `path` that take it past `max_files` or `max_bytes`."""
    entries = _entries(path, SUFFIX)
    sizes = []
    for e in entries:
        try:
            sizes.append(e.stat(follow_symlinks=False).st_size)
        except FileNotFoundError:
            sizes.append(0)
    total, count, cut = sum(sizes), len(entries), 0
    while cut < len(entries) and (count > max_files or total > max_bytes):
        total -= sizes[cut]
        count -= 1
        cut += 1
    return [e.path for e in entries[:cut]]
