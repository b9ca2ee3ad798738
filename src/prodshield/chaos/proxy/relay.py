"""The relay thread: connections with no active toxic relayed outside the event loop (Linux).

While neither direction of a connection has an active toxic, the event loop stops reading its two
sockets and hands duplicates of their descriptors to one thread running its own epoll loop: a
``recv_into`` a reused buffer, a ``send`` to the other socket, nothing else per chunk (no bytes
object, no callback into the loop). Measured against the loop's own fast path (uvloop reading into
a new bytes object and calling the other transport's bound ``write``), this costs less CPU per
small request; see docs/chaos-proxy.md.

The loop takes a connection back (``release``) before a toxic is added, changed or removed and
before it closes the connection: the call waits for the thread to let go of both sockets (one turn
of the thread's loop), returning the bytes it had read but not yet sent, so a toxic applies to the
next byte, as Toxiproxy's do. The thread gives a connection back by itself at the first EOF, error
or hang-up (``Owner.relay_returned`` on the loop): the loop reads the socket again and meets the
EOF or the error on its usual path. Duplicated descriptors keep a socket open while the thread
holds it, so a descriptor number is never reused under the thread's feet.

The kernel keeps counting the bytes (TCP_INFO on the reading socket, as on the loop's fast path).
Where epoll or eventfd is missing, ``RELAY`` is None and connections stay on the loop's fast path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import socket
import threading
from collections import deque
from typing import Protocol

log = logging.getLogger(__name__)

BUFFER = 1 << 18  # as uvloop reads: a bulk transfer moves in fewer, larger chunks
RELEASE_TIMEOUT = 5.0
_IN = getattr(select, "EPOLLIN", 1)
_OUT = getattr(select, "EPOLLOUT", 4)
_HANGUP = getattr(select, "EPOLLHUP", 16) | getattr(select, "EPOLLERR", 8)


class Owner(Protocol):
    """What the relay needs from a connection (``link.Link``): to be told on its loop that the
    thread gave it back by itself."""

    def relay_returned(self, entry: Relayed) -> None: ...


class _Side:
    """One socket of a relayed connection, as the thread sees it."""

    __slots__ = ("entry", "fd", "peer", "pending", "reading", "sock")

    def __init__(self, entry: Relayed, sock: socket.socket) -> None:
        self.entry = entry
        self.sock = sock
        self.fd = sock.fileno()
        self.peer: _Side = self
        self.pending = b""  # read from the peer, not yet sent to this socket
        self.reading = True


class Relayed:
    """A connection while the thread relays it; after the thread let go, ``reason`` says why
    (``released``, ``eof``, ``hangup`` or ``error``) and ``to_client``/``to_upstream`` hold the
    bytes it had read and not yet sent (the loop sends them first)."""

    __slots__ = (
        "client",
        "ended",
        "loop",
        "owner",
        "reason",
        "to_client",
        "to_upstream",
        "upstream",
        "waiter",
    )

    def __init__(
        self,
        owner: Owner,
        loop: asyncio.AbstractEventLoop,
        client: socket.socket,
        upstream: socket.socket,
    ) -> None:
        self.owner = owner
        self.loop = loop
        self.client = _Side(self, client)
        self.upstream = _Side(self, upstream)
        self.client.peer, self.upstream.peer = self.upstream, self.client
        self.ended = False
        self.reason = ""
        self.to_client = b""
        self.to_upstream = b""
        self.waiter: threading.Event | None = None


class Relay:
    """The thread and its epoll; started at the first connection it adopts."""

    def __init__(self) -> None:
        self._epoll: select.epoll | None = None
        self._wake = -1
        self._commands: deque[tuple[str, Relayed]] = deque()
        self._sides: dict[int, _Side] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._epoll = select.epoll()
            self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._epoll.register(self._wake, _IN)
            self._thread = threading.Thread(
                target=self._run, name="prodshield-proxy-relay", daemon=True
            )
            self._thread.start()

    # -- called on the event loop ---------------------------------------------------------------
    def adopt(
        self, owner: Owner, loop: asyncio.AbstractEventLoop, client_fd: int, upstream_fd: int
    ) -> Relayed | None:
        """Relay the two connected sockets (descriptors the loop keeps; the thread holds
        duplicates); None when they cannot be duplicated."""
        socks: list[socket.socket] = []
        try:
            for fd in (client_fd, upstream_fd):
                sock = socket.socket(fileno=os.dup(fd))
                socks.append(sock)
                sock.setblocking(False)
        except OSError:
            for sock in socks:
                sock.close()
            return None
        self._start()
        entry = Relayed(owner, loop, socks[0], socks[1])
        self._command("adopt", entry)
        return entry

    def release(self, entry: Relayed) -> None:
        """Take ``entry`` back: returns once the thread no longer touches its sockets."""
        if entry.ended:
            return
        waiter = entry.waiter = threading.Event()
        self._command("release", entry)
        if not waiter.wait(RELEASE_TIMEOUT):  # the thread is gone: nothing touches the sockets
            log.error("the proxy relay thread did not answer in %.0f s", RELEASE_TIMEOUT)
            entry.ended = True
            entry.reason = "error"

    def _command(self, name: str, entry: Relayed) -> None:
        self._commands.append((name, entry))
        os.eventfd_write(self._wake, 1)

    # -- the thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        assert self._epoll is not None
        poll = self._epoll.poll
        buf = bytearray(BUFFER)
        while True:
            try:
                events = poll()
            except InterruptedError:
                continue
            try:
                self._handle(events, buf, memoryview(buf))
            except Exception:  # never leave every relayed connection without its thread
                log.exception("the proxy relay thread failed on one turn; it goes on")

    def _handle(self, events: list[tuple[int, int]], buf: bytearray, view: memoryview) -> None:
        """The hot path: for each readable socket, one ``recv_into`` and one ``send``."""
        sides = self._sides
        for fd, ev in events:
            side = sides.get(fd)
            if side is None:
                if fd == self._wake:
                    self._run_commands()
                continue
            if ev & _OUT or not side.reading:
                self._writable_or_stalled(side, ev)
                if not side.reading or side.entry.ended:
                    continue
            try:
                n = side.sock.recv_into(buf)
            except BlockingIOError:
                continue
            except OSError:
                self._end(side.entry, "error")
                continue
            if not n:
                self._end(side.entry, "eof")
                continue
            try:
                sent = side.peer.sock.send(view[:n])
            except BlockingIOError:
                sent = 0
            except OSError:
                self._end(side.entry, "error")
                continue
            if sent < n:  # the peer is full: stop reading until it drains
                side.peer.pending = view[sent:n].tobytes()
                side.reading = False
                self._interest(side)
                self._interest(side.peer)

    def _writable_or_stalled(self, side: _Side, ev: int) -> None:
        if ev & _OUT and side.pending:
            self._flush(side)
        elif not side.reading and ev & _HANGUP:
            self._end(side.entry, "hangup")  # a reset while its peer was full

    def _run_commands(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(self._wake)
        while self._commands:
            name, entry = self._commands.popleft()
            if name == "adopt":
                if entry.ended:
                    continue
                try:
                    for side in (entry.client, entry.upstream):
                        self._sides[side.fd] = side
                        self._interest(side, register=True)
                except OSError:
                    self._end(entry, "error")
            else:
                self._end(entry, "released")

    def _interest(self, side: _Side, register: bool = False) -> None:
        assert self._epoll is not None
        events = (_IN if side.reading else 0) | (_OUT if side.pending else 0)
        if register:
            self._epoll.register(side.fd, events)
        else:
            self._epoll.modify(side.fd, events)

    def _flush(self, side: _Side) -> None:
        try:
            sent = side.sock.send(side.pending)
        except BlockingIOError:
            return
        except OSError:
            self._end(side.entry, "error")
            return
        side.pending = side.pending[sent:]
        if not side.pending:
            side.peer.reading = True
            self._interest(side)
            self._interest(side.peer)

    def _end(self, entry: Relayed, reason: str) -> None:
        """Let go of both sockets; tell the loop unless it is waiting for exactly this."""
        if entry.ended:
            if entry.waiter is not None:
                entry.waiter.set()
            return
        assert self._epoll is not None
        for side in (entry.client, entry.upstream):
            if self._sides.get(side.fd) is side:
                del self._sides[side.fd]
                with contextlib.suppress(OSError, ValueError):
                    self._epoll.unregister(side.fd)
            side.sock.close()
        entry.to_client = entry.client.pending
        entry.to_upstream = entry.upstream.pending
        entry.reason = reason
        entry.ended = True
        if entry.waiter is not None:
            entry.waiter.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is left to tell
            entry.loop.call_soon_threadsafe(entry.owner.relay_returned, entry)


def _available() -> bool:
    return hasattr(select, "epoll") and hasattr(os, "eventfd")


RELAY: Relay | None = Relay() if _available() else None


def _after_fork() -> None:
    """A forked child has no relay thread: it starts its own at its first connection."""
    global RELAY
    if RELAY is not None:
        RELAY = Relay()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
