"""Where Piko keeps its state and where clients find the server.

Imported by the hook (`piko cc notify`), so it uses the standard library only and does no work at import.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 19876
TOKEN_FILE = "token"
DB_FILE = "state.db"


def piko_home() -> Path:
    """`$PIKO_HOME`, default `~/.piko`."""
    value = os.environ.get("PIKO_HOME")
    return Path(value).expanduser() if value else Path.home() / ".piko"


def server_url() -> str:
    """`$PIKO_URL`, default `http://127.0.0.1:19876`, without a trailing slash."""
    return (os.environ.get("PIKO_URL") or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}").rstrip("/")


def ensure_home(home: Path) -> Path:
    """Create `home` owner-only (0700) if needed; tighten it if it is group/world accessible."""
    home.mkdir(parents=True, exist_ok=True)
    if home.stat().st_mode & 0o077:
        home.chmod(0o700)
    return home


def read_token(home: Path | None = None) -> str | None:
    """The server's token, or None when there is none yet (the server has never started here)."""
    try:
        return (Path(home or piko_home()) / TOKEN_FILE).read_text().strip() or None
    except OSError:
        return None


def load_or_create_token(home: Path) -> str:
    """Read the token, or create a random one with mode 0600 on first start."""
    ensure_home(home)
    path = home / TOKEN_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        token = path.read_text().strip()
        if token:
            return token
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token
