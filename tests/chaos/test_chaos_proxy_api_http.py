"""The API's HTTP connections: a half-sent request is not held forever, and a request aiohttp
cannot parse is answered in the API's documented `{"error", "status"}` shape.

A request head without its final blank line was held open for over 90 s (serve closes the same
at 10 s), and a 70 KB header got aiohttp's plain-text `Got more than 8190 bytes ...`. A body
announced by `Content-Length: 1000` and sent a byte at a time held its connection forever; it is
now answered 408 in the same shape and closed.
"""

from __future__ import annotations

import contextlib
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


# A request's body is bounded too: a client that announced `Content-Length: 1000` and then sent a
# byte every few seconds held its connection (and its handler) forever.
@pytest.fixture
def quick_body_api() -> Iterator[ProxyThread]:
    thread = ProxyThread(body_timeout=0.5)
    try:
        yield thread
    finally:
        thread.close()


def _dribble(sock: socket.socket, head: bytes) -> bytes:
    """Send ``head`` (announcing 1000 bytes of body), then one byte of body at a time, until the
    server answers and closes; what it sent (fails if it is still open after 20 s)."""
    sock.sendall(head + b"{")
    sock.settimeout(0.2)
    data = b""
    for _ in range(100):  # 20 s
        try:
            sock.sendall(b" ")
        except OSError:  # closed under us: what it sent is read below
            break
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            return data
        data += chunk
    else:
        raise AssertionError(f"still open after 20 s; got {data[:200]!r}")
    sock.settimeout(5)
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


@pytest.mark.parametrize(
    "path",
    ["/proxies", "/populate", "/proxies/web/toxics", "/proxies/web/toxics/latency_downstream"],
)
def test_a_body_sent_too_slowly_gets_the_json_error_and_is_closed(
    quick_body_api: ProxyThread, path: str
) -> None:
    quick_body_api.create("web", "127.0.0.1:9")
    quick_body_api.toxic("web", type="latency")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", quick_body_api.port)) as sock:
        raw = _dribble(sock, head)
    status, headers, body = _split(raw)
    assert status == 408, raw[:300]
    expected = {"error": "request body timeout", "status": 408}
    if path == "/populate":  # populate's errors say which proxies it made: none
        expected["proxies"] = None
    assert json.loads(body) == expected
    assert headers["Connection"] == "close", headers
    # nothing was changed by the half-sent request, and the API still answers
    assert quick_body_api.json("GET", "/proxies/web/toxics")[1][0]["attributes"]["latency"] == 0


def test_a_body_the_api_does_not_read_is_not_waited_for_forever(
    quick_body_api: ProxyThread,
) -> None:
    head = b"GET /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    with socket.create_connection(("127.0.0.1", quick_body_api.port)) as sock:
        raw = _dribble(sock, head)
    assert raw.startswith(b"HTTP/1.1 200") and raw.endswith(b"{}"), raw[:300]


def test_a_body_sent_in_time_still_works(quick_body_api: ProxyThread) -> None:
    body = b'{"name": "web", "upstream": "127.0.0.1:9"}'
    with socket.create_connection(("127.0.0.1", quick_body_api.port)) as sock:
        sock.sendall(
            b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        sock.settimeout(5)
        assert sock.recv(65536).startswith(b"HTTP/1.1 201")
