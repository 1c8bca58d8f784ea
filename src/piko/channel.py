"""How the hook and the CLI know they reach their own server, and how the server proves it.

- The Unix socket `$PIKO_HOME/server.sock` (0600, in the owner-only state folder): only its owner can
  connect, and a client uses it only when it is a socket owned by the same user.
- Over TCP, the server answers `GET /api/hello?nonce=` with a keyed hash (the token) of the nonce and of the
  address and port the connection reached on its side; the client checks it against the address and port
  it connected to. A squatter does not know the token; a relay to the real server reaches another port.

Imported by the hook: standard library only; hmac is loaded only on the TCP path.
"""

from __future__ import annotations

import posix  # not os: see lightos.py

from piko import lightos

SOCKET_FILE = "server.sock"  # the server's Unix socket, in $PIKO_HOME
MAX_SOCKET_PATH = 107  # sun_path; a longer path is reached through /proc/self/fd/<its folder>
PROOF_LABEL = "piko-server-proof"


def server_proof(token: str, nonce: str, host: str, port: int) -> str:
    """What the server answers to `GET /api/hello?nonce=`: it knows the token, on this address and port."""
    import hmac

    message = f"{PROOF_LABEL}|{nonce}|{plain_address(host)}|{port}"
    return hmac.new(token.encode(), message.encode(), "sha256").hexdigest()


def plain_address(host: str) -> str:
    """An IP address as both ends of one connection write it (no IPv4-mapped prefix, no zone)."""
    host = host.partition("%")[0].lower()
    return host[7:] if host.startswith("::ffff:") and "." in host else host


def unix_address(path: str) -> tuple[str, int | None]:
    """The address to bind or connect `path` with, and a folder descriptor to close afterwards: a path
    longer than sun_path is reached through the folder, opened without following a final symlink."""
    if len(path.encode()) <= MAX_SOCKET_PATH:
        return path, None
    folder, name = lightos.split(path)
    fd = posix.open(folder or ".", posix.O_PATH | posix.O_DIRECTORY | posix.O_NOFOLLOW)
    return f"/proc/self/fd/{fd}/{name}", fd
