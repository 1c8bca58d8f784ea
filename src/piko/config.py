"""Where Piko keeps its state and where clients find the server.

Imported by the hook (`piko cc notify`), which has a start-up budget of a few milliseconds: standard library
only, no work at import, and the costly modules (pathlib, secrets) are imported only by the functions that
need them. The hook uses the `str` variants (`home_dir`, `ensure_home_dir`).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `from typing import ...`: typing imports re, which the hook cannot afford
if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 19876
TOKEN_FILE = "token"
DB_FILE = "state.db"


def home_dir() -> str:
    """`$PIKO_HOME`, default `~/.piko`, as a string (no pathlib, for the hook)."""
    value = os.environ.get("PIKO_HOME")
    return os.path.expanduser(value) if value else os.path.join(os.path.expanduser("~"), ".piko")


def piko_home() -> Path:
    """`$PIKO_HOME`, default `~/.piko`."""
    from pathlib import Path

    return Path(home_dir())


def server_url() -> str:
    """`$PIKO_URL`, default `http://127.0.0.1:19876`, without a trailing slash."""
    return (os.environ.get("PIKO_URL") or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}").rstrip("/")


def ensure_home_dir(home: str | os.PathLike[str]) -> str:
    """Create `home` owner-only (0700) if needed; tighten it if it is group/world accessible."""
    path = os.fspath(home)
    os.makedirs(path, mode=0o700, exist_ok=True)
    if os.stat(path).st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def read_token(home: str | os.PathLike[str] | None = None) -> str | None:
    """The server's token, or None when there is none yet (the server has never started here)."""
    try:
        with open(os.path.join(home if home is not None else home_dir(), TOKEN_FILE)) as f:
            return f.read().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def load_or_create_token(home: Path) -> str:
    """Read the token, or create a random one with mode 0600 on first start."""
    import secrets

    ensure_home_dir(home)
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
