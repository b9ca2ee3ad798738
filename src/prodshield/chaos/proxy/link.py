"""One proxied connection: two asyncio Protocols joined by two ``Flow`` s (one per direction).

With no toxic on a direction its bytes go straight from the reading transport to the other
transport's ``write``: the reading side's protocol gets the other transport's ``write`` bound as
its ``data_received`` (re-read through ``set_protocol``, which uvloop caches), so on uvloop a chunk
crosses the proxy without a Python frame; flow control pauses the reading side when the writing
side's buffer is full. The bytes such a direction delivers are counted by the kernel (TCP_INFO's
``tcpi_bytes_received`` on the reading socket) and folded into the flow's count when it leaves the
fast path or closes. While neither direction has an active toxic, the connection is handed to the
relay thread (relay.py), which moves the bytes outside the event loop until a toxic changes, the
connection closes or an EOF or error comes. With toxics, chunks queue and one task per direction
runs them through the toxic chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
import sys
from collections import deque
from collections.abc import Mapping
from time import monotonic
from typing import Any, Protocol

from prodshield.chaos.proxy import relay as _relay

if sys.platform != "win32":
    import fcntl
    import termios
from prodshield.chaos.proxy.model import DOWNSTREAM, UPSTREAM, ToxicConfig
from prodshield.chaos.proxy.toxics import Chunk


class LinkOwner(Protocol):
    """What a link needs from the proxy that accepted it (``server.Proxy``): its name, where to
    connect, its toxics, and to be told when the link opens and closes."""

    name: str

    def toxic_configs(self) -> list[ToxicConfig]: ...

    def upstream_address(self) -> tuple[str, int]: ...

    def link_opened(self, link: Link) -> None: ...

    def link_closed(self, link: Link) -> None: ...


QUEUE_LIMIT = 1 << 20  # bytes queued in a toxic chain before the source is paused
CONNECT_TIMEOUT = 10.0
# Bytes a transport may hold unsent before its source is paused: larger than asyncio's 64 KiB so
# bulk transfers pause and resume less often.
WRITE_HIGH, WRITE_LOW = 1 << 20, 256 << 10
MAX_WAIT = 1e7  # seconds; longer toxic delays are treated as "forever"
_LINGER_RST = struct.pack("ii", 1, 0)
_TCP_INFO = getattr(socket, "TCP_INFO", None)
_BYTES_RECEIVED = struct.Struct("=Q")  # struct tcp_info's tcpi_bytes_received (Linux >= 4.1)
_BYTES_RECEIVED_AT = 128
_TCP_INFO_LEN = _BYTES_RECEIVED_AT + _BYTES_RECEIVED.size
# tcpi_state only reached after the peer's FIN: TIME_WAIT, CLOSE_WAIT, LAST_ACK, CLOSING. CLOSE is
# not among them: a socket gets there after a FIN exchange but also after a reset without any FIN.
_FIN_RECEIVED = frozenset((6, 8, 9, 11))
_INT = struct.Struct("i")
_INT_ZERO = _INT.pack(0)


def bytes_received(transport: asyncio.BaseTransport | None, fin: bool = False) -> int | None:
    """The bytes read from the transport's TCP socket so far, as the kernel counts them: those it
    received less those still waiting in its receive queue (FIONREAD), or None when it cannot say
    (not TCP, not Linux, an old kernel, the socket gone). Bytes still queued when a flow leaves the
    kernel-counted path are read (and counted) by the next path.

    The peer's FIN takes one sequence number, which the kernel counts as a byte: it is left out
    when ``fin`` (the caller has read the EOF) or when the socket's state says a FIN came. A socket
    reset before its EOF was read is taken as having had no FIN (the usual case: a reset without
    one); a FIN that came just before such a reset, unread, still counts as one byte.
    """
    if transport is None or _TCP_INFO is None:
        return None
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    try:
        for _ in range(8):  # a snapshot: no byte arrived between the two questions
            info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_LEN)
            if len(info) < _TCP_INFO_LEN:
                return None
            unread = int(_INT.unpack(fcntl.ioctl(sock.fileno(), termios.FIONREAD, _INT_ZERO))[0])
            count = int(_BYTES_RECEIVED.unpack_from(info, _BYTES_RECEIVED_AT)[0])
            again = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_LEN)
            if _BYTES_RECEIVED.unpack_from(again, _BYTES_RECEIVED_AT)[0] == count:
                break
    except (OSError, ValueError):
        return None
    return count - unread - (1 if fin or info[0] in _FIN_RECEIVED else 0)


log = logging.getLogger(__name__)


class ToxicStage:
    """A toxic attached to one direction of one connection (implements ``toxics.Stage``)."""

    __slots__ = ("_removed", "_timer", "active", "config", "flow", "started", "state")

    def __init__(self, flow: Flow, config: ToxicConfig, active: bool) -> None:
        self.flow = flow
        self.config = config
        self.active = active
        self.started = monotonic()
        self.state: dict[str, Any] = {}
        self._removed = False
        self._timer: asyncio.TimerHandle | None = None

    @property
    def attributes(self) -> Mapping[str, Any]:
        return self.config.attributes

    @property
    def removed(self) -> bool:
        return self._removed or self.flow.link.closed

    @property
    def toxicity(self) -> float:
        return self.config.toxicity

    @property
    def shared(self) -> dict[str, Any]:
        return self.config.shared

    def now(self) -> float:
        return monotonic()

    def random(self) -> float:
        return random.random()

    async def emit(self, chunk: Chunk) -> None:
        await self.flow.run_from(self.config.order, chunk)

    async def wait_until(self, deadline: float | None) -> bool:
        return await self.flow.wait_until(deadline)

    def call_later(self, delay: float | None, action: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if delay is None or self.removed or delay > MAX_WAIT:
            return
        link = self.flow.link
        callback = link.close if action == "close" else self.reset_connection
        self._timer = self.flow.loop.call_later(delay, callback)

    def close_connection(self) -> None:
        self.flow.link.close()

    def reset_connection(self) -> None:
        self.flow.link.reset(self.flow.direction)

    def respond(self, data: bytes) -> None:
        link = self.flow.link
        if link.closed:
            return
        other = link.flows[1 - self.flow.direction]
        dest = self.flow.src  # the side that sent this stream's bytes
        if dest is not None and not dest.is_closing():
            dest.write(data)
            other.nbytes += len(data)
        link.close()

    def give_back(self, data: bytes) -> None:
        flow = self.flow
        if not data or flow.link.closed:
            return
        flow.queue.appendleft(Chunk(data, monotonic()))
        flow.queued += len(data)
        if flow.task is None:
            flow.task = flow.loop.create_task(flow._run())

    def detach(self) -> None:
        self._removed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class Flow:
    """One direction of a connection: the toxic stages on it and the queue they work through."""

    __slots__ = (
        "_drain",
        "_waiter",
        "dest",
        "dest_paused",
        "direction",
        "eof_seen",
        "eof_sent",
        "fast",
        "fast_from",
        "link",
        "loop",
        "nbytes",
        "pending",
        "queue",
        "queued",
        "src",
        "src_paused",
        "src_protocol",
        "stages",
        "task",
    )

    def __init__(self, link: Link, direction: int) -> None:
        self.link = link
        self.loop = link.loop
        self.direction = direction
        self.src: asyncio.Transport | None = None
        self.src_protocol: asyncio.Protocol | None = None  # the protocol reading ``src``
        self.dest: asyncio.Transport | None = None
        self.stages: list[ToxicStage] = []
        self.fast = False  # until both transports are there
        self.nbytes = 0  # bytes delivered (see delivered(): the fast path is counted apart)
        self.fast_from: int | None = (
            None  # src's kernel byte count when the kernel-counted path began
        )
        self.queue: deque[Chunk] = deque()
        self.queued = 0
        self.task: asyncio.Task[None] | None = None
        self.dest_paused = False
        self.src_paused = False
        self.eof_sent = False
        self.eof_seen = False  # src's EOF was read: the kernel's count includes its FIN
        self.pending: list[bytes] | None = None  # read before the upstream connection was up
        self._drain: asyncio.Future[None] | None = None
        self._waiter: asyncio.Future[bool] | None = None

    # -- data in --------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self.dest is None:
            # uvloop may deliver data before pause_reading in connection_made takes effect
            if self.pending is None:
                self.pending = []
            self.pending.append(data)
            if self.src is not None and sum(map(len, self.pending)) > QUEUE_LIMIT:
                self.src.pause_reading()  # uvloop: pausing in connection_made is not enough
            return
        if self.fast:
            self.dest.write(data)
            self.nbytes += len(data)
            return
        self.queue.append(Chunk(data, monotonic()))
        self.queued += len(data)
        if self.queued > QUEUE_LIMIT:
            self.update_reading()
        if self.task is None:
            self.task = self.loop.create_task(self._run())

    def feed_eof(self) -> None:
        self.eof_seen = True
        if self.dest is None:
            if self.pending is None:
                self.pending = []
            self.pending.append(b"")
            return
        if self.fast:
            self.settle()
            self.send_eof()
            return
        self.queue.append(Chunk(b"", monotonic()))
        if self.task is None:
            self.task = self.loop.create_task(self._run())

    # -- the toxic chain ------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while self.queue and not self.link.closed:
                chunk = self.queue.popleft()
                if self.queued > QUEUE_LIMIT:
                    self.queued -= len(chunk.data)
                    self.update_reading()
                else:
                    self.queued -= len(chunk.data)
                await self.run_from(0, chunk)
        except Exception:  # a toxic failed: never leave the connection hanging
            log.exception(
                "toxic chain failed on proxy %s; closing the connection", self.link.proxy.name
            )
            self.link.close()
        finally:
            self.task = None
            self.refresh()

    async def run_from(self, after: int, chunk: Chunk) -> None:
        """Send ``chunk`` through the active stages added after order ``after``, then out."""
        for stage in self.stages:
            if stage.active and stage.config.order > after:
                await stage.config.toxic.pipe(stage, chunk)
                return
        await self.write(chunk)

    async def write(self, chunk: Chunk) -> None:
        if self.link.closed:
            return
        if chunk.eof:
            self.send_eof()
            return
        self.dest.write(chunk.data)  # type: ignore[union-attr]
        self.nbytes += len(chunk.data)
        if self.dest_paused:
            self._drain = self.loop.create_future()
            await self._drain

    def send_eof(self) -> None:
        if self.eof_sent or self.link.closed:
            return
        self.eof_sent = True
        dest = self.dest
        if dest is not None and dest.can_write_eof():
            try:
                dest.write_eof()
            except (OSError, RuntimeError):
                self.link.close()
                return
        self.link.eof_sent()

    async def wait_until(self, deadline: float | None) -> bool:
        """Sleep until ``deadline`` (monotonic); False when a change or the close woke us first.

        Times are ``time.monotonic()``, not ``loop.time()``: uvloop's clock and timers have 1 ms
        resolution, so a timer that fires early is simply waited again.
        """
        while True:
            if self.link.closed:
                return False
            delay = None if deadline is None else deadline - monotonic()
            if delay is not None:
                if delay <= 0:
                    return True
                if delay > MAX_WAIT:
                    delay = None  # absurdly far: wait for a change instead of overflowing a timer
            waiter: asyncio.Future[bool] = self.loop.create_future()
            self._waiter = waiter
            handle = None
            if delay is not None:
                handle = self.loop.call_later(delay, _resolve, waiter, True)
            try:
                if not await waiter:
                    return False
            finally:
                if handle is not None:
                    handle.cancel()
                if self._waiter is waiter:
                    self._waiter = None

    def poke(self) -> None:
        """Wake a waiting toxic so it re-reads its settings."""
        if self._waiter is not None:
            _resolve(self._waiter, False)
        if self._drain is not None and self.link.closed:
            _resolve(self._drain, None)

    # -- the fast path ---------------------------------------------------------------------------
    def delivered(self) -> int:
        """Bytes delivered so far, those of the kernel-counted fast path included."""
        if self.fast_from is None:
            return self.nbytes
        now = bytes_received(self.src, self.eof_seen)
        return self.nbytes + (now - self.fast_from if now is not None else 0)

    def settle(self) -> None:
        """Fold the kernel-counted bytes into ``nbytes`` (before leaving the fast path or closing)."""
        if self.fast_from is not None:
            now = bytes_received(self.src, self.eof_seen)
            if now is not None:
                self.nbytes += max(0, now - self.fast_from)
            self.fast_from = None

    def set_fast(self, fast: bool) -> None:
        """Enter or leave the fast path; on it, ``src``'s protocol hands each chunk straight to
        ``dest.write`` (no Python frame on uvloop) when the kernel can count the bytes, else its
        ``data_received`` does (and counts)."""
        self.fast = fast
        src, protocol, dest = self.src, self.src_protocol, self.dest
        bind = fast and src is not None and protocol is not None and dest is not None
        if bind == (self.fast_from is not None):
            return
        if src is None or protocol is None or src.is_closing():
            return
        if bind:
            assert dest is not None
            base = bytes_received(src, self.eof_seen)
            if base is None:
                return
            self.fast_from = base
            protocol.data_received = dest.write  # type: ignore[method-assign]
        else:
            self.settle()
            protocol.__dict__.pop("data_received", None)
        src.set_protocol(protocol)  # uvloop caches data_received: make it read it again

    # -- toxics coming and going ----------------------------------------------------------------
    def refresh(self) -> None:
        self.set_fast(
            self.dest is not None and self.task is None and not any(s.active for s in self.stages)
        )
        if self.fast:
            self.link.consider_relay()

    def attach(self, config: ToxicConfig, active: bool) -> None:
        stage = ToxicStage(self, config, active)
        self.stages.append(stage)
        self.stages.sort(key=lambda s: s.config.order)
        if active:
            self.set_fast(False)
            config.toxic.attach(stage)

    def changed(self, config: ToxicConfig, active: bool) -> None:
        for stage in self.stages:
            if stage.config is config:
                was = stage.active
                stage.active = active
                if active and not was:
                    stage.started = monotonic()
                    config.toxic.attach(stage)
                elif was and not active:
                    stage.call_later(None, "close")
                elif active:
                    config.toxic.changed(stage)
        self.refresh()
        self.poke()

    def detach(self, config: ToxicConfig) -> None:
        for stage in list(self.stages):
            if stage.config is config:
                self.stages.remove(stage)
                stage.detach()
                if stage.active:
                    config.toxic.detach(stage)
        self.refresh()
        self.poke()

    # -- flow control ---------------------------------------------------------------------------
    def update_reading(self) -> None:
        src = self.src
        if src is None or self.link.closed or self.link.relay is not None:
            return
        pause = self.dest_paused or self.queued > QUEUE_LIMIT or not self.link.connected
        if pause == self.src_paused:
            return
        self.src_paused = pause
        try:
            if pause:
                src.pause_reading()
            else:
                src.resume_reading()
        except (RuntimeError, AttributeError):
            pass

    def set_dest_paused(self, paused: bool) -> None:
        self.dest_paused = paused
        if not paused and self._drain is not None:
            _resolve(self._drain, None)
            self._drain = None
        self.update_reading()
        if not paused and self.fast:
            self.link.consider_relay()

    def close(self) -> None:
        for stage in self.stages:
            stage.detach()
        self.queue.clear()
        self.poke()
        if self._drain is not None:
            _resolve(self._drain, None)


def _resolve(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


class Link:
    """A client connection and its upstream connection, with their two flows."""

    __slots__ = (
        "_relay_handle",
        "_relay_tries",
        "client",
        "closed",
        "connected",
        "draws",
        "flows",
        "loop",
        "proxy",
        "relay",
        "relay_done",
        "upstream",
    )

    def __init__(self, proxy: LinkOwner, loop: asyncio.AbstractEventLoop) -> None:
        self.proxy = proxy
        self.loop = loop
        self.client: asyncio.Transport | None = None
        self.upstream: asyncio.Transport | None = None
        self.closed = False
        self.connected = False
        self.flows = (Flow(self, UPSTREAM), Flow(self, DOWNSTREAM))
        self.draws: dict[int, bool] = {}
        self.relay: _relay.Relayed | None = None  # while the relay thread moves the bytes
        self.relay_done = False  # the thread gave the connection back at an EOF or an error
        self._relay_handle: asyncio.Handle | None = None
        self._relay_tries = 0

    def _drawn(self, config: ToxicConfig) -> bool:
        """Toxicity is drawn once per connection and toxic (both directions share the draw)."""
        if config.toxic.http:
            return True
        active = self.draws.get(config.order)
        if active is None:
            active = self.draws[config.order] = random.random() < config.toxicity
        return active

    def toxic_added(self, config: ToxicConfig) -> None:
        self.take_back()
        active = self._drawn(config)
        for direction in config.directions:
            self.flows[direction].attach(config, active)

    def toxic_changed(self, config: ToxicConfig, redraw: bool) -> None:
        self.take_back()
        if redraw:
            self.draws.pop(config.order, None)
        active = self._drawn(config)
        for direction in config.directions:
            self.flows[direction].changed(config, active)

    def toxic_removed(self, config: ToxicConfig) -> None:
        self.take_back()
        self.draws.pop(config.order, None)
        for direction in config.directions:
            self.flows[direction].detach(config)

    # -- lifecycle ------------------------------------------------------------------------------
    def client_made(self, transport: asyncio.Transport, protocol: asyncio.Protocol) -> None:
        self.client = transport
        transport.set_write_buffer_limits(WRITE_HIGH, WRITE_LOW)
        up, down = self.flows
        up.src = down.dest = transport
        up.src_protocol = protocol
        down.refresh()
        up.src_paused = True
        transport.pause_reading()
        self.proxy.link_opened(self)
        for config in self.proxy.toxic_configs():
            self.toxic_added(config)
        self.loop.create_task(self._connect())

    async def _connect(self) -> None:
        host, port = self.proxy.upstream_address()
        try:
            # asyncio.timeout, not wait_for: no second Task per connection (Python 3.11)
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await self.loop.create_connection(lambda: UpstreamProtocol(self), host, port)
        except (TimeoutError, OSError, ValueError):
            self.close()
            return
        if self.closed and self.upstream is not None:
            self.upstream.close()

    def upstream_made(self, transport: asyncio.Transport, protocol: asyncio.Protocol) -> None:
        self.upstream = transport
        transport.set_write_buffer_limits(WRITE_HIGH, WRITE_LOW)
        up, down = self.flows
        up.dest = down.src = transport
        down.src_protocol = protocol
        if self.closed:
            transport.close()
            return
        self.connected = True
        up.refresh()
        down.refresh()
        if up.pending is not None:
            pending, up.pending = up.pending, None
            for data in pending:
                if data:
                    up.feed(data)
                else:
                    up.feed_eof()
        up.update_reading()

    def eof_sent(self) -> None:
        if self.flows[0].eof_sent and self.flows[1].eof_sent:
            self.close()

    def close(self) -> None:
        """Close both sides gracefully: what was written is flushed, then FIN."""
        if self.closed:
            return
        if self.relay is not None:
            self.take_back()
            if self.closed:
                return
        self.closed = True
        for flow in self.flows:
            flow.settle()  # while the sockets are open
            flow.close()
        for transport in (self.client, self.upstream):
            if transport is not None:
                transport.close()
        self.proxy.link_closed(self)

    def reset(self, direction: int) -> None:
        """RST the side receiving ``direction``'s bytes (the client for downstream)."""
        self.take_back()
        if self.closed:
            return
        victim = self.client if direction == DOWNSTREAM else self.upstream
        for flow in self.flows:
            flow.settle()  # before the abort closes the victim's socket
        if victim is not None and not victim.is_closing():
            sock = victim.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
            victim.abort()
        self.close()

    def lost(self) -> None:
        self.close()

    # -- the relay thread (relay.py) ------------------------------------------------------------
    def consider_relay(self) -> None:
        """Hand the connection to the relay thread soon, if it still has no active toxic then."""
        if (
            self.relay is None
            and self._relay_handle is None
            and not self.relay_done
            and self.connected
            and not self.closed
            and _relay.RELAY is not None
        ):
            self._relay_handle = self.loop.call_soon(self._relay_start)

    def _relayable(self) -> bool:
        for flow in self.flows:
            if (
                not flow.fast
                or flow.fast_from is None  # the kernel cannot count the bytes
                or flow.task is not None
                or flow.eof_seen
                or flow.eof_sent
                or flow.src_paused
                or flow.dest_paused
                or flow.pending
            ):
                return False
        return True

    def _relay_start(self) -> None:
        self._relay_handle = None
        relay = _relay.RELAY
        client, upstream = self.client, self.upstream
        if (
            relay is None
            or self.relay is not None
            or self.relay_done
            or self.closed
            or not self.connected
            or client is None
            or upstream is None
            or client.is_closing()
            or upstream.is_closing()
            or not self._relayable()
        ):
            return
        if client.get_write_buffer_size() or upstream.get_write_buffer_size():
            # the loop still holds bytes to send (uvloop sends at the end of its turn): the
            # thread may only write once they are out
            if self._relay_tries < 20:
                self._relay_tries += 1
                self._relay_handle = self.loop.call_later(
                    0.001 * self._relay_tries, self._relay_start
                )
            return
        client_sock, upstream_sock = (
            client.get_extra_info("socket"),
            upstream.get_extra_info("socket"),
        )
        if client_sock is None or upstream_sock is None:
            self.relay_done = True
            return
        client.pause_reading()
        upstream.pause_reading()
        entry = relay.adopt(self, self.loop, client_sock.fileno(), upstream_sock.fileno())
        if entry is None:
            self.relay_done = True
            client.resume_reading()
            upstream.resume_reading()
            return
        self.relay = entry
        for flow in self.flows:
            flow.src_paused = True

    def take_back(self) -> None:
        """Make the loop relay the connection again (before a toxic changes, or a close): waits
        until the relay thread let go of the sockets, sends what it held, reads again."""
        entry = self.relay
        if entry is None:
            return
        relay = _relay.RELAY
        if relay is not None:
            relay.release(entry)
        self._restore(entry)

    def relay_returned(self, entry: _relay.Relayed) -> None:
        """The thread gave the connection back at an EOF, error or hang-up: the loop reads the
        sockets again, meets it on its usual path, and the connection stays on the loop."""
        if self.relay is entry:
            self.relay_done = True
            self._restore(entry)

    def _restore(self, entry: _relay.Relayed) -> None:
        if self.relay is not entry:
            return
        self.relay = None
        up, down = self.flows
        if entry.to_upstream and up.dest is not None and not up.dest.is_closing():
            up.dest.write(entry.to_upstream)
        if entry.to_client and down.dest is not None and not down.dest.is_closing():
            down.dest.write(entry.to_client)
        if entry.reason == "error":
            self.close()
            return
        for flow in self.flows:
            flow.update_reading()


class ClientProtocol(asyncio.Protocol):
    """The accepted side of a proxied connection (no ``__slots__``: on the fast path its flow
    sets ``data_received`` on the instance)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.up, self.down = link.flows

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.link.client_made(transport, self)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        flow = self.up
        if flow.fast:  # the hot path: no toxic, straight to the other socket
            flow.dest.write(data)  # type: ignore[union-attr]
            flow.nbytes += len(data)
        else:
            flow.feed(data)

    def eof_received(self) -> bool:
        self.up.feed_eof()
        return True

    def pause_writing(self) -> None:
        self.down.set_dest_paused(True)

    def resume_writing(self) -> None:
        self.down.set_dest_paused(False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.lost()


class UpstreamProtocol(asyncio.Protocol):
    """The connection from the proxy to the upstream server (no ``__slots__``, as above)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.up, self.down = link.flows

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.link.upstream_made(transport, self)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        flow = self.down
        if flow.fast:
            flow.dest.write(data)  # type: ignore[union-attr]
            flow.nbytes += len(data)
        else:
            flow.feed(data)

    def eof_received(self) -> bool:
        self.down.feed_eof()
        return True

    def pause_writing(self) -> None:
        self.up.set_dest_paused(True)

    def resume_writing(self) -> None:
        self.up.set_dest_paused(False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.lost()
