"""Piko's own names: Piko runs each agent in a tmux session named `piko/<project>/<env>`.

No imports: the hook (`piko cc notify`) uses this on its start-up clock.
"""

from __future__ import annotations

PREFIX = "piko"


def from_session(session: object) -> tuple[str, str] | None:
    """(project, env) of a tmux session Piko named `piko/<project>/<env>`, else None."""
    if not isinstance(session, str):
        return None
    parts = session.split("/")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]
