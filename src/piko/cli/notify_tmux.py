"""Which tmux pane and session the hook (`piko cc notify`) runs in, found fast.

Loaded only inside tmux. Runs tmux through `posix.posix_spawnp` rather than `subprocess`, whose import alone
would cost more than the hook's whole start-up budget; `select` is the only module it adds.
"""

from __future__ import annotations

import posix  # not os: see lightos.py
import time

TMUX_TIMEOUT = 0.25


def tmux_pane_session(socket: str) -> tuple[str | None, str | None]:
    """(pane id, session name) of this hook's tmux pane, for a hook without `$TMUX_PANE` (one Claude
    release stripped it; with it, the server asks tmux for the session itself): the pane whose process
    is an ancestor of this one. `display-message` outside a pane's process would name whichever pane is
    active, not ours.
    """
    out = run_quick(["tmux", "-S", socket, "list-panes", "-a", "-F", "#{pane_id} #{pane_pid} #{session_name}"],
                    TMUX_TIMEOUT)
    if not out:
        return None, None
    panes: dict[int, tuple[str, str]] = {}
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1].isdigit():
            panes[int(parts[1])] = (parts[0], parts[2])
    for pid in ancestors(posix.getpid()):
        if pid in panes:
            return panes[pid][0], panes[pid][1] or None
    return None, None


def ancestors(pid: int) -> list[int]:
    """`pid`'s parent, grandparent, ... up to init (from /proc; from `ps` where there is no /proc)."""
    chain: list[int] = []
    parents: dict[int, int] | None = None
    for _ in range(64):
        ppid = _parent_from_proc(pid)
        if ppid is None:
            if parents is None:
                parents = _parents_from_ps()
            ppid = parents.get(pid)
        if not ppid or ppid in chain:
            break
        chain.append(ppid)
        if ppid == 1:
            break
        pid = ppid
    return chain


def _parent_from_proc(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat.rpartition(b")")[2].split()  # the command name may hold spaces and parentheses
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _parents_from_ps() -> dict[int, int]:
    out = run_quick(["ps", "-A", "-o", "pid=,ppid="], TMUX_TIMEOUT) or ""
    parents: dict[int, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            parents[int(parts[0])] = int(parts[1])
    return parents


def run_quick(argv: list[str], timeout: float) -> str | None:
    """Run a program and return its stdout, or None if it fails or takes longer than `timeout`.

    `posix.posix_spawnp` rather than `subprocess`, whose import alone would double the hook's start-up time.
    """
    read_fd, write_fd = posix.pipe()
    try:
        pid = posix.posix_spawnp(argv[0], argv, posix.environ, file_actions=[
            (posix.POSIX_SPAWN_OPEN, 0, "/dev/null", posix.O_RDONLY, 0),
            (posix.POSIX_SPAWN_DUP2, write_fd, 1),
            (posix.POSIX_SPAWN_OPEN, 2, "/dev/null", posix.O_WRONLY, 0),
        ])
    except OSError:
        posix.close(read_fd)
        posix.close(write_fd)
        return None
    posix.close(write_fd)
    import select  # here, not at the top: the hook outside tmux never needs it

    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    finished = False
    try:
        while True:
            wait = deadline - time.monotonic()
            if wait <= 0:
                break
            ready, _, _ = select.select([read_fd], [], [], wait)
            if not ready:
                break
            data = posix.read(read_fd, 65536)
            if not data:
                finished = True
                break
            chunks.append(data)
    finally:
        posix.close(read_fd)
        if not finished:
            try:
                posix.kill(pid, 9)
            except OSError:
                pass
        _, status = posix.waitpid(pid, 0)
    if not finished or posix.waitstatus_to_exitcode(status) != 0:
        return None
    return b"".join(chunks).decode("utf-8", "replace")
