"""Loopback networking for tests: a free port, a refused port, a bound socket, waiting until
something is true, and a small HTTP server in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago (bind port 0, then close)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_HELD: list[socket.socket] = []


def refused_port() -> int:
    """A TCP port on 127.0.0.1 where connections are refused for as long as this process runs:
    bound and never listening (nothing else can bind it, where a ``free_port()`` with nothing
    listening could be bound by another server meanwhile)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    _HELD.append(sock)
    return int(sock.getsockname()[1])


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a port of 127.0.0.1 that the system gives, for a server of this
    process to listen on (``uvicorn.Server.run(sockets=[...])``): the port is held from the start,
    where a ``free_port()`` handed to a server started later could be taken in between."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def wait_until(
    predicate: Callable[[], T], what: str, timeout: float = 60.0, interval: float = 0.3
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy and return
    that; fail the test naming ``what`` (and the last value) after ``timeout`` seconds. An
    ``OSError`` (a server still starting, a refused connection) counts as not yet."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except OSError:
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def _log_nothing(self: BaseHTTPRequestHandler, format: str, *args: object) -> None:
    pass


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """An HTTP server on a loopback port answering with ``handler`` (a thread a request, nothing
    logged) for the block; yields its port."""
    quiet = type(handler.__name__, (handler,), {"log_message": _log_nothing})
    server = ThreadingHTTPServer(("127.0.0.1", 0), quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def answering(status: int) -> type[BaseHTTPRequestHandler]:
    """A handler answering every GET and POST with ``status`` and no body (a POST's body read
    first): a target that fails, a webhook receiver that is unavailable."""

    class Answering(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.do_GET()

    return Answering
