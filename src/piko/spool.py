"""The spool: hook events kept on disk while the server is down, replayed in order when it starts.

Standard library only: the hook (`piko cc notify`) writes here, through `write_bytes`, which needs neither
json nor pathlib, so the hook's start-up stays fast.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # not `from typing import ...`: typing imports re, which the hook cannot afford
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Iterator

SPOOL_DIR = "spool"
REJECTED_DIR = "rejected"


def spool_dir(home: Path) -> Path:
    return home / SPOOL_DIR


def write_bytes(home: str | os.PathLike[str], data: bytes, *, rejected: bool = False,
                stamp_ns: int | None = None) -> str:
    """Keep an already encoded event (a JSON object) for later; returns the file's path.

    `stamp_ns` (default: now) names the file, so events replay in the order they happened (pass the
    time the event arrived, not the time a slow attempt to deliver it gave up). `rejected` puts it
    straight into spool/rejected/: kept for a person to look at, never replayed.
    """
    home = os.fspath(home)
    os.makedirs(home, mode=0o700, exist_ok=True)  # makedirs gives `mode` only to the last folder
    folder = os.path.join(home, SPOOL_DIR)
    os.makedirs(folder, mode=0o700, exist_ok=True)  # one level at a time: each gets 0700
    if rejected:
        folder = os.path.join(folder, REJECTED_DIR)
        os.makedirs(folder, mode=0o700, exist_ok=True)
    name = f"{stamp_ns or time.time_ns():020d}-{os.getpid()}"
    tmp = os.path.join(folder, f".{name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    final = os.path.join(folder, f"{name}.json")
    os.rename(tmp, final)
    return final


def pending(home: Path) -> Iterator[Path]:
    """Spooled events, oldest first (names start with a nanosecond timestamp)."""
    folder = spool_dir(home)
    if not folder.is_dir():
        return iter(())
    return iter(sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith(".")))


def set_aside(path: Path) -> Path:
    """Move an event that could not be ingested to spool/rejected/, so it is kept but not retried."""
    target = path.parent / REJECTED_DIR
    target.mkdir(exist_ok=True, mode=0o700)
    dest = target / path.name
    os.rename(path, dest)
    return dest
