"""A small HTTP/1.1 client for Orchestra's API, used by the hook (`piko cc notify`) and `piko respond`.

Standard library only, over the C socket module: the hook runs on every Claude Code event and must start in
a few milliseconds, and `http.client` (email, re, enum) or even the `socket` module (enum, selectors) costs
more to import than Python takes to start. It speaks what Orchestra needs and no more: one request per
connection (`Connection: close`; over TCP, after the server's proof), JSON bodies, answers framed by
Content-Length, chunked encoding or EOF, and a line stream for long polls (`/wait`).

It talks only to its own server. By default over the server's Unix socket `$PIKO_HOME/server.sock`, which
must be a socket owned by this user (the kernel lets only its owner connect; nothing there to squat). Over
TCP (`$PIKO_URL` given), the server first proves it knows the token for this connection's address and port
(`GET /api/hello`, a keyed hash of a fresh nonce), and only then is the request (with the token) sent on the
same connection: a listener that squats the port, or relays to the real server, gets nothing that matters.
"""

from __future__ import annotations

import _socket
import posix  # not os: see lightos.py
import time

from piko import __version__, config, fastjson, lightos
from piko.channel import SOCKET_FILE, server_proof, unix_address

TYPE_CHECKING = False  # not `from typing import ...`: typing imports re, which the hook cannot afford
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

USER_AGENT = f"piko/{__version__}"
MAX_HEADER_LINE = 64 * 1024


class Unreachable(Exception):
    """No answer: the server is down, refused the connection, went silent or hung up midway."""


class NotOurs(Unreachable):
    """The peer did not prove it is our server: nothing was sent to it."""


class ApiError(Exception):
    """The server answered with an error status; `code` and `message` are from its error body."""

    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.body = status, code, message, body


class Response:
    __slots__ = ("body", "headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes) -> None:
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def json(self) -> Any:
        return fastjson.loads(self.body)

    def error(self) -> ApiError:
        """This answer as an ApiError, with the server's sentence when the body has one."""
        try:
            data = self.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            return ApiError(self.status, str(data.get("code") or ""), data["error"], data)
        text = self.body.decode("utf-8", "replace").strip()[:200]
        return ApiError(self.status, "", f"HTTP {self.status} {self.reason}".strip() + (f": {text}" if text else ""),
                        data)


def split_url(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, Host header, base path) of an http(s) URL; ValueError if it is not one."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise ValueError(f"not an http:// URL: {url!r}")
    netloc, _, path = rest.partition("/")
    netloc = netloc.rpartition("@")[2]
    if netloc.startswith("["):
        host, _, after = netloc[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    else:
        host, _, port_text = netloc.partition(":")
    if not host:
        raise ValueError(f"no host in URL {url!r}")
    port = int(port_text) if port_text else (443 if scheme == "https" else 80)
    return scheme, host, port, netloc, ("/" + path).rstrip("/")


class _Connection:
    """One socket, read through a buffer, every read bounded by a deadline or a per-read timeout."""

    def __init__(self, sock: Any, deadline: float, read_timeout: float | None) -> None:
        self.sock = sock
        self.deadline = deadline
        self.read_timeout = read_timeout
        self.buffer = b""
        self.eof = False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self) -> bool:
        if self.eof:
            return False
        wait = self.deadline - time.monotonic()
        if self.read_timeout is not None:
            wait = min(wait, self.read_timeout)
        if wait <= 0:
            raise Unreachable("the server did not answer in time")
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise Unreachable("the server did not answer in time") from None
        except OSError as e:
            raise Unreachable(f"the connection broke ({e.strerror or e})") from None
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def readline(self) -> bytes | None:
        """The next line with its newline, or None at end of stream (a partial last line is returned)."""
        while True:
            i = self.buffer.find(b"\n")
            if i >= 0:
                line, self.buffer = self.buffer[: i + 1], self.buffer[i + 1:]
                return line
            if len(self.buffer) > MAX_HEADER_LINE:
                raise Unreachable("the server sent a line that is too long")
            if not self._fill():
                line, self.buffer = self.buffer, b""
                return line or None

    def read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            if not self._fill():
                raise Unreachable("the server hung up in the middle of its answer")
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data


class Client:
    """Talks to the server at `url` (default `$PIKO_URL`; without it, the Unix socket in `$PIKO_HOME`)
    with the token (default `$PIKO_HOME/token`)."""

    def __init__(self, url: str | None = None, token: str | None = None, *, home: str | None = None,
                 timeout: float = 10.0) -> None:
        home = home if home is not None else config.home_dir()
        url = url or lightos.getenv("PIKO_URL")
        self.socket_path: str | None = None
        if url:
            self.url = url.rstrip("/")
            self.scheme, self.host, self.port, self.host_header, self.base_path = split_url(self.url)
        else:
            self.socket_path = lightos.join(home, SOCKET_FILE)
            self.url = f"unix:{self.socket_path}"
            self.scheme, self.host, self.port, self.host_header, self.base_path = "unix", "", 0, "localhost", ""
        self.token = token if token is not None else config.read_token(home)
        self.timeout = timeout

    # ---- connection ----------------------------------------------------------------------------

    def _addresses(self) -> list[tuple[int, Any]]:
        for family in (_socket.AF_INET, _socket.AF_INET6):
            try:
                _socket.inet_pton(family, self.host)
            except OSError:
                continue
            return [(family, (self.host, self.port))]
        try:
            infos = _socket.getaddrinfo(self.host, self.port, 0, _socket.SOCK_STREAM)
        except OSError as e:
            raise Unreachable(f"cannot resolve {self.host} ({e})") from None
        return [(info[0], info[4]) for info in infos]

    def _connect(self, deadline: float, read_timeout: float | None) -> _Connection:
        """A connection to our server: its own Unix socket, or a TCP peer that proved it holds the token."""
        if self.socket_path is not None:
            return _Connection(self._connect_unix(deadline), deadline, read_timeout)
        conn = _Connection(self._connect_tcp(deadline), deadline, None)
        try:
            self._check_proof(conn)
        except BaseException:
            conn.close()
            raise
        conn.read_timeout = read_timeout
        return conn

    def _connect_unix(self, deadline: float) -> Any:
        path = self.socket_path
        assert path is not None
        try:
            st = posix.lstat(path)
        except OSError as e:
            raise Unreachable(f"no server socket at {path} ({e.strerror or e})") from None
        if not lightos.S_ISSOCK(st.st_mode) or st.st_uid != posix.geteuid():
            raise NotOurs(f"{path} is not a socket of this user's: refused")
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise Unreachable(f"no connection to {path} in time")
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        folder = None
        try:
            address, folder = unix_address(path)
            sock.settimeout(wait)
            sock.connect(address)
        except OSError as e:
            sock.close()
            raise Unreachable(f"cannot connect to {path} ({e.strerror or e})") from None
        finally:
            if folder is not None:
                posix.close(folder)
        return sock

    def _connect_tcp(self, deadline: float) -> Any:
        last: OSError | None = None
        for family, address in self._addresses():
            wait = deadline - time.monotonic()
            if wait <= 0:
                break
            sock = _socket.socket(family, _socket.SOCK_STREAM)
            try:
                sock.settimeout(wait)
                sock.connect(address)
            except OSError as e:
                sock.close()
                last = e
                continue
            if self.scheme == "https":
                return self._wrap_tls(sock)
            return sock
        if isinstance(last, TimeoutError) or last is None:
            raise Unreachable(f"no connection to {self.url} in time")
        raise Unreachable(f"cannot connect to {self.url} ({last.strerror or last})")

    def _check_proof(self, conn: _Connection) -> None:
        """Ask the TCP peer to prove it knows the token (for the address and port we reached); NotOurs
        unless it does. Nothing but a fresh nonce has been sent when this fails."""
        not_ours = f"the server at {self.url} did not prove it is ours"
        if not self.token:
            raise NotOurs(f"{not_ours}: there is no token to check it with")
        nonce = posix.urandom(16).hex()
        try:
            peer = conn.sock.getpeername()
        except OSError as e:
            raise Unreachable(f"the connection broke ({e.strerror or e})") from None
        self._send(conn, self._head("GET", f"/api/hello?nonce={nonce}", "application/json", keep_alive=True))
        status, reason, headers = self._read_head(conn)
        body = b"".join(self._body(conn, headers))
        if status != 200:
            raise NotOurs(f"{not_ours} ({Response(status, reason, headers, body).error().message})")
        try:
            answer = fastjson.loads(body)
        except ValueError:
            answer = None
        proof = answer.get("proof") if isinstance(answer, dict) else None
        import hmac

        expected = server_proof(self.token, nonce, peer[0], peer[1])
        if not isinstance(proof, str) or not hmac.compare_digest(proof.encode(), expected.encode()):
            raise NotOurs(f"{not_ours}: wrong proof (or this token is not the server's)")
        if "close" in headers.get("connection", "").lower():
            raise Unreachable(f"the server at {self.url} closed the connection after its proof")

    def _wrap_tls(self, raw: Any) -> Any:
        """https is rare for Orchestra (it listens on loopback): the ssl module is loaded only then."""
        import socket
        import ssl

        sock = socket.socket(fileno=raw.detach())
        return ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)

    def _head(self, method: str, path: str, accept: str, *, keep_alive: bool = False,
              token: bool = False, body: bytes | None = None) -> bytes:
        lines = [
            f"{method} {self.base_path}{path} HTTP/1.1",
            f"Host: {self.host_header}",
            f"User-Agent: {USER_AGENT}",
            f"Accept: {accept}",
        ]
        if not keep_alive:
            lines.append("Connection: close")
        if token and self.token:
            lines.append(f"Authorization: Bearer {self.token}")
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (body or b"")

    @staticmethod
    def _send(conn: _Connection, data: bytes) -> None:
        wait = conn.deadline - time.monotonic()
        if wait <= 0:
            raise Unreachable("the server did not answer in time")
        conn.sock.settimeout(wait)
        try:
            conn.sock.sendall(data)
        except TimeoutError:
            raise Unreachable("the server did not take the request in time") from None
        except OSError as e:
            raise Unreachable(f"the connection broke ({e.strerror or e})") from None

    @staticmethod
    def _read_head(conn: _Connection) -> tuple[int, str, dict[str, str]]:
        """The status line and headers of an answer."""
        status_line = conn.readline()
        if not status_line:
            raise Unreachable("the server closed the connection without answering")
        parts = status_line.decode("latin-1").strip().split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise Unreachable(f"not an HTTP answer: {status_line[:80]!r}")
        headers: dict[str, str] = {}
        while True:
            line = conn.readline()
            if line is None:
                raise Unreachable("the server hung up in the middle of its answer")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(parts[1]), parts[2] if len(parts) > 2 else "", headers

    def _open(self, method: str, path: str, body: bytes | None, deadline: float,
              read_timeout: float | None, accept: str) -> tuple[_Connection, int, str, dict[str, str]]:
        """Send the request and read the answer's status and headers."""
        conn = self._connect(deadline, read_timeout)
        try:
            self._send(conn, self._head(method, path, accept, token=True, body=body))
            return conn, *self._read_head(conn)
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _chunks(conn: _Connection) -> Iterator[bytes]:
        """The data of a chunked body, chunk by chunk."""
        while True:
            size_line = conn.readline()
            if size_line is None:
                raise Unreachable("the server hung up in the middle of its answer")
            try:
                size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
            except ValueError:
                raise Unreachable(f"bad chunk size {size_line[:40]!r}") from None
            if size == 0:
                while True:  # trailers, then the blank line
                    trailer = conn.readline()
                    if trailer is None or trailer in (b"\r\n", b"\n"):
                        return
            data = conn.read(size)
            conn.read(2)
            yield data

    @staticmethod
    def _raw_stream(conn: _Connection) -> Iterator[bytes]:
        """A body framed by the end of the connection, as it arrives."""
        while True:
            if conn.buffer:
                data, conn.buffer = conn.buffer, b""
                yield data
            if not conn._fill():
                return

    def _body(self, conn: _Connection, headers: dict[str, str]) -> Iterator[bytes]:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            yield from self._chunks(conn)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if length:
                yield conn.read(length)
        else:
            yield from self._raw_stream(conn)

    # ---- requests ------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, *, timeout: float | None = None) -> Response:
        """One request; any status is returned. Raises Unreachable when no full answer came in time."""
        data = None if body is None else body if isinstance(body, bytes) else fastjson.dumps(body).encode()
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        conn, status, reason, headers = self._open(method, path, data, deadline, None, "application/json")
        try:
            return Response(status, reason, headers, b"".join(self._body(conn, headers)))
        finally:
            conn.close()

    def call(self, method: str, path: str, body: Any = None, *, timeout: float | None = None) -> Any:
        """One request, its JSON answer; ApiError for an error status."""
        response = self.request(method, path, body, timeout=timeout)
        if response.status >= 400:
            raise response.error()
        try:
            return response.json()
        except ValueError:
            raise ApiError(response.status, "bad_answer", "the server's answer is not JSON") from None

    def stream_lines(self, method: str, path: str, body: Any = None, *, read_timeout: float,
                     connect_timeout: float = 3.0) -> Iterator[bytes]:
        """Send `method path` (with `body` as JSON) and yield each line of the answer (without its
        newline) as it arrives.

        Raises ApiError for an error status, Unreachable when the connection fails or nothing arrives for
        `read_timeout` seconds. Returns when the server ends the answer.
        """
        data = None if body is None else fastjson.dumps(body).encode()
        deadline = time.monotonic() + connect_timeout
        conn, status, reason, headers = self._open(method, path, data, deadline, read_timeout, "*/*")
        try:
            conn.deadline = float("inf")  # from here only the per-read timeout applies
            if status >= 400:
                raise Response(status, reason, headers, b"".join(self._body(conn, headers))).error()
            pending = b""
            for data in self._body(conn, headers):
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    yield line.rstrip(b"\r")
            if pending:
                yield pending
        finally:
            conn.close()


def token_file() -> str:
    """Where the token is read from, for messages."""
    return lightos.join(config.home_dir(), config.TOKEN_FILE)
