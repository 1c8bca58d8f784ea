"""Where Piko keeps its state and where clients find the server, and how that state folder is kept the
user's alone: a state folder, or a folder above it, that another user owns or may write is refused
(UnsafeHome), a file in it is opened without following links and checked once open, and nothing is ever
chmod'ed: the refusal says what to run.

Imported by the hook (`piko cc notify`), which has a start-up budget of a few milliseconds: standard library
only (not even `os`: lightos.py), no work at import, and the costly modules (pathlib, secrets) are imported
only by the functions that need them. The hook uses the `str` variants (`home_dir`, `check_home`,
`ensure_home_dir`).
"""

from __future__ import annotations

import errno
import posix  # not os: see lightos.py

from piko import lightos

TYPE_CHECKING = False  # not `from typing import ...`: typing imports re, which the hook cannot afford
if TYPE_CHECKING:
    from os import PathLike
    from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 19876
TOKEN_FILE = "token"
DB_FILE = "state.db"
LOG_FILE = "notify.log"  # the hook's log (cli/notify.py)
EVENT_KEY_FIELD = "piko_event_key"  # the idempotency key the hook gives each event (server/event_keys.py)


def home_dir() -> str:
    """`$PIKO_HOME`, default `~/.piko`, as a string (no pathlib, for the hook)."""
    value = lightos.getenv("PIKO_HOME")
    return lightos.expanduser(value) if value else lightos.join(lightos.expanduser("~"), ".piko")


def piko_home() -> Path:
    """`$PIKO_HOME`, default `~/.piko`."""
    from pathlib import Path

    return Path(home_dir())


def server_url() -> str:
    """`$PIKO_URL`, default `http://127.0.0.1:19876`, without a trailing slash."""
    return (lightos.getenv("PIKO_URL") or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}").rstrip("/")


class UnsafeHome(Exception):
    """The state folder, a folder above it, or a file in it is not safely ours; the message says what
    to run. Piko refuses rather than repairs: it never follows, chmods or writes what it did not make."""


def _is_safe_folder(st: posix.stat_result, uid: int, *, own: bool) -> bool:
    if own:  # the state folder itself, and the folders piko makes in it: ours, no one else's
        return st.st_uid == uid and not st.st_mode & 0o077
    if st.st_uid not in (uid, 0):
        return False
    # A folder others may write is safe above ours only when it is root's and sticky, like /tmp: there
    # no one may rename or delete an entry they do not own, so nobody can swap our folder for theirs
    # (and one they made in our folder's place is theirs, so it is refused as not ours).
    return not st.st_mode & 0o022 or (st.st_uid == 0 and bool(st.st_mode & 0o1000))


def _ancestors(path: str) -> list[str]:
    """`path`'s folders, outermost first, both as written and as the links resolve (both must be safe:
    a link in a folder someone else can write could be swapped later)."""
    found: list[str] = []
    for start in (lightos.abspath(path), lightos.realpath(path)):
        folder = lightos.dirname(start)
        while True:
            if folder not in found:
                found.append(folder)
            parent = lightos.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return found


def check_home(home: str | PathLike[str], *, create: bool = False) -> str:
    """Refuse (UnsafeHome) a state folder that is not a real folder of ours, mode 0700 or stricter, or
    that lies in a folder someone else owns or may write. A missing one is made (0700) with `create`;
    without it, only the folders above it are checked. Nothing is ever chmod'ed."""
    path = lightos.abspath(posix.fspath(home))
    uid = posix.getuid()
    for folder in _ancestors(path):
        try:
            link = posix.lstat(folder)
            st = posix.stat(folder) if lightos.S_ISLNK(link.st_mode) else link
        except FileNotFoundError:
            continue  # made below, by us, under our umask
        if link.st_uid not in (uid, 0):  # a link its owner could point elsewhere later
            raise UnsafeHome(f"{folder}, on the way to the piko state folder {path}, is a symbolic link owned "
                             f"by uid {link.st_uid}; set PIKO_HOME to a folder inside your home")
        if not _is_safe_folder(st, uid, own=False):
            raise UnsafeHome(f"{folder}, a folder above the piko state folder {path}, can be changed by "
                             f"another user (owner uid {st.st_uid}, mode {st.st_mode & 0o7777:o}); set "
                             "PIKO_HOME to a folder inside your home, or run: chmod go-w " + folder)
    try:
        st = posix.lstat(path)
    except FileNotFoundError:
        if not create:
            return path
        lightos.makedirs(path, 0o700)
        st = posix.lstat(path)
    if not lightos.S_ISDIR(st.st_mode):
        raise UnsafeHome(f"the piko state folder {path} is not a folder (a symbolic link or a file); "
                         "piko does not follow links there: remove it, or set PIKO_HOME to another folder")
    if not _is_safe_folder(st, uid, own=True):
        if st.st_uid != uid:
            raise UnsafeHome(f"the piko state folder {path} belongs to uid {st.st_uid}, not you; "
                             "set PIKO_HOME to a folder of your own")
        raise UnsafeHome(f"the piko state folder {path} is open to others (mode {st.st_mode & 0o7777:o}); "
                         f"piko does not change it for you: run chmod 700 {path}")
    return path


def ensure_home_dir(home: str | PathLike[str]) -> str:
    """The state folder, made (0700) if missing; UnsafeHome if it, or a folder above it, is not safe."""
    return check_home(home, create=True)


def ensure_private_dir(path: str) -> str:
    """A folder piko keeps inside the state folder (the spool): made 0700 if missing, else it must be a
    real folder of ours, closed to others (UnsafeHome otherwise; never followed, never chmod'ed)."""
    try:
        posix.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = posix.lstat(path)
    if not lightos.S_ISDIR(st.st_mode) or not _is_safe_folder(st, posix.getuid(), own=True):
        raise UnsafeHome(f"{path} is not a private folder of yours (a link, someone else's, or open to "
                         f"others); piko does not follow or change it: remove it, or run chmod 700 {path}")
    return path


def check_no_links(folder: str) -> None:
    """UnsafeHome if an entry of `folder` is a symbolic link: nothing piko keeps there is one, so a link
    was planted (checked by the server at start, so even a file only the hook writes is covered)."""
    with posix.scandir(folder) as it:
        for entry in it:
            if entry.is_symlink():
                raise UnsafeHome(f"{entry.path} is a symbolic link; piko never follows one in its state "
                                 "folder: remove it")


def check_private_file(path: str, st: posix.stat_result) -> None:
    """UnsafeHome unless `st` (of the file at `path`) is a regular file of ours, owner-only, one link."""
    if not lightos.S_ISREG(st.st_mode) or st.st_uid != posix.getuid():
        raise UnsafeHome(f"{path} is not a regular file of yours; piko does not follow or change it: "
                         "remove it")
    if st.st_nlink != 1:
        raise UnsafeHome(f"{path} has other hard links; piko does not write through them: remove it")
    if st.st_mode & 0o077:
        raise UnsafeHome(f"{path} is open to others (mode {st.st_mode & 0o7777:o}); piko does not change "
                         f"it for you: run chmod 600 {path}")


def open_private(path: str, flags: int, mode: int = 0o600) -> int:
    """Open a file in the state folder without following a link (O_NOFOLLOW), then check that what
    was opened is a regular file of ours, owner-only (UnsafeHome otherwise, with the file closed)."""
    try:
        fd = posix.open(path, flags | posix.O_NOFOLLOW | posix.O_CLOEXEC, mode)
    except OSError as e:
        if e.errno == errno.ELOOP:  # the last part is a symbolic link
            raise UnsafeHome(f"{path} is a symbolic link; piko never follows one in its state folder: "
                             "remove it") from None
        raise
    try:
        check_private_file(path, posix.fstat(fd))
    except BaseException:
        posix.close(fd)
        raise
    return fd


def check_no_link(path: str) -> None:
    """For files opened by others (SQLite follows links): a missing one is fine, one that exists must
    be a regular file of ours, owner-only (UnsafeHome otherwise)."""
    try:
        st = posix.lstat(path)
    except FileNotFoundError:
        return
    check_private_file(path, st)


def read_token(home: str | PathLike[str] | None = None) -> str | None:
    """The server's token, or None when there is none yet or the file is not safely ours (a link, someone
    else's, open to others: never read)."""
    path = lightos.join(home if home is not None else home_dir(), TOKEN_FILE)
    try:
        fd = open_private(path, posix.O_RDONLY)
    except (OSError, UnsafeHome):
        return None
    try:
        return posix.read(fd, 4096).decode().strip() or None
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        posix.close(fd)


def load_or_create_token(home: Path) -> str:
    """Read the token, or create a random one with mode 0600 on first start. UnsafeHome when the file
    is not safely ours."""
    import secrets

    path = lightos.join(ensure_home_dir(home), TOKEN_FILE)
    try:
        fd = open_private(path, posix.O_RDWR | posix.O_CREAT | posix.O_EXCL)
    except FileExistsError:
        fd = open_private(path, posix.O_RDWR)
    with open(fd, "r+") as f:
        token = f.read().strip()
        if token:
            return token
        token = secrets.token_urlsafe(32)
        f.seek(0)
        f.truncate()
        f.write(token + "\n")
    return token
