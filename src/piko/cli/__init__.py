"""The `piko` command.

`piko cc notify` runs on every Claude Code event, so it is dispatched here before anything else is
imported: it loads only the standard library and piko's light modules, never click or the server stack.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:2] == ["cc", "notify"]:
        from piko.cli.notify import main as notify_main

        return notify_main(args[2:])
    from piko.cli.root import cli

    try:
        cli.main(args=args, prog_name="piko", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 1
    return 0
