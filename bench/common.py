"""What every benchmark shares: results and table rows, statistics, servers, raw HTTP, WebSocket fleets.

Everything runs on loopback. Every loop is bounded by a count or a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "hooks"
RESULTS = ROOT / "bench" / "results"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def ns() -> int:
    return time.perf_counter_ns()


def ms(nanos: float) -> float:
    return nanos / 1e6


# ---- results -------------------------------------------------------------------------------------

@dataclass
class Row:
    """One line of the table. `status` is pass, miss, info or skip."""

    bench: str
    figure: str
    baseline: str = "-"
    ratio: str = "-"
    goal: str = "-"
    status: str = "info"
    note: str = ""


@dataclass
class Context:
    quick: bool
    tmp: Path
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # raw figures, for the plot and latest.json

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  -> {row.bench}: {row.figure} (baseline {row.baseline}, ratio {row.ratio}) {row.status}",
              flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return pct(values, 50)


def fmt_ms(v: float) -> str:
    if v != v:
        return "n/a"
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def ratio(a: float, b: float) -> str:
    if not b or a != a or b != b:
        return "-"
    return f"{a / b:.2f}x"


def raise_fd_limit(want: int = 8192) -> int:
    """Raise this process's open-file limit (children inherit it: the servers we start need it too)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard == resource.RLIM_INFINITY else min(max(soft, want), hard)
    if target != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
    return target


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on (bound and released; good enough for a refused connection)."""
    return free_port()


# ---- servers -------------------------------------------------------------------------------------

def start_piko(home: Path):
    """A real `piko server` on a free loopback port (tests/support/server.py).

    $PIKO_BENCH_SERVER_ENV (JSON object) adds to the server's environment: for trying a change to the
    server without editing it (e.g. a sitecustomize on PYTHONPATH), never needed for a normal run."""
    from tests.support.server import PikoServer

    extra = json.loads(os.environ.get("PIKO_BENCH_SERVER_ENV") or "{}")
    return PikoServer(home, env=extra).start()


class Baseline:
    """The minimal broadcast server (bench/baseline_server.py) in its own process."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 15) -> Baseline:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.baseline_server"], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = box[0] if box else ""
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"baseline server did not start: {line!r}")
        self.port = int(line.split()[1])
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.proc and self.proc.stdout
        for _ in self.proc.stdout:
            pass

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def trigger_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/trigger"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / (1024 * 1024)


class RssSampler:
    """Samples a process's RSS every `interval` seconds in a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(2)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except Exception:  # noqa: BLE001 - the process may be gone
                return
            self._stop.wait(self.interval)


def temp_dir(ctx: Context, name: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=ctx.tmp))
    return path


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# ---- a raw keep-alive HTTP/1.1 client on asyncio streams -----------------------------------------

class Http:
    """One keep-alive connection; just enough HTTP for POSTing JSON to piko (answers carry Content-Length)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Http:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    def head(self, path: str, length: int) -> bytes:
        return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {self.token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()

    def send(self, path: str, body: bytes) -> None:
        assert self.writer
        self.writer.write(self.head(path, len(body)) + body)

    async def answer(self) -> tuple[int, bytes]:
        assert self.reader
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.reader is None or self.reader.at_eof():  # the server closed an idle keep-alive connection
            await self.close()
            await self.open()
        self.send(path, body)
        return await self.answer()

    async def close(self) -> None:
        if self.writer:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except Exception:  # noqa: BLE001
                pass


# ---- a fleet of WebSocket clients in this process ------------------------------------------------

SESSION_KEY = '"session_id":"'  # the server's messages are compact JSON (msgspec)


def marker_of(text: str) -> str | None:
    """The bench marker of a broadcast: the session_id of its record (bench-<run>-<n>)."""
    i = text.find(SESSION_KEY)
    if i < 0:
        return None
    i += len(SESSION_KEY)
    return text[i:text.find('"', i)]


def kind_of(text: str) -> str:
    """The message type: messages start with {"type":"<kind>", ... (compact, as msgspec encodes them)."""
    if text.startswith('{"type":"'):
        return text[9:text.find('"', 9)]
    return "?"


class Fleet:
    """N `websockets` asyncio clients in one process; every message is handed to `on_message`.

    Each client waits for its first message (the snapshot) before it counts as connected. Clients keep
    the library's defaults (per-message deflate offered, as browsers do), except max_size (snapshots can
    be large) and keepalive pings (off: a long run must not be disturbed by them).
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.clients: list[Any] = []
        self.tasks: list[asyncio.Task] = []
        self.on_message: Callable[[int, int, str], None] = lambda i, t, text: None
        self.snapshot_bytes = 0

    async def _one(self, index: int, ready: asyncio.Future) -> None:
        from websockets.asyncio.client import connect

        try:
            ws = await connect(self.url, additional_headers=self.headers, max_size=None, ping_interval=None,
                               open_timeout=60, close_timeout=2, max_queue=None)
        except Exception as e:  # noqa: BLE001
            if not ready.done():
                ready.set_exception(e)
            return
        self.clients.append(ws)
        try:
            first = await ws.recv()
            self.snapshot_bytes += len(first)
            if not ready.done():
                ready.set_result(None)
            async for text in ws:
                self.on_message(index, ns(), text if isinstance(text, str) else text.decode())
        except Exception:  # noqa: BLE001 - closed by the server or by us
            pass
        finally:
            if not ready.done():
                ready.set_exception(RuntimeError("closed before its snapshot"))

    async def connect(self, n: int, batch: int = 100, timeout: float = 120) -> None:
        """Connect n clients, `batch` at a time (each batch complete, snapshots read, before the next)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        start = len(self.tasks)
        for first in range(start, start + n, batch):
            readies = []
            for i in range(first, min(first + batch, start + n)):
                ready = loop.create_future()
                readies.append(ready)
                self.tasks.append(asyncio.create_task(self._one(i, ready)))
            await asyncio.wait_for(asyncio.gather(*readies), max(1.0, deadline - loop.time()))

    async def close(self) -> None:
        for ws in self.clients:
            try:
                await asyncio.wait_for(ws.close(), 2)
            except Exception:  # noqa: BLE001
                pass
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.clients.clear()
        self.tasks.clear()


def use_uvloop() -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass


def run(coro) -> Any:
    """asyncio.run on uvloop (what uvicorn uses too), for the client side of every benchmark."""
    use_uvloop()
    return asyncio.run(coro)

