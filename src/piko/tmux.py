"""Everything that talks to tmux: typing into a pane, pressing keys, reading its screen.

Every call runs the tmux binary directly (never through a shell) against the tmux server the request came
from (`-S <socket>`), addressing the exact pane by id (`%3`). Text goes in literally (`send-keys -l`), so
leading dashes, quotes, `$()`, `;` and unicode reach the program as typed. A socket is used only when it
is an absolute path to a socket owned by this user: another user's tmux server is never driven.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import stat
from dataclasses import dataclass

ENTER_PAUSE = 0.15  # between the text and its Enter, so the Enter is not taken as part of a paste
TMUX_TIMEOUT = 5.0
# Keys a caller may press by name. Digits pick menu options; the rest move or cancel.
NAMED_KEYS = frozenset({"Enter", "Escape", "Up", "Down", "Left", "Right", "Tab", "BTab", "Space"})
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_GONE = re.compile(r"can't find (pane|session|window)|no server running|error connecting to|no such file")


class TmuxError(Exception):
    """tmux failed; the message is tmux's own."""


class PaneGone(TmuxError):
    """The pane, or its whole tmux server, no longer exists."""


class UnsafeSocket(TmuxError):
    """The socket is not one Piko may use: not absolute, not a socket, or another user's."""


def check_socket(socket: str) -> None:
    """Refuse (UnsafeSocket) a socket path that is not absolute, not a socket (lstat: a symlink is not one)
    or not owned by this user; PaneGone when nothing is there (the tmux server is gone)."""
    if not socket.startswith("/") or "\x00" in socket:
        raise UnsafeSocket(f"the tmux socket {socket!r} is not an absolute path")
    try:
        info = os.lstat(socket)
    except FileNotFoundError:
        raise PaneGone(f"no tmux server at {socket}: no such file") from None
    except (OSError, ValueError) as e:
        raise UnsafeSocket(f"the tmux socket {socket!r} cannot be checked: {e}") from None
    if not stat.S_ISSOCK(info.st_mode):
        raise UnsafeSocket(f"{socket} is not a socket; Piko does not use it")
    if info.st_uid != os.geteuid():
        raise UnsafeSocket(f"the tmux socket {socket} belongs to another user (uid {info.st_uid}); "
                           "Piko does not use it")


def socket_args(socket: str | None) -> list[str]:
    if not socket:
        return []
    check_socket(socket)
    return ["-S", socket]


async def run(socket: str | None, *args: str, stdin: bytes | None = None) -> str:
    """Run `tmux [-S socket] args...` and return its stdout; raise PaneGone / TmuxError on failure."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "tmux",
            *socket_args(socket),
            *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError as e:
        raise TmuxError("tmux is not installed") from e
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), TMUX_TIMEOUT)
    except TimeoutError as e:
        proc.kill()
        await proc.wait()
        raise TmuxError(f"tmux did not answer within {TMUX_TIMEOUT:g}s") from e
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip() or f"tmux exited with {proc.returncode}"
        if _GONE.search(message.lower()):
            raise PaneGone(message)
        raise TmuxError(message)
    return out.decode(errors="replace")


def check_text(text: str) -> None:
    """Refuse text with control characters (other than newline and tab): they would be keystrokes; and
    lone surrogates, which are no text at all (they cannot be typed or stored)."""
    if _CONTROL.search(text):
        raise ValueError("the text holds control characters; only printable text, tabs and newlines can be sent")
    if _SURROGATE.search(text):
        raise ValueError("the text holds a lone surrogate (half of a UTF-16 pair), which is not a character")


def literal_arg(text: str) -> str:
    """`text` as one tmux argument that arrives as is: tmux takes an argument ending in `;` as the end of
    a command (and `\\;` as a literal `;`), so a final `;` is written `\\;`."""
    return text[:-1] + "\\;" if text.endswith(";") else text


async def send_text(socket: str | None, target: str, text: str, *, enter: bool = True,
                    pause: float = ENTER_PAUSE) -> None:
    """Type `text` into the pane as literal characters, then Enter as a separate key after `pause`.

    Multi-line text is loaded into a private buffer and pasted bracketed, so newlines stay inside the
    text instead of submitting it line by line.
    """
    check_text(text)
    text = text.replace("\r\n", "\n")
    if "\n" in text:
        buffer = f"piko-{secrets.token_hex(4)}"
        await run(socket, "load-buffer", "-b", buffer, "-", stdin=text.encode())
        await run(socket, "paste-buffer", "-p", "-d", "-b", buffer, "-t", target)
    elif text:
        await run(socket, "send-keys", "-t", target, "-l", "--", literal_arg(text))
    if enter:
        if text:
            await asyncio.sleep(pause)
        await run(socket, "send-keys", "-t", target, "Enter")


async def send_key(socket: str | None, target: str, key: str) -> None:
    """Press one key: a digit or a name from NAMED_KEYS."""
    if not (key.isdigit() and len(key) == 1) and key not in NAMED_KEYS:
        raise ValueError(f"not a key Piko presses: {key!r}")
    await run(socket, "send-keys", "-t", target, key)


async def capture(socket: str | None, target: str, history: int = 0, *, join: bool = False) -> str:
    """The pane's visible screen as plain text, plus up to `history` lines scrolled off above it.

    `join` rejoins lines the terminal wrapped (for parsing); without it lines are as the terminal shows them.
    """
    args = ["capture-pane", "-p", "-t", target]
    if join:
        args.append("-J")
    if history > 0:
        args += ["-S", f"-{history}"]
    return await run(socket, *args)


# ---- watching many panes at once (server/panes.py) --------------------------------------------------

# What one `list-panes -a` tells of each pane: enough to notice it changed or lost its program without
# reading its screen. The command comes last: it is free text (a program name).
PANE_FORMAT = "\t".join((
    "#{pane_id}", "#{pane_pid}", "#{pane_dead}", "#{window_activity}",
    "#{cursor_x},#{cursor_y},#{history_size},#{pane_width},#{pane_height}", "#{pane_current_command}",
))


@dataclass(frozen=True)
class PaneState:
    """One pane as `list-panes` describes it."""

    id: str
    pid: int
    dead: bool
    activity: int  # the last output in the pane's window, whole seconds since the epoch
    geometry: str  # cursor, history size and size: changes with most output, and with a resize
    command: str  # the pane's foreground program (tmux's pane_current_command)


async def list_panes(socket: str | None) -> dict[str, PaneState]:
    """Every pane of the tmux server at `socket`, by pane id: one tmux call, whatever their number.

    Raises PaneGone when the tmux server itself is gone (then so is every pane it had).
    """
    out = await run(socket, "list-panes", "-a", "-F", PANE_FORMAT)
    panes: dict[str, PaneState] = {}
    for line in out.splitlines():
        parts = line.split("\t", 5)
        if len(parts) != 6 or not parts[1].isdigit() or not parts[3].isdigit():
            continue
        id, pid, dead, activity, geometry, command = parts
        panes[id] = PaneState(id, int(pid), dead == "1", int(activity), geometry, command)
    return panes


async def capture_many(socket: str | None, panes: list[str]) -> dict[str, str]:
    """The screens of several panes of one tmux server (as `capture(..., join=True)`), in one tmux call.

    Each screen is preceded in tmux's output by a line with a random marker, which no screen can forge.
    Raises PaneGone / TmuxError as `run` does when any pane cannot be read (tmux then stops the list).
    """
    marker = f"piko-{secrets.token_hex(8)}"
    args: list[str] = []
    for pane in panes:
        args += ["display-message", "-p", "-t", pane, f"{marker} #{{pane_id}}", ";",
                 "capture-pane", "-p", "-J", "-t", pane, ";"]
    out = await run(socket, *args[:-1])
    screens: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in out.split("\n"):
        if line.startswith(marker + " "):
            lines = screens.setdefault(line[len(marker) + 1:], [])
        else:
            lines.append(line)
    return {pane: "\n".join(lines) for pane, lines in screens.items()}
