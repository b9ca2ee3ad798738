"""Loopback networking for tests: a free port, a refused port (and a server brought up on it
later), a bound socket, waiting until something is true, and a small HTTP server in a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any, TypeVar

T = TypeVar("T")
S = TypeVar("S", bound=HTTPServer)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago (bind port 0, then close)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_HELD: list[socket.socket] = []


def refused_port() -> int:
    """A TCP port on 127.0.0.1 where connections are refused for as long as this process runs:
    bound and never listening (nothing else can bind it, where a ``free_port()`` with nothing
    listening could be bound by another server meanwhile). A target that is down, then up
    (``serving_on``), then down again can use it."""
    while True:
        # bound by its number, not as port 0: the socket then keeps the port when a listen() on
        # it ends with shutdown() (Linux lets an automatically given port go)
        port = free_port()
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:  # taken in between: another
            sock.close()
            continue
        _HELD.append(sock)
        return port


def take_held(port: int) -> socket.socket | None:
    """The socket ``refused_port()`` holds for ``port``, held no longer, for a server to
    listen on (``hold_again`` takes it back); None for a port it does not hold."""
    sock = next((sock for sock in _HELD if sock.getsockname()[1] == port), None)
    if sock is not None:
        _HELD.remove(sock)
        # the TIME_WAIT of its connections must not stop the next listen(): unset by hold_again
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def server_on(cls: type[S], port: int, handler: type[BaseHTTPRequestHandler]) -> S:
    """An HTTP server ``cls`` answering with ``handler`` on ``127.0.0.1:port``, listening, not
    yet serving. On a ``refused_port()``, it listens on the socket held for it (held no longer,
    until ``hold_again``): a target that was down comes up on the port its check names, which
    nothing could take meanwhile."""
    server = cls(("127.0.0.1", port), handler, bind_and_activate=False)
    held = take_held(port)
    try:
        if held is None:
            server.server_bind()
        else:
            server.socket.close()
            server.socket = held
            server.server_address = held.getsockname()
            server.server_name, server.server_port = "127.0.0.1", port
        server.server_activate()
    except BaseException:
        server.server_close()
        raise
    return server


def hold_again(sock: socket.socket) -> None:
    """Stop ``sock`` listening (its pending connections reset) and hold its port again, refusing
    connections: the target is down, and its port still its own."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # Linux: back to bound, not listening
    # without SO_REUSEADDR, no other socket can bind the port while it does not listen
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    _HELD.append(sock)


@contextmanager
def serving_on(
    port: int, handler: type[BaseHTTPRequestHandler], cls: type[HTTPServer] = ThreadingHTTPServer
) -> Iterator[HTTPServer]:
    """``server_on`` serving in a thread for the block; a ``refused_port()`` refuses again
    after it (held), any other port is let go."""
    held = any(sock.getsockname()[1] == port for sock in _HELD)
    server = server_on(cls, port, handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        if held:
            hold_again(server.socket)
        else:
            server.server_close()


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a port of 127.0.0.1 that the system gives, for a server of this
    process to listen on (``uvicorn.Server.run(sockets=[...])``): the port is held from the start,
    where a ``free_port()`` handed to a server started later could be taken in between."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def smtp_controller(handler: Any, **kwargs: Any) -> Any:
    """An ``aiosmtpd`` ``Controller`` (not started) for ``handler`` on 127.0.0.1 and a port the
    system gives: ``controller.port`` is the port it bound once ``start()`` has returned
    (aiosmtpd itself, given port 0, would connect to port 0 to wake its server)."""
    from aiosmtpd.controller import Controller

    class OnPortZero(Controller):
        def _trigger_server(self) -> None:
            sockets = getattr(self.server, "sockets", None) or []  # an asyncio Server's
            self.port = int(sockets[0].getsockname()[1])
            super()._trigger_server()  # type: ignore[no-untyped-call]

    return OnPortZero(handler, hostname="127.0.0.1", port=0, **kwargs)


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
