"""Hooks the running service plugs into the web app, each optional.

``prodshield serve`` wires the monitor's run-now callback, the scheduler's lag and the background
workers (scheduler, outbox, log follower) here; an endpoint whose hook is missing answers 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Gauge = tuple[str, str, list[str], list[tuple[list[str], float]]]
"""A gauge family for ``/metrics``: name, help, label names, (label values, value) samples."""


class RunCheckNow(Protocol):
    """Run one check now (every environment when ``environment`` is None); return its results."""

    def __call__(self, check: str, environment: str | None) -> Awaitable[list[dict[str, Any]]]: ...


@runtime_checkable
class BackgroundService(Protocol):
    """A long-lived task started with the app and stopped (drained) when it shuts down."""

    name: str

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set, then finish in-flight work and return."""
        ...


@dataclass
class Services:
    """Everything optional the web app can call into; missing hooks make their endpoints 503."""

    run_check: RunCheckNow | None = None
    heartbeat_signal: Callable[[str, str, str], None] | None = None
    """Told (check, environment, signal) when a heartbeat ping is recorded (on the event loop):
    the monitor runs the check at once instead of at its next slot."""
    scheduler_lag: Callable[[], float | None] | None = None
    """Seconds the scheduler is behind; also settable through ``metrics.set_scheduler_lag``."""
    background: list[BackgroundService] = field(default_factory=list)
    """Started in the app lifespan, in order; stopped in reverse order."""
    on_reload: list[Callable[[Any], None]] = field(default_factory=list)
    """Called with the new ``LoadedConfig`` after SIGHUP loaded a valid config."""
    store_size: Callable[[], Any] | None = None
    """The retention service's last measurement of the store (a ``StoreSize``), for /metrics."""
    ready: Callable[[], bool] | None = None
    """Extra readiness condition for ``/readyz`` (e.g. the scheduler has started)."""
    connections: Any = None
    """The web server's :class:`~prodshield.web.connections.ConnectionLimits` (``/metrics``)."""
    gauges: list[Callable[[], list[Gauge]]] = field(default_factory=list)
    """Extra gauges for ``/metrics`` (the log follower's lag), read at scrape time."""
    problems: list[Callable[[], dict[str, str]]] = field(default_factory=list)
    """What is wrong right now, per component (``/readyz`` reports it as degraded): a store that
    refuses writes, a log source that vanished... Each callable returns {component: message}."""
    notes: list[Callable[[], dict[str, str]]] = field(default_factory=list)
    """What the operator should know that is not wrong (``/readyz`` lists it under ``notes``,
    still ready): a followed log source read as raw. Each returns {component: message}."""
