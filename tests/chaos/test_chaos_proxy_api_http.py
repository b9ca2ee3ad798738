"""The API's HTTP connections: a half-sent request is not held forever, and a request aiohttp
cannot parse is answered in the API's documented `{"error", "status"}` shape.

A request head without its final blank line was held open for over 90 s (serve closes the same
at 10 s), and a 70 KB header got aiohttp's plain-text `Got more than 8190 bytes ...`.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from support.chaos_proxy import ProxyThread, recv_all


@pytest.fixture
def quick_api() -> Iterator[ProxyThread]:
    thread = ProxyThread(header_timeout=0.5)
    try:
        yield thread
    finally:
        thread.close()


def _closes(sock: socket.socket) -> bytes:
    """What the server sends before closing (fails if it is still open after 20 s)."""
    sock.settimeout(20)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_request_head_never_finished_is_closed(quick_api: ProxyThread) -> None:
    with socket.create_connection(("127.0.0.1", quick_api.port)) as sock:
        sock.sendall(b"GET /proxies HTTP/1.1\r\nHost: x\r\n")  # no blank line
        assert _closes(sock) == b""
    with socket.create_connection(("127.0.0.1", quick_api.port)) as sock:
        assert _closes(sock) == b""  # nothing sent at all


def test_keep_alive_requests_still_work(quick_api: ProxyThread) -> None:
    with socket.create_connection(("127.0.0.1", quick_api.port)) as sock:
        for _ in range(3):
            sock.sendall(b"GET /proxies HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(5)
            head = sock.recv(65536)
            assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"{}"), head
        # then, idle after its last response, the connection is closed too
        assert _closes(sock) == b""


def _split(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /proxies HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
        b"GET /" + b"p" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["header", "request-line"],
)
def test_oversized_head_gets_the_json_error(api: ProxyThread, request_bytes: bytes) -> None:
    with socket.create_connection(("127.0.0.1", api.port)) as sock:
        sock.sendall(request_bytes)
        raw, _ = recv_all(sock, 10)
    status, headers, body = _split(raw)
    assert status == 431, raw[:200]
    assert json.loads(body) == {"error": "request header fields too large", "status": 431}
    assert headers["Content-Type"].startswith("text/plain")  # as the API's other errors


def test_malformed_request_gets_the_json_error(api: ProxyThread) -> None:
    with socket.create_connection(("127.0.0.1", api.port)) as sock:
        sock.sendall(b"GET /proxies HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        raw, _ = recv_all(sock, 10)
    status, _headers, body = _split(raw)
    assert status == 400, raw[:200]
    assert json.loads(body) == {"error": "bad request: malformed HTTP request", "status": 400}
