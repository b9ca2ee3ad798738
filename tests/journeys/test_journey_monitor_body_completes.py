"""Journey: `prodshield monitor once` on checks with no body condition. A check is ok when the
whole answer arrived within its timeout, as with curl (Upptime) or a browser: a server that sends
its status line and headers and then stalls, or breaks the connection in the body, fails the
check (keeping its `first_byte` time: the status line did arrive); a complete answer passes,
and so does a body far over `max_body` (the check stops reading it there instead of downloading
it). A real loopback server speaks raw HTTP/1.1."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.cli import prodshield

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"


def _answer(conn: socket.socket, path: str, stop: threading.Event) -> None:
    if path == "/complete":
        conn.sendall(HEAD + b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
    elif path == "/stalls":  # promises 100 bytes, sends 7, then nothing
        conn.sendall(HEAD + b"Content-Length: 100\r\n\r\npartial")
        stop.wait(30)
    elif path == "/stalls-chunked":  # one chunk, never the last one
        conn.sendall(HEAD + b"Transfer-Encoding: chunked\r\n\r\n7\r\npartial\r\n")
        stop.wait(30)
    elif path == "/resets":  # a few body bytes, then a TCP reset
        conn.sendall(HEAD + b"Content-Length: 100\r\n\r\npartial")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif path == "/huge":  # 8 MiB, far over max_body: not downloaded, not a failure
        conn.sendall(HEAD + b"Content-Length: 8388608\r\n\r\n")
        try:
            for _ in range(128):
                conn.sendall(b"x" * 65536)
        except OSError:
            pass  # the check stopped reading and dropped the connection


@contextmanager
def _server() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=one, args=(conn,), daemon=True).start()

    def one(conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                data = conn.recv(4096)
                if not data:
                    return
                request += data
            _answer(conn, request.split()[1].decode(), stop)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()


def test_a_check_is_ok_only_when_the_answer_completes(tmp_path: Path) -> None:
    with _server() as port:
        names = ["complete", "stalls", "stalls-chunked", "resets", "huge"]
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "checks:\n"
            + "".join(
                f"  - {{name: {n}, type: http, url: 'http://127.0.0.1:{port}/{n}',"
                " timeout: 1s, max_body: 64KiB}\n"
                for n in names
            )
        )
        done = prodshield(tmp_path, "monitor", "once", "--format", "json")
    assert done.returncode == 1, done.stderr
    results = {r["check"]: r for r in json.loads(done.stdout)["results"]}
    assert results["complete"]["ok"] is True, results["complete"]
    assert results["huge"]["ok"] is True, results["huge"]
    for name in ("stalls", "stalls-chunked"):
        assert results[name]["ok"] is False, results[name]
        assert results[name]["error"]["kind"] == "timeout", results[name]
        assert "no complete answer within 1s" in results[name]["error"]["message"]
    assert results["resets"]["ok"] is False, results["resets"]
    assert results["resets"]["error"]["kind"] == "reset", results["resets"]
    # the status line did arrive and its condition holds, but that is not what makes it ok
    assert results["stalls"]["conditions"] == [
        {"expr": "[STATUS] < 400", "ok": True, "actual": "200"}
    ]
    # and its time is kept: first_byte (the status line) well before total (the timeout)
    for name in ("stalls", "stalls-chunked", "resets"):
        timings = results[name]["timings"]
        assert timings["first_byte"] is not None, results[name]
        assert 0 < timings["first_byte"] <= timings["total"], timings
    assert results["stalls"]["timings"]["total"] - results["stalls"]["timings"]["first_byte"] > 500
