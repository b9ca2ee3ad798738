"""Helpers for the chaos proxy tests: an event loop in a thread (uvloop when installed), the proxy
service on it, and real upstream servers (echo, byte source, HTTP) on loopback."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

from aiohttp import web

from prodshield.chaos.proxy.service import ProxyService

T = TypeVar("T")

# The proxy, the upstream servers and the test's client share one process: hand the GIL over
# quickly so a thread waking for a timer does not wait for another's 5 ms slice.
sys.setswitchinterval(0.0002)


def _new_loop(use_uvloop: bool = True) -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop() if use_uvloop else asyncio.new_event_loop()


class LoopThread:
    """An asyncio loop running in a daemon thread; ``call`` runs a coroutine there and waits."""

    def __init__(self, use_uvloop: bool = True) -> None:
        self.loop = _new_loop(use_uvloop)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, make: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
        async def runner() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.loop.is_running():
            self.loop.close()


class ProxyThread(LoopThread):
    """The proxy service (API on an ephemeral port) in its own loop thread."""

    def __init__(
        self,
        use_uvloop: bool = True,
        header_timeout: float | None = None,
        body_timeout: float | None = None,
    ) -> None:
        super().__init__(use_uvloop)
        self.service = ProxyService("127.0.0.1", 0)
        if header_timeout is not None:
            self.service.header_timeout = header_timeout
        if body_timeout is not None:
            self.service.api.body_timeout = body_timeout
        self.call(self.service.start)

    @property
    def url(self) -> str:
        return str(self.service.url)

    @property
    def port(self) -> int:
        return int(self.service.port)

    def close(self) -> None:
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            self.call(self.service.close)
        super().close()

    # a tiny synchronous HTTP helper returning (status, headers, body)
    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, raw = self.request(method, path, body)
        return status, json.loads(raw) if raw.strip() else None

    def create(self, name: str, upstream: str, **extra: Any) -> tuple[str, int]:
        status, data = self.json("POST", "/proxies", {"name": name, "upstream": upstream, **extra})
        assert status == 201, data
        host, _, port = data["listen"].rpartition(":")
        return host, int(port)

    def toxic(self, proxy: str, **body: Any) -> dict[str, Any]:
        status, data = self.json("POST", f"/proxies/{proxy}/toxics", body)
        assert status == 200, data
        created: dict[str, Any] = data
        return created


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


def make_source(payload: bytes, close: bool = True) -> Callable[..., Awaitable[None]]:
    """A server that sends ``payload`` on connect, then closes (or waits for the client)."""

    async def source(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(payload)
            await writer.drain()
            if not close:
                await reader.read()
        except OSError:
            pass
        finally:
            writer.close()

    return source


class Upstreams(LoopThread):
    """Real servers for the proxy to relay to, on their own loop thread."""

    def __init__(self) -> None:
        super().__init__()
        self._servers: list[Any] = []
        self._runners: list[web.AppRunner] = []

    def tcp(self, handler: Callable[..., Awaitable[None]] = _echo) -> str:
        async def start() -> asyncio.Server:
            return await asyncio.start_server(handler, "127.0.0.1", 0)

        server = self.call(start)
        self._servers.append(server)
        return f"127.0.0.1:{server.sockets[0].getsockname()[1]}"

    def http(self, big: int = 1 << 20) -> str:
        small_page = b"<html><body>" + b"ok " * 100 + b"</body></html>"
        big_body = bytes(range(256)) * (big // 256)

        async def small(request: web.Request) -> web.Response:
            return web.Response(body=small_page, content_type="text/html")

        async def large(request: web.Request) -> web.Response:
            return web.Response(body=big_body, content_type="application/octet-stream")

        async def start() -> tuple[web.AppRunner, int]:
            app = web.Application()
            app.router.add_get("/", small)
            app.router.add_get("/big", large)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        runner, port = self.call(start)
        self._runners.append(runner)
        return f"127.0.0.1:{port}"

    def close(self) -> None:
        async def stop() -> None:
            for server in self._servers:
                server.close()
            for runner in self._runners:
                await runner.cleanup()

        with contextlib.suppress(Exception):
            self.call(stop)
        super().close()


@contextlib.contextmanager
def connect(address: tuple[str, int], timeout: float = 5.0) -> Iterator[socket.socket]:
    sock = socket.create_connection(address, timeout=timeout)
    try:
        yield sock
    finally:
        sock.close()


def recv_all(sock: socket.socket, limit: float = 5.0) -> tuple[bytes, float]:
    """Everything until EOF (or reset, re-raised), and the time EOF arrived."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        data = sock.recv(1 << 16)
        if not data:
            return b"".join(chunks), time.monotonic()
        chunks.append(data)
    raise TimeoutError("no EOF in time")


def recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        data = sock.recv(n - len(buf))
        if not data:
            break
        buf += data
    return bytes(buf)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def timer_lateness(loop: LoopThread, seconds: float) -> float:
    """How much later than ``seconds`` a sleep of ``seconds`` on ``loop``'s event loop comes back
    to this thread: what the machine's load adds, at this moment, to a delay timed on that loop
    (about 0.1 ms on a quiet machine; tens of ms on a loaded one)."""
    start = time.perf_counter()
    loop.call(lambda: asyncio.sleep(seconds))
    return max(0.0, time.perf_counter() - start - seconds)


def assert_added_latency(
    loop: LoopThread,
    toxic: Callable[[], float],
    plain: Callable[[], float],
    latency_ms: float,
    *,
    waits: int = 1,
    rounds: int = 21,
    tolerance_ms: float = 2.0,
) -> None:
    """A latency toxic adds ``waits`` x ``latency_ms`` to a round trip, to ``tolerance_ms``.

    ``toxic`` and ``plain`` each time one round trip (seconds): through the toxic proxy and
    through a proxy without toxics on the same loop, alternated so both meet the same load; the
    added delay is the median of their differences. It may never be short of the toxic's delay
    by more than ``tolerance_ms`` (strict). It may be late by ``tolerance_ms`` plus what a sleep
    as long as the toxic's, on the proxy's loop in the same rounds, is late by (median, per
    wait): on a quiet machine that is the plain 2 ms, on a loaded one it follows the load, and a
    wrong delay (doubled, missing) still fails.
    """
    extra: list[float] = []
    late: list[float] = []
    for _ in range(rounds):
        extra.append(toxic() - plain())
        late.append(timer_lateness(loop, latency_ms / 1000))
    added, slack = median(extra) * 1000, median(late) * 1000 * waits
    expected = latency_ms * waits
    detail = f"added {added:.2f} ms, expected {expected:g} ms, timer lateness {slack:.2f} ms"
    assert added >= expected - tolerance_ms, detail
    assert added <= expected + tolerance_ms + slack, detail


def timing_check(check: Callable[[], None], attempts: int = 3) -> None:
    """Run a timing check; on a shared, overloaded machine a miss is measured again.

    ``check`` must start from a clean proxy (it is given one: toxics reset by the caller's code).
    A systematic error fails every attempt.
    """
    for attempt in range(attempts):
        try:
            check()
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise
