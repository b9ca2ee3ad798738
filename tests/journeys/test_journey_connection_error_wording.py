"""Journey: a refused and a reset connection read the same in every check type. The tcp and http
checks said "connection reset by peer", the tls and redis checks "connection refused" with no
target, and postgres libpq's own sentence; `monitor once` now says "connection refused by
HOST:PORT" and "connection reset by HOST:PORT" for http, tcp, tls, postgres and redis alike (real
loopback sockets: a port bound then closed refuses, a server closing with SO_LINGER 0 resets)."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import prodshield, wide_env
from support.net import refused_port

TYPES = ("http", "tcp", "tls", "postgres", "redis")


@pytest.fixture
def resetting_port() -> Iterator[int]:
    """A server that reads what the client sends first, then resets the connection."""
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
                conn.recv(4096)
            except OSError:
                pass
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(srv.getsockname()[1])
    stop.set()
    thread.join(5)
    srv.close()


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
        assert said[f"{kind}-{resetting_port}"] == {
            "kind": "reset",
            "message": f"connection reset by 127.0.0.1:{resetting_port}",
        }, kind
