"""Starting and stopping `piko server`: its state folder, token, socket, and a clean shutdown."""

from __future__ import annotations

import fcntl
import ipaddress
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn

from piko import config
from piko.server.app import create_app
from piko.server.guard import Access
from piko.server.store import Store

log = logging.getLogger("piko.server")


class StartupError(Exception):
    """The server cannot start; the message says why and what to do."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lock_home(home: Path) -> Any:
    """One server per state folder: hold an exclusive lock on `home/server.lock` while running."""
    f = open(home / "server.lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        pid = f.read().strip() or "?"
        f.close()
        raise StartupError(f"another piko server (pid {pid}) is already using {home}; "
                           "stop it, or set PIKO_HOME to another folder") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: small replies go out at once instead of waiting out
    # Nagle's algorithm against the client's delayed ACK (40 ms per request on keep-alive connections).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == 98:
            raise StartupError(f"port {port} on {host} is already in use: is another piko server running? "
                               "Choose another with --port") from None
        raise StartupError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, releasing long-polling hooks as soon as a shutdown is asked for."""

    on_exit: list = []

    def handle_exit(self, sig: int, frame: Any) -> None:
        # Like uvicorn's, except that the signal is not raised again after the graceful shutdown:
        # a stop that was asked for ends with exit status 0. A second Ctrl-C forces the exit.
        for callback in self.on_exit:
            callback()
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


def serve(host: str, port: int, home: Path, *, allowed_hosts: tuple[str, ...] = (),
          access_log: bool = False, out=sys.stdout) -> None:
    os.umask(0o077)  # the database, its WAL and the lock file are the owner's alone
    config.ensure_home_dir(home)
    lock = lock_home(home)
    token = config.load_or_create_token(home)
    store = Store(home / config.DB_FILE)
    sock = bind(host, port)
    actual_port = sock.getsockname()[1]
    access = Access.for_server(token, host, actual_port, allowed_hosts, token_path=home / config.TOKEN_FILE)

    from piko.server import startup  # spool ingestion and background watchers

    app = create_app(store, access, on_startup=startup.tasks(home))
    orchestra = app.app.state.orchestra  # type: ignore[attr-defined]

    url = access.base_url
    sessions = app.app.state.sessions  # type: ignore[attr-defined]
    code, _ = sessions.new_login_code()
    secs = sessions.link_seconds
    within = f"{secs // 60} minutes" if secs % 60 == 0 and secs >= 120 else f"{secs} seconds"
    print(f"Piko Orchestra {url}  (state: {home})", file=out)
    print(f"Open in your browser: {url}/login#code={code}", file=out)
    print(f"  (it signs in one browser, once, within {within}; `piko login-url` prints a new link)", file=out)
    if not is_loopback(host):
        print(f"WARNING: listening on {host}, beyond this machine. Anyone who can reach it and holds the "
              "token can type into your agents' terminals. Prefer 127.0.0.1 and an SSH tunnel.", file=out)
    out.flush()

    uv_config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=access_log,
        ws_max_size=64 * 1024,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        timeout_graceful_shutdown=3,
        lifespan="on",
        proxy_headers=False,
        server_header=False,
    )
    server = _Server(uv_config)
    server.on_exit = [orchestra.shutdown]
    try:
        server.run(sockets=[sock])  # on uvicorn's loop of choice: uvloop where installed
    finally:
        store.close()
        lock.close()
    print("piko server stopped", file=out)
