"""What a Claude Code screen shows: the numbered options of the dialog at the bottom of a pane, and the key
that gives an answer on it (the keystroke route; server/delivery.py and server/watcher.py read panes with it).
"""

from __future__ import annotations

import re

_OPTION_LINE = re.compile(r"^\s*(?:[❯>›]\s*)?(\d{1,2})\.\s+(\S.*?)\s*$")
_PROMPT_FOOTER = re.compile(r"Esc to cancel|Enter to select")


def screen_options(screen: str) -> list[tuple[str, str]]:
    """The numbered options of the dialog at the bottom of a Claude Code screen, as (key, label).

    Empty when no dialog is showing. Only the last run of options counting up from 1 counts, so
    numbered lists in Claude's own answer above the dialog are not mistaken for it.
    """
    lines = screen.splitlines()
    while lines and not lines[-1].strip():  # the screen below the dialog is blank, spaces and all
        lines.pop()
    if not any(_PROMPT_FOOTER.search(line) for line in lines[-6:]):
        return []
    found: list[tuple[str, str]] = []
    for line in lines:
        m = _OPTION_LINE.match(line)
        if not m:
            continue
        key, label = m.group(1), m.group(2)
        if key == "1":
            found = []
        if found and int(key) != int(found[-1][0]) + 1:
            continue
        found.append((key, label))
    return found


def key_for_decision(decision: str, options: list[tuple[str, str]]) -> str | None:
    """The key that gives `decision` (allow / always / deny) on a permission dialog with these options."""
    if decision == "deny":
        for key, label in options:
            if label.lower().startswith("no"):
                return key
        return "Escape"  # Esc cancels the dialog, which is No
    if not options:
        return None
    if decision == "allow":
        for key, label in options:
            if label.lower().rstrip(".") == "yes":
                return key
        return None
    if decision == "always":
        for key, label in options:
            low = label.lower()
            if low.startswith("yes, and") and ("always" in low or "don't ask" in low or "allow" in low):
                return key
        return None
    return None


def key_for_label(label: str, options: list[tuple[str, str]]) -> str | None:
    """The key of the option whose label is `label` on a question's screen."""
    for key, text in options:
        if text.strip() == label.strip():
            return key
    return None
