"""The git branch of a session's folder, read cheaply: the folder's `.git/HEAD` is found once per folder,
then read again only when its modification time changes (one stat per event; git is never run).
"""

from __future__ import annotations

import os
from pathlib import Path

HEAD_BYTES = 4096
REF_PREFIX = "ref: refs/heads/"


class Branches:
    def __init__(self) -> None:
        self._heads: dict[str, Path | None] = {}  # folder -> its HEAD file (None: not in a repository)
        self._read: dict[Path, tuple[int, str | None]] = {}  # HEAD -> (mtime_ns, branch)

    def of(self, cwd: str | None) -> str | None:
        """The branch checked out in `cwd` (or `HEAD@<short sha>` when detached); None outside a repository
        or when it cannot be read."""
        if not cwd or not cwd.startswith("/"):
            return None
        if cwd not in self._heads:
            self._heads[cwd] = _find_head(Path(cwd))
        head = self._heads[cwd]
        if head is None:
            return None
        try:
            mtime = head.stat().st_mtime_ns
        except OSError:
            return None
        known = self._read.get(head)
        if known is not None and known[0] == mtime:
            return known[1]
        branch = _branch(_read_text(head))
        self._read[head] = (mtime, branch)
        return branch


def _read_text(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(HEAD_BYTES).decode("utf-8", "replace")
    except OSError:
        return None


def _find_head(folder: Path) -> Path | None:
    """The HEAD file of the repository (or worktree) `folder` is in."""
    for candidate in (folder, *folder.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            head = dot_git / "HEAD"
            return head if head.is_file() else None
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = _read_text(dot_git) or ""
            if not text.startswith("gitdir:"):
                return None
            gitdir = Path(text[len("gitdir:"):].strip())
            head = (gitdir if gitdir.is_absolute() else candidate / gitdir) / "HEAD"
            return head if os.path.isfile(head) else None
    return None


def _branch(text: str | None) -> str | None:
    if not text:
        return None
    line = text.strip()
    if line.startswith(REF_PREFIX):
        return line[len(REF_PREFIX):] or None
    if len(line) >= 7 and all(c in "0123456789abcdef" for c in line):
        return f"HEAD@{line[:7]}"
    return None
