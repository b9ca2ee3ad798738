"""Journey: a refused, a reset and an early-closed connection read the same in every check type.
The tcp and http checks said "connection reset by peer", the tls and redis checks "connection
refused" with no target, and postgres libpq's own sentence; `monitor once` now says "connection
refused by HOST:PORT" and "connection reset by HOST:PORT" for http, tcp, tls, postgres and redis
alike (real loopback sockets: a port bound then closed refuses, a server closing with SO_LINGER 0
resets). A server that closes before its answer is complete said "the server closed the
connection without a complete answer" (http), "the connection closed before a complete answer"
(redis), "expected 'hi', got ''" (tcp) and "connection reset by HOST:PORT" (tls, postgres); all
now say "connection closed by HOST:PORT before a complete answer" (a server that reads the
request and closes, one that sends half an answer and closes)."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from support.cli import prodshield, wide_env
from support.net import refused_port

TYPES = ("http", "tcp", "tls", "postgres", "redis")


@contextmanager
def _server(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback server that runs ``answer`` on each connection, then closes it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                answer(conn)
            except OSError:
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(srv.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        srv.close()


@pytest.fixture
def resetting_port() -> Iterator[int]:
    """A server that reads what the client sends first, then resets the connection."""

    def answer(conn: socket.socket) -> None:
        conn.recv(4096)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with _server(answer) as port:
        yield port


def _closes_after(first: bytes) -> Callable[[socket.socket], None]:
    """Read what the client sends first, send ``first`` (maybe nothing), then close cleanly."""

    def answer(conn: socket.socket) -> None:
        conn.recv(4096)
        if first:
            conn.sendall(first)
        conn.shutdown(socket.SHUT_WR)
        with suppress(OSError):
            conn.recv(4096)  # until the client hangs up (a FIN, never a reset)

    return answer


def _check(kind: str, port: int) -> str:
    target = {
        "http": f'url: "http://127.0.0.1:{port}/"',
        "tcp": f'host: 127.0.0.1, port: {port}, send: "hello", expect: "hi"',
        "tls": f"host: 127.0.0.1, port: {port}",
        "postgres": f'dsn: "postgresql://prodshield@127.0.0.1:{port}/test"',
        "redis": f'url: "redis://127.0.0.1:{port}"',
    }[kind]
    return f"  - {{name: {kind}-{port}, type: {kind}, timeout: 10s, {target}}}\n"


def test_refused_and_reset_read_the_same_in_every_check_type(
    tmp_path: Path, resetting_port: int
) -> None:
    refusing = refused_port()
    checks = "".join(_check(kind, port) for kind in TYPES for port in (refusing, resetting_port))
    (tmp_path / "shield.yaml").write_text(
        f'version: 1\nstorage: "sqlite:///prodshield.db"\nchecks:\n{checks}'
    )
    done = prodshield(
        tmp_path, "monitor", "once", "-c", "shield.yaml", "--format", "json", env=wide_env()
    )
    assert "Traceback" not in done.stderr, done.stderr
    said = {r["check"]: r["error"] for r in json.loads(done.stdout)["results"]}
    for kind in TYPES:
        assert said[f"{kind}-{refusing}"] == {
            "kind": "refused",
            "message": f"connection refused by 127.0.0.1:{refusing}",
        }, kind
        # libpq words a reset and a close alike ("server closed the connection unexpectedly")
        reset = f"connection reset by 127.0.0.1:{resetting_port}"
        if kind == "postgres":
            reset = f"connection closed by 127.0.0.1:{resetting_port} before a complete answer"
        assert said[f"{kind}-{resetting_port}"] == {"kind": "reset", "message": reset}, kind


HALF = {
    "http": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part",
    "redis": b"+PO",
}
"""Half an answer, then the close: a body cut short, a reply line never ended."""


def test_a_server_that_closes_early_reads_the_same_in_every_check_type(tmp_path: Path) -> None:
    with (
        _server(_closes_after(b"")) as silent,
        _server(_closes_after(HALF["http"])) as half_http,
        _server(_closes_after(HALF["redis"])) as half_redis,
    ):
        checks = "".join(_check(kind, silent) for kind in TYPES)
        checks += _check("http", half_http) + _check("redis", half_redis)
        (tmp_path / "shield.yaml").write_text(
            f'version: 1\nstorage: "sqlite:///prodshield.db"\nchecks:\n{checks}'
        )
        done = prodshield(
            tmp_path, "monitor", "once", "-c", "shield.yaml", "--format", "json", env=wide_env()
        )
    assert "Traceback" not in done.stderr, done.stderr
    said = {r["check"]: r["error"] for r in json.loads(done.stdout)["results"]}
    for name, port in [(f"{kind}-{silent}", silent) for kind in TYPES] + [
        (f"http-{half_http}", half_http),
        (f"redis-{half_redis}", half_redis),
    ]:
        assert said[name] == {
            "kind": "reset",
            "message": f"connection closed by 127.0.0.1:{port} before a complete answer",
        }, (name, said[name])
