"""Starting and stopping `piko server`: its state folder, token, socket, and a clean shutdown."""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import logging
import os
import signal
import socket
import ssl
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import uvicorn

from piko import config, spool
from piko.channel import SOCKET_FILE, unix_address
from piko.server import connections
from piko.server.app import create_app
from piko.server.guard import Access
from piko.server.store import Store
from piko.server.tls import Tls, TlsError, certificate_name, context, plan

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
    f = os.fdopen(config.open_private(str(home / "server.lock"), os.O_RDWR | os.O_CREAT), "r+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = f.read().strip() or "?"
        f.close()
        raise StartupError(f"another piko server (pid {pid}) is already using {home}; "
                           "stop it, or set PIKO_HOME to another folder") from None
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def open_state(home: Path) -> tuple[Any, str, Store]:
    """The lock, the token and the store of a state folder that is safely ours (StartupError if not:
    a folder others can write, or a planted link, is refused and never followed or repaired)."""
    try:
        config.ensure_home_dir(home)
        config.check_no_links(str(home))
        lock = lock_home(home)
        try:
            token = config.load_or_create_token(home)
            config.check_no_links(spool.folder(home, rejected=True))
            config.check_no_links(spool.folder(home))
            db = str(home / config.DB_FILE)
            for suffix in ("", "-wal", "-shm", "-journal"):  # SQLite follows links: check before it opens
                config.check_no_link(db + suffix)
        except BaseException:
            lock.close()
            raise
    except config.UnsafeHome as e:
        raise StartupError(f"refusing to start: {e}") from None
    return lock, token, Store(db)


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


def bind_unix(home: Path) -> tuple[socket.socket, os.stat_result]:
    """The server's Unix socket, `home/server.sock`, 0600: the hook and the CLI reach their own server
    here (only this user can connect). A socket of ours left by a killed server is replaced; anything
    else at that path is refused. Returns the socket and what its file is (to remove only that one)."""
    path = home / SOCKET_FILE
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid():
            raise StartupError(f"{path} exists and is not a socket of this user's: refusing to replace it. "
                               "Remove it if it is yours to remove")
        path.unlink()  # the lock is ours: no server is using it
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    address, folder = unix_address(str(path))
    try:
        sock.bind(address)
        os.chmod(address, 0o600)
    except OSError as e:
        sock.close()
        raise StartupError(f"cannot listen on {path}: {e.strerror}") from None
    finally:
        if folder is not None:
            os.close(folder)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock, os.lstat(path)


def remove_unix(home: Path, made: os.stat_result) -> None:
    """Remove the socket file at shutdown, if it is still the one this server made."""
    path = home / SOCKET_FILE
    try:
        st = os.lstat(path)
        if (st.st_dev, st.st_ino) == (made.st_dev, made.st_ino):
            path.unlink()
    except OSError:
        pass


class _Server(uvicorn.Server):
    """uvicorn's server, releasing long-polling hooks as soon as a shutdown is asked for."""

    on_exit: list[Callable[[], None]]  # set before run()
    tls: ssl.SSLContext | None = None  # for the TCP listener only: the Unix socket stays plain

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if self.tls is None or not sockets:
            return await super().startup(sockets)
        tcp, *plain = sockets
        await super().startup(plain)  # uvicorn would put its one `ssl` on every socket it is given
        if self.should_exit:
            return
        config = self.config
        server = await asyncio.get_running_loop().create_server(
            lambda: config.http_protocol_class(config=config, server_state=self.server_state,  # type: ignore[call-arg]
                                               app_state=self.lifespan.state),
            sock=tcp, ssl=self.tls, backlog=config.backlog,
            # a client that stalls in the TLS handshake is dropped as one that stalls in its headers
            ssl_handshake_timeout=connections._setting("PIKO_HEADER_TIMEOUT", connections.HEADER_TIMEOUT))
        self.servers.append(server)

    def handle_exit(self, sig: int, frame: Any) -> None:
        # Like uvicorn's, except that the signal is not raised again after the graceful shutdown:
        # a stop that was asked for ends with exit status 0. A second Ctrl-C forces the exit.
        for callback in self.on_exit:
            callback()
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


def https(remote: bool, cert: Path | None, key: Path | None, home: Path,
          host: str | None) -> tuple[str, Tls | None, ssl.SSLContext | None]:
    """Where to listen, and with which certificate: plain HTTP only on loopback (StartupError otherwise)."""
    try:
        tls = plan(remote, cert, key, home)
        ctx = context(tls) if tls is not None else None
    except TlsError as e:
        raise StartupError(f"refusing to start: {e}") from None
    host = host or (tls.address if tls and tls.address else "0.0.0.0" if remote else config.DEFAULT_HOST)
    if tls is None and not is_loopback(host):
        raise StartupError(f"refusing to listen on {host} without TLS: the token, the requests and your "
                           "answers would cross the network in clear. Give --cert FILE --key FILE (or "
                           "--remote with tailscale installed), or listen on 127.0.0.1 and use an SSH tunnel")
    return host, tls, ctx


def serve(host: str | None, port: int, home: Path, *, allowed_hosts: tuple[str, ...] = (),
          access_log: bool = False, out: TextIO = sys.stdout, remote: bool = False,
          cert: Path | None = None, key: Path | None = None) -> None:
    os.umask(0o077)  # the database, its WAL and the lock file are the owner's alone
    lock, token, store = open_state(home)
    host, tls, tls_context = https(remote, cert, key, home, host)
    connections.raise_open_files_limit()
    sock = bind(host, port)
    unix_sock, unix_file = bind_unix(home)
    actual_port = sock.getsockname()[1]
    public_name = tls.name if tls else None
    if tls is not None and public_name is None and not allowed_hosts and not is_loopback(host):
        public_name = certificate_name(tls.cert)  # links name a host the phone can reach, not 127.0.0.1
    access = Access.for_server(token, host, actual_port, allowed_hosts, token_path=home / config.TOKEN_FILE,
                               tls=tls is not None, public_name=public_name)

    from piko.server import startup  # spool ingestion and background watchers

    app = create_app(store, access, on_startup=startup.tasks(home))
    orchestra = app.orchestra

    url = access.base_url
    sessions = app.sessions
    code, _ = sessions.new_login_code()
    secs = sessions.link_seconds
    within = f"{secs // 60} minutes" if secs % 60 == 0 and secs >= 120 else f"{secs} seconds"
    print(f"Piko Orchestra {url}  (state: {home})", file=out)
    print(f"Open in your browser: {url}/login#code={code}", file=out)
    print(f"  (it signs in one browser, once, within {within}; `piko login-url` prints a new link)", file=out)
    if not is_loopback(host):
        print(f"Listening on {host} with HTTPS, beyond this machine: pair a phone with `piko pair` "
              f"(its link starts {access.remote_url}).", file=out)
    out.flush()

    uv_config = uvicorn.Config(
        app,
        http=connections.protocol_class(),  # header timeout, bounded stalled connections
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
    server.tls = tls_context
    try:
        server.run(sockets=[sock, unix_sock])  # on uvicorn's loop of choice: uvloop where installed
    finally:
        remove_unix(home, unix_file)
        store.close()
        lock.close()
    print("piko server stopped", file=out)
