"""The no-toxic fast path and its switching: toxics added to and removed from busy connections
apply at once, and no byte is lost, duplicated or reordered across a switch."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import struct
import threading
import time
from collections.abc import Callable

import pytest

from prodshield.chaos.proxy import relay as relay_module
from support.chaos_proxy import ProxyThread, Upstreams, connect, recv_exact

CHUNK = 16 << 10


def _pattern(i: int) -> bytes:
    """Chunk ``i`` of the stream: distinct content, so loss, duplication or reordering shows."""
    seed = hashlib.sha256(i.to_bytes(8, "big")).digest()
    return (seed * (CHUNK // len(seed) + 1))[:CHUNK]


def _flows(api: ProxyThread, name: str) -> list[tuple[bool, bool]]:
    """(upstream fast, downstream fast) for every open connection of proxy ``name``."""
    proxy = api.service.collection.proxies[name]
    return [(link.flows[0].fast, link.flows[1].fast) for link in list(proxy.links)]


def _wait_for(predicate: Callable[[], bool], limit: float = 15.0) -> bool:
    """Poll ``predicate`` until it holds; ``limit`` is a bound for a loaded machine, not a timing."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


class _Stream:
    """Sends chunks through the echo proxy from one thread, until stopped, while another thread
    reads them back until the echo's EOF."""

    def __init__(self, sock: socket.socket, max_chunks: int = 20_000) -> None:
        self.sock = sock
        self.max_chunks = max_chunks
        self.sent = 0
        self.received = bytearray()
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._reader = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        self._writer.start()
        self._reader.start()

    def _write(self) -> None:
        try:
            for i in range(self.max_chunks):
                if self.stop.is_set():
                    break
                self.sock.sendall(_pattern(i))
                self.sent = i + 1
                if i % 4 == 0:
                    time.sleep(0.001)  # a steady stream, not one burst
            self.sock.shutdown(socket.SHUT_WR)  # the echo then answers the rest and closes
        except BaseException as exc:  # reported by join()
            self.error = exc

    def _read(self) -> None:
        try:
            while data := self.sock.recv(1 << 16):
                self.received += data
        except BaseException as exc:  # reported by join()
            self.error = exc

    def past(self, n: int) -> Callable[[], bool]:
        return lambda: self.sent > n

    def join(self, limit: float = 30.0) -> None:
        self.stop.set()
        self._writer.join(limit)
        self._reader.join(limit)
        assert self.error is None, self.error
        assert not self._reader.is_alive(), "the stream stalled"

    def check(self) -> None:
        assert self.sent < self.max_chunks, "the stream ended before the test was done with it"
        expected = b"".join(_pattern(i) for i in range(self.sent))
        assert len(self.received) == len(expected)
        assert bytes(self.received) == expected


def test_new_connection_without_toxics_uses_the_fast_path(
    api: ProxyThread, upstreams: Upstreams
) -> None:
    address = api.create("echo", upstreams.tcp())
    with connect(address) as sock:
        sock.sendall(b"hello")
        assert recv_exact(sock, 5) == b"hello"
        assert _flows(api, "echo") == [(True, True)]
        # a toxic that this connection did not draw (toxicity 0) keeps it on the fast path
        api.toxic("echo", type="latency", toxicity=0.0, attributes={"latency": 1000})
        assert _flows(api, "echo") == [(True, True)]
        start = time.perf_counter()
        sock.sendall(b"x")
        assert recv_exact(sock, 1) == b"x"
        assert time.perf_counter() - start < 0.5


def test_toxics_added_and_removed_mid_stream_lose_no_bytes(
    api: ProxyThread, upstreams: Upstreams
) -> None:
    address = api.create("echo", upstreams.tcp())
    with connect(address, timeout=30) as sock:
        stream = _Stream(sock)
        stream.start()
        assert _wait_for(lambda: stream.sent > 50)
        # each toxic joins a connection that is moving bytes, then leaves it again
        toxics = [
            {"type": "latency", "stream": "upstream", "attributes": {"latency": 20}},
            {"type": "latency", "stream": "downstream", "attributes": {"latency": 10}},
            {"type": "slicer", "attributes": {"average_size": 4096, "delay": 0}},
            {"type": "bandwidth", "stream": "upstream", "attributes": {"rate": 20_000}},
        ]
        for body in toxics:
            toxic = api.toxic("echo", **body)
            up, down = _flows(api, "echo")[0]
            assert not (up if toxic["stream"] == "upstream" else down)
            before = stream.sent
            time.sleep(0.05)
            assert _wait_for(stream.past(before))  # bytes flow through the toxic
            status, _, _ = api.request("DELETE", f"/proxies/echo/toxics/{toxic['name']}")
            assert status == 204
            time.sleep(0.02)
        stream.join()
        stream.check()
        assert stream.sent > 100
    # both directions went back to the fast path once their toxic queues drained
    assert _wait_for(lambda: not _flows(api, "echo") or _flows(api, "echo") == [(True, True)])


def test_latency_added_to_a_busy_connection_applies_at_once(
    api: ProxyThread, upstreams: Upstreams
) -> None:
    address = api.create("echo", upstreams.tcp())
    with connect(address, timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        payload = bytes(range(256)) * 4096
        sock.sendall(payload)  # a megabyte in flight on the fast path...
        api.toxic("echo", type="latency", stream="downstream", attributes={"latency": 400})
        assert recv_exact(sock, len(payload)) == payload
        start = time.perf_counter()  # ...and the next bytes wait
        sock.sendall(b"ping")
        assert recv_exact(sock, 4) == b"ping"
        assert time.perf_counter() - start >= 0.39
        api.request("DELETE", "/proxies/echo/toxics/latency_downstream")
        assert _wait_for(lambda: _flows(api, "echo") == [(True, True)])
        start = time.perf_counter()
        sock.sendall(b"pong")
        assert recv_exact(sock, 4) == b"pong"
        assert time.perf_counter() - start < 0.3  # the 400 ms went (a loaded machine gets slack)


def test_toggling_toxicity_switches_the_path_both_ways(
    api: ProxyThread, upstreams: Upstreams
) -> None:
    address = api.create("echo", upstreams.tcp())
    with connect(address, timeout=10) as sock:
        sock.sendall(b"a")
        assert recv_exact(sock, 1) == b"a"
        api.toxic("echo", name="lat", type="latency", toxicity=1.0, attributes={"latency": 400})
        assert _flows(api, "echo") == [(True, False)]
        start = time.perf_counter()
        sock.sendall(b"b")
        assert recv_exact(sock, 1) == b"b"
        assert time.perf_counter() - start >= 0.39
        # toxicity 0 on update: the connection draws again and is left alone
        status, _ = api.json("POST", "/proxies/echo/toxics/lat", {"toxicity": 0.0})
        assert status == 200
        assert _wait_for(lambda: _flows(api, "echo") == [(True, True)])
        start = time.perf_counter()
        sock.sendall(b"c")
        assert recv_exact(sock, 1) == b"c"
        assert time.perf_counter() - start < 0.3  # the 400 ms went (a loaded machine gets slack)


def test_disabling_the_proxy_closes_fast_path_connections(
    api: ProxyThread, upstreams: Upstreams
) -> None:
    address = api.create("echo", upstreams.tcp())
    with connect(address, timeout=5) as sock:
        sock.sendall(b"a")
        assert recv_exact(sock, 1) == b"a"
        assert api.json("POST", "/proxies/echo", {"enabled": False})[0] == 200
        assert sock.recv(10) == b""
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=1).close()
    assert api.json("POST", "/proxies/echo", {"enabled": True})[0] == 200
    with connect(address, timeout=5) as sock:
        sock.sendall(b"b")
        assert recv_exact(sock, 1) == b"b"


def test_both_sides_of_a_connection_have_nodelay(api: ProxyThread, upstreams: Upstreams) -> None:
    """Small request/response traffic must not wait for Nagle on either of the proxy's sockets."""
    address = api.create("echo", upstreams.tcp())
    with connect(address) as sock:
        sock.sendall(b"hi")
        assert recv_exact(sock, 2) == b"hi"
        (link,) = api.service.collection.proxies["echo"].links
        for transport in (link.client, link.upstream):
            assert transport is not None
            raw = transport.get_extra_info("socket")
            assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_the_fast_path_is_the_other_sockets_write_and_the_kernel_counts_its_bytes(
    api: ProxyThread, upstreams: Upstreams
) -> None:
    """Without a toxic, the reading protocol's ``data_received`` is the other transport's bound
    ``write`` (no Python frame per chunk on uvloop); a toxic unbinds it, its removal binds it
    again, and the byte counters stay exact across the switches (TCP_INFO counts the fast path)."""
    address = api.create("echo", upstreams.tcp())
    proxy = api.service.collection.proxies["echo"]
    sent = 0
    with connect(address, timeout=10) as sock:
        for size in (5, 70_000):
            sock.sendall(b"a" * size)
            assert recv_exact(sock, size) == b"a" * size
            sent += size
        (link,) = list(proxy.links)
        up, down = link.flows
        assert link.upstream is not None and link.client is not None
        assert up.src_protocol.__dict__["data_received"] == link.upstream.write
        assert down.src_protocol.__dict__["data_received"] == link.client.write
        assert api.call(lambda: _bytes(proxy)) == (sent, sent)

        toxic = api.toxic("echo", type="latency", stream="upstream", attributes={"latency": 5})
        assert "data_received" not in up.src_protocol.__dict__  # the toxic chain reads now
        assert "data_received" in down.src_protocol.__dict__  # the other direction stays
        sock.sendall(b"b" * 3000)
        assert recv_exact(sock, 3000) == b"b" * 3000
        sent += 3000
        assert api.request("DELETE", f"/proxies/echo/toxics/{toxic['name']}")[0] == 204
        assert _wait_for(lambda: "data_received" in up.src_protocol.__dict__)
        sock.sendall(b"c" * 100_000)
        assert recv_exact(sock, 100_000) == b"c" * 100_000
        sent += 100_000
        assert api.call(lambda: _bytes(proxy)) == (sent, sent)
    assert _wait_for(lambda: not proxy.links)
    assert api.call(lambda: _bytes(proxy)) == (sent, sent)  # closed: FINs are not bytes


async def _bytes(proxy: object) -> tuple[int, int]:
    return proxy.bytes  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("side", ["client", "upstream"])
def test_a_reset_without_a_fin_keeps_every_fast_path_byte_counted(
    api: ProxyThread, upstreams: Upstreams, side: str
) -> None:
    """A peer that resets without a FIN leaves its socket CLOSED with no FIN in the kernel's byte
    count: nothing is taken off for one (the count was one byte short)."""
    counted = threading.Event()  # the client has read the answers and the bytes were counted

    async def answer_then_reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for size in (3000, 5000):
            writer.write(await reader.readexactly(size))
            await writer.drain()
        if side == "upstream":
            for _ in range(1500):  # up to 15 s: a bound for a loaded machine, not a timing
                if counted.is_set():
                    break
                await asyncio.sleep(0.01)
            raw = writer.get_extra_info("socket")
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()  # RST, no FIN
        else:
            with contextlib.suppress(Exception):
                await reader.read()
            writer.close()

    address = api.create("resets", upstreams.tcp(answer_then_reset))
    proxy = api.service.collection.proxies["resets"]
    sock = socket.create_connection(address, timeout=10)
    try:
        for size in (3000, 5000):  # the second exchange is on the kernel-counted fast path
            sock.sendall(b"r" * size)
            assert recv_exact(sock, size) == b"r" * size
        assert api.call(lambda: _bytes(proxy)) == (8000, 8000)
        counted.set()
        if side == "client":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # RST, no FIN
        assert _wait_for(lambda: not proxy.links)
    finally:
        sock.close()
    assert api.call(lambda: _bytes(proxy)) == (8000, 8000)


def _relayed(api: ProxyThread, name: str) -> list[bool]:
    """Whether the relay thread moves the bytes, for every open connection of proxy ``name``."""
    proxy = api.service.collection.proxies[name]
    return [link.relay is not None for link in list(proxy.links)]


@pytest.mark.skipif(relay_module.RELAY is None, reason="the relay thread needs Linux epoll")
def test_toxic_free_connections_are_relayed_by_the_thread_and_toxics_take_them_back(
    api: ProxyThread, upstreams: Upstreams
) -> None:
    """With no active toxic the relay thread moves a connection's bytes; a toxic added to the
    busy connection takes it back at once (the latency shows on the next exchange), its removal
    hands it to the thread again, and the stream loses, duplicates and reorders nothing."""
    address = api.create("echo", upstreams.tcp())
    proxy = api.service.collection.proxies["echo"]
    with connect(address, timeout=30) as sock:
        sock.sendall(b"ping")
        assert recv_exact(sock, 4) == b"ping"
        assert _wait_for(lambda: _relayed(api, "echo") == [True])
        toxic = api.toxic("echo", type="latency", stream="downstream", attributes={"latency": 300})
        assert _relayed(api, "echo") == [False]
        start = time.perf_counter()
        sock.sendall(b"x")
        assert recv_exact(sock, 1) == b"x"
        assert time.perf_counter() - start >= 0.3
        assert api.request("DELETE", f"/proxies/echo/toxics/{toxic['name']}")[0] == 204
        assert _wait_for(lambda: _relayed(api, "echo") == [True])
        stream = _Stream(sock)
        stream.start()
        for _ in range(3):  # in and out of the thread while bytes move
            before = stream.sent
            assert _wait_for(stream.past(before + 20))
            toxic = api.toxic("echo", type="latency", attributes={"latency": 5})
            assert _relayed(api, "echo") == [False]
            assert _wait_for(stream.past(stream.sent + 5))
            assert api.request("DELETE", f"/proxies/echo/toxics/{toxic['name']}")[0] == 204
            assert _wait_for(lambda: _relayed(api, "echo") == [True])
        stream.join()
        stream.check()
        sent = stream.sent * CHUNK + 5
    assert _wait_for(lambda: not proxy.links)
    assert api.call(lambda: _bytes(proxy)) == (sent, sent)


@pytest.mark.skipif(relay_module.RELAY is None, reason="the relay thread needs Linux epoll")
def test_the_relay_thread_waits_for_a_slow_reader_and_passes_a_half_close(
    api: ProxyThread, upstreams: Upstreams
) -> None:
    """A client that stops reading fills the relay's way back: the thread stops reading the
    upstream until the client drains (nothing lost); the client's FIN then reaches the echo, whose
    FIN comes back after the last byte."""
    address = api.create("echo", upstreams.tcp())
    payload = bytes(range(256)) * (24 << 10)  # 6 MiB, far more than the socket buffers hold
    with connect(address, timeout=30) as sock:
        sock.sendall(b"ping")
        assert recv_exact(sock, 4) == b"ping"
        assert _wait_for(lambda: _relayed(api, "echo") == [True])
        writer = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
        writer.start()
        time.sleep(0.5)  # nobody reads: every buffer on the way fills
        assert _relayed(api, "echo") == [True]
        got = bytearray()
        while len(got) < len(payload):
            got += sock.recv(1 << 16)
        writer.join(10)
        assert bytes(got) == payload
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1) == b""  # the echo's FIN, through the proxy
    proxy = api.service.collection.proxies["echo"]
    assert _wait_for(lambda: not proxy.links)
    assert api.call(lambda: _bytes(proxy)) == (len(payload) + 4, len(payload) + 4)
