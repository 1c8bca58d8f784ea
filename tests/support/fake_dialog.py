"""Runs in a tmux pane: a stand-in for Claude Code's permission / question dialog.

Prints a captured screen (argv[1]), then takes one key the way the dialog does (no Enter, no echo). The
key clears the dialog, like Claude redrawing, and is shown as GOT:<repr>; after that the pane stays alive
and echoes lines.
"""

import os
import sys
import termios
import tty

with open(sys.argv[1], encoding="utf-8") as f:
    screen = f.read().rstrip("\n")
fd = sys.stdin.fileno()
saved = termios.tcgetattr(fd)
tty.setcbreak(fd)
attrs = termios.tcgetattr(fd)
attrs[3] &= ~termios.ECHO
termios.tcsetattr(fd, termios.TCSANOW, attrs)
sys.stdout.write(screen)
sys.stdout.flush()
key = os.read(fd, 16).decode("utf-8", "replace")
termios.tcsetattr(fd, termios.TCSANOW, saved)
sys.stdout.write("\x1b[2J\x1b[H" + "GOT:" + repr(key) + "\n")
sys.stdout.flush()
for line in sys.stdin:
    print("GOT:" + repr(line.rstrip("\n")), flush=True)
