"""Bounds on the web server's connections, so HTTP clients cannot blind the checks.

Three defences, all in the HTTP protocol layer (uvicorn has none of them for idle connections):

- a header-read deadline: a connection must deliver a whole request, head and body, within
  ``header_timeout`` of being opened or of its previous response (slowloris: one header line every
  few seconds, a body a byte at a time, or nothing at all), else it is closed (h11's ``SEND_BODY``
  keeps the deadline running);
- connection limits, overall and per client address: above them a new connection gets a
  ``503`` at once and is closed (connections from ``serve.trusted_proxies`` count only overall).
  A client at its own limit still gets a few connections (:data:`PROBE_SLOTS`), and a server at
  its overall limit a few more (:data:`PROBE_RESERVE`, all clients together, at most
  :data:`PROBE_SLOTS` of them per client), on which only ``GET``/``HEAD /healthz`` and
  ``/readyz`` are answered: the request line is read first, anything else gets the ``503``, the
  whole request must be in within :data:`PROBE_DEADLINE` (or ``header_timeout`` if shorter), and
  the connection closes after the probe; so a load balancer's probe is answered at any load,
  and idle connections cannot hold those slots for long;
- a descriptor budget: at start the soft ``RLIMIT_NOFILE`` is raised to the hard one, and the
  web server may hold at most what is left after a reserve for the checks, the store and the log
  sources (:func:`descriptor_budget`), so no web load makes a check fail for want of a socket.

The counters are shown on ``/metrics`` and refusals on ``/readyz``.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from prodshield.config import LoadedConfig
from prodshield.web.security import client_key, in_networks, networks
from prodshield.web.work import Recent

log = logging.getLogger("prodshield.serve")

BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\nretry-after: 5\r\ncontent-length: 29\r\n\r\n"
    b"too many connections: retry\n"
)
"""What a connection over a limit gets, before anything is read from it."""

BASE_RESERVE = 160
"""Descriptors kept for everything but checks and log files: the store's connections (SQLite
opens three files per connection), the event loop, pipes, threads' resolvers, TLS files, and
the :data:`PROBE_RESERVE` probe connections past the overall limit."""
PER_CHECK = 2
"""A check in flight holds a socket, and sometimes a resolver's socket."""
PER_LOG_SOURCE = 4
MIN_WEB = 32
RECENT = 300.0
PROBE_SLOTS = 4
"""Connections a client at its per-client limit (or at the overall limit) may still hold, each
for one health probe."""
PROBE_RESERVE = 8
"""Connections past the overall limit, all clients together, each for one health probe (out of
:data:`BASE_RESERVE`'s descriptors)."""
PROBE_DEADLINE = 2.0
"""Seconds a probe-only connection has to send its whole request (``header_timeout`` if
shorter): a probe sends it at once, and an idle connection frees its slot soon."""
PROBE_PATHS = (b"/healthz", b"/readyz")
REQUEST_LINE_MAX = 2048
"""Bytes read, on a probe-only connection, before the request line must have ended."""


def is_probe(head: bytes) -> bool | None:
    """Whether the request starting with ``head`` is a health probe (``GET``/``HEAD`` of
    ``/healthz`` or ``/readyz``); None while its request line is not complete."""
    end = head.find(b"\n")
    if end < 0:
        return None if len(head) < REQUEST_LINE_MAX else False
    parts = head[:end].rstrip(b"\r").split(b" ")
    if len(parts) != 3 or parts[0] not in (b"GET", b"HEAD"):
        return False
    return parts[1].split(b"?", 1)[0] in PROBE_PATHS


@dataclass(frozen=True)
class Budget:
    soft: int
    """RLIMIT_NOFILE after raising the soft limit to the hard one."""
    hard: int
    reserve: int
    """Descriptors kept for the checks, the store and the log sources."""
    web: int
    """Connections the web server may hold."""
    configured: int
    """serve.limits.max_connections."""

    @property
    def short(self) -> bool:
        """The descriptor limit leaves the web server less than it was configured with."""
        return self.web < self.configured


def raise_descriptor_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return (soft, hard) as they now are."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft, hard


def descriptor_budget(loaded: LoadedConfig, soft: int, hard: int) -> Budget:
    """How many connections the web server may hold under a descriptor limit of ``soft``."""
    from prodshield.monitor.api import select_targets

    config = loaded.config
    targets = len(select_targets(config))
    in_flight = min(config.defaults.concurrency, targets)
    reserve = BASE_RESERVE + PER_CHECK * in_flight + PER_LOG_SOURCE * len(config.logs.sources)
    configured = config.serve.limits.max_connections
    web = max(MIN_WEB, min(configured, soft - reserve))
    return Budget(soft=soft, hard=hard, reserve=reserve, web=web, configured=configured)


class ConnectionLimits:
    """The counters and limits every connection of one server shares."""

    def __init__(
        self,
        *,
        max_connections: int,
        per_client: int,
        header_timeout: float,
        trusted: list[str] | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.max_connections = max_connections
        self.per_client = per_client
        self.header_timeout = header_timeout
        self.trusted = networks(trusted or [])
        self.budget = budget
        self.open = 0
        self.by_client: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        """Refused connections by reason (``overall``, ``per_client``)."""
        self.probing: Counter[str] = Counter()
        """Probe-only connections (over the per-client or the overall limit) by client."""
        self.reserved = 0
        """Probe-only connections past the overall limit (at most :data:`PROBE_RESERVE`)."""
        self.recent = Recent(RECENT)
        """Refusals of the last :data:`RECENT` seconds (what /readyz counts)."""
        self.header_timeouts = 0
        self.last_refused: float | None = None
        self._warned = 0.0

    @classmethod
    def from_config(cls, loaded: LoadedConfig, budget: Budget) -> ConnectionLimits:
        serve = loaded.config.serve
        return cls(
            max_connections=budget.web,
            per_client=serve.limits.max_connections_per_client,
            header_timeout=serve.limits.header_timeout,
            trusted=serve.trusted_proxies,
            budget=budget,
        )

    def update(self, loaded: LoadedConfig) -> None:
        """A reloaded config: new per-client limit, header timeout and trusted proxies (the
        overall limit stays: it depends on the descriptor budget taken at start)."""
        serve = loaded.config.serve
        self.per_client = serve.limits.max_connections_per_client
        self.header_timeout = serve.limits.header_timeout
        self.trusted = networks(serve.trusted_proxies)

    def admit(self, host: str, peer: str | None = None) -> str | None:
        """Count a new connection from ``host`` (a :func:`client_key`; ``peer``: the address
        itself); return why it is refused, or None."""
        reason = self.over(host, peer)
        if reason is not None:
            self.refuse(reason, host)
            return reason
        self.open += 1
        self.by_client[host] += 1
        return None

    def over(self, host: str, peer: str | None = None) -> str | None:
        """The limit a new connection from ``host`` is over, or None (nothing is counted)."""
        if self.open >= self.max_connections:
            return "overall"
        if self.by_client[host] >= self.per_client and not in_networks(peer or host, self.trusted):
            return "per_client"
        return None

    def admit_probe(self, host: str, reason: str) -> bool:
        """Hold a probe-only connection for ``host``, over the limit ``reason`` names, if a slot
        is free: at its per-client limit within the overall one, at the overall limit in the
        reserve (neither more than :data:`PROBE_SLOTS` for one client)."""
        if self.probing[host] >= PROBE_SLOTS:
            return False
        if reason == "overall":
            if self.reserved >= PROBE_RESERVE:
                return False
            self.reserved += 1
        elif self.open >= self.max_connections:
            return False
        else:
            self.open += 1
        self.probing[host] += 1
        return True

    def release_probe(self, host: str, reason: str) -> None:
        if reason == "overall":
            self.reserved -= 1
        else:
            self.open -= 1
        self.probing[host] -= 1
        if self.probing[host] <= 0:
            del self.probing[host]

    def refuse(self, reason: str, host: str) -> None:
        """Count a connection refused for ``reason`` (warned at most once a minute)."""
        self.refused[reason] += 1
        now = time.monotonic()
        self.last_refused = time.time()
        self.recent.add()
        if now - self._warned > 60:
            self._warned = now
            log.warning(
                "refusing connections (%s limit): %d open, %d from %s; limits %d overall, "
                "%d per client",
                reason.replace("_", " "),
                self.open,
                self.by_client[host],
                host,
                self.max_connections,
                self.per_client,
            )

    def release(self, host: str) -> None:
        self.open -= 1
        self.by_client[host] -= 1
        if self.by_client[host] <= 0:
            del self.by_client[host]

    def problems(self) -> dict[str, str]:
        """For /readyz: connections refused in the last five minutes."""
        recent = self.recent.count()
        if not recent:
            return {}
        return {
            "web:connections": f"{recent} connection(s) refused in the last 5 minutes "
            f"(limits: {self.max_connections} overall, {self.per_client} per client); "
            f"{self.open} open now"
        }


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the limits and the header-read deadline of
    :class:`ConnectionLimits` (``limits`` is set on a subclass per server)."""

    limits: ConnectionLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._host: str | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._probe: bytearray | None = None
        """Over a limit: the bytes read until the request line shows a probe."""
        self._probe_only: str | None = None
        """The limit a probe-only connection is over (``per_client``, ``overall``), or None."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "unix"
        host = client_key(address)
        reason = self.limits.over(host, address)
        if reason is not None and self.limits.admit_probe(host, reason):
            self._probe = bytearray()
            self._probe_only = reason
        elif reason is not None:
            self.limits.refuse(reason, host)
            transport.write(BUSY)
            transport.close()
            return
        else:
            self.limits.admit(host, address)
        self._host = host
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._host is None:
            return  # refused: nothing was set up
        if self._probe_only is not None:
            self.limits.release_probe(self._host, self._probe_only)
        else:
            self.limits.release(self._host)
        self._host = None
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._host is None:
            return
        if self._probe is not None:
            self._probe += data
            probe = is_probe(bytes(self._probe))
            if probe is None:
                return  # the request line is not in yet (the header deadline still runs)
            if not probe:
                self.limits.refuse(self._probe_only or "per_client", self._host)
                self.transport.write(BUSY)
                self.transport.close()
                return
            data, self._probe = bytes(self._probe), None
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()  # the whole request is in: the app's time is not the client's

    def on_response_complete(self) -> None:
        if self._probe_only is not None:
            self.transport.close()  # one probe per connection over the limit, nothing pipelined
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm()  # the next request on this keep-alive connection has the same deadline

    def _arm(self) -> None:
        self._disarm()
        wait = self.limits.header_timeout
        if self._probe_only is not None:
            wait = min(wait, PROBE_DEADLINE)  # a probe slot is not held by an idle connection
        self._deadline = self.loop.call_later(wait, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE or self.conn.their_state is h11.SEND_BODY:
            self.limits.header_timeouts += 1
            self.transport.close()


def bounded_protocol(limits: ConnectionLimits) -> type[BoundedH11Protocol]:
    """A protocol class for uvicorn's ``http=`` whose connections share ``limits``."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,), {"limits": limits})
