"""The spool: hook events kept on disk while the server is down, replayed in order when it starts.

Standard library only: the hook (`piko cc notify`) writes here.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

SPOOL_DIR = "spool"


def spool_dir(home: Path) -> Path:
    return home / SPOOL_DIR


def write(home: Path, event: dict[str, Any]) -> Path:
    """Keep `event` for later, atomically (a reader never sees half a file), owner-only."""
    folder = spool_dir(home)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{time.time_ns():020d}-{os.getpid()}"
    tmp = folder / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(event, f)
    final = folder / f"{name}.json"
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
    target = path.parent / "rejected"
    target.mkdir(exist_ok=True, mode=0o700)
    dest = target / path.name
    os.rename(path, dest)
    return dest
