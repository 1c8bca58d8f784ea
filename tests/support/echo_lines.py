"""Runs in a tmux pane: prints every line it reads as GOT:<repr>, so tests can see exactly what arrived.

It turns on bracketed paste like Claude Code does, and reports a bracketed paste as one PASTE:<repr>.
"""

import sys

START, END = "\x1b[200~", "\x1b[201~"

sys.stdout.write("\x1b[?2004h")
print("READY", flush=True)
buffer = ""
for line in sys.stdin:
    buffer += line
    if START in buffer and END not in buffer:
        continue  # a paste goes on over several lines
    if START in buffer:
        before, _, rest = buffer.partition(START)
        pasted, _, after = rest.partition(END)
        print("PASTE:" + repr(pasted), flush=True)
        print("GOT:" + repr(before + after.rstrip("\n")), flush=True)
    else:
        print("GOT:" + repr(buffer.rstrip("\n")), flush=True)
    buffer = ""
