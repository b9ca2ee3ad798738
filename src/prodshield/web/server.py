"""Running the web app under uvicorn, with the background services in the same process.

``prodshield serve`` builds :class:`~prodshield.web.services.Services` through the factories in
:data:`SERVICE_FACTORIES` (the rollup of hourly aggregates today; the scheduler, outbox worker and
log follower register theirs here), then :func:`serve` runs uvicorn until SIGTERM/SIGINT, which
stop accepting connections, finish in-flight requests and stop the background services.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from prodshield.config import LoadedConfig, load_config
from prodshield.errors import ConfigError, ProdshieldError
from prodshield.monitor.heartbeats import forget_listening, record_listening
from prodshield.store import Store
from prodshield.web.app import apply_config, create_app
from prodshield.web.connections import (
    Budget,
    ConnectionLimits,
    bounded_protocol,
    descriptor_budget,
    raise_descriptor_limit,
)
from prodshield.web.rollup import RollupService
from prodshield.web.services import Services

log = logging.getLogger("prodshield.serve")

SWITCH_INTERVAL = 0.001
"""Seconds a thread holds the interpreter lock before the event loop may take it (Python's
default is 0.005). While page workers render, each step of a probe's request waits for the lock:
at 1 ms, /healthz under 200 clients answered p99 52 ms instead of 139 ms, the pages served as
many (``benchmarks/web.py --probes``)."""

ServiceFactory = Callable[[LoadedConfig, Store, Services], None]
"""Adds hooks or background services to ``Services`` for one loaded config and store."""


def _rollup(loaded: LoadedConfig, store: Store, services: Services) -> None:
    services.background.append(RollupService(store))


def _retention(loaded: LoadedConfig, store: Store, services: Services) -> None:
    from datetime import UTC, datetime

    from prodshield.notify import Event, enqueue
    from prodshield.store.retention import RetentionService

    notifiers = list(loaded.config.notifiers)

    def warn(message: str) -> None:
        log.warning("store: %s", message)
        if not notifiers:
            return
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        enqueue(
            store,
            notifiers,
            Event(
                key=f"store-warning:{day}",
                type="store.warning",
                subject=f"store-warning:{day}",
                title="The prodshield store is near its limit",
                severity="high",
                body=f"{message}. Shorten `retention.*`, raise `retention.max_store_size` "
                "or give the store more disk.",
            ),
        )

    service = RetentionService(store, loaded.config.retention, on_warning=warn)
    services.background.append(service)
    services.problems.append(service.problems)
    services.store_size = lambda: service.size


def _capabilities(loaded: LoadedConfig, store: Store, services: Services) -> None:
    from prodshield.web.background import add_capabilities

    add_capabilities(loaded, store, services)


def _status_comments(loaded: LoadedConfig, store: Store, services: Services) -> None:
    """``/status`` comments on open incidents' GitHub issues become status updates."""
    if not any(getattr(c, "type", None) == "github" for c in loaded.config.notifiers.values()):
        return
    from prodshield.monitor.status_comments import StatusCommentService

    interval = min(30.0, float(loaded.config.defaults.interval))
    services.background.append(StatusCommentService(store, loaded, interval=interval))


SERVICE_FACTORIES: list[ServiceFactory] = [
    _rollup,
    _retention,
    _capabilities,
    _status_comments,
]


class _Server(uvicorn.Server):
    """uvicorn's server, returning normally after SIGTERM/SIGINT instead of re-raising them, and
    calling ``on_hup`` on SIGHUP."""

    on_hup: Callable[[], None] | None = None
    on_bound: Callable[[int], None] | None = None
    """Called once listening, with the port actually bound (``port: 0`` asks for a free one)."""

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_bound is not None:
            self.on_bound(bound_port(self.servers, int(self.config.port)))

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {s: signal.signal(s, self.handle_exit) for s in (signal.SIGINT, signal.SIGTERM)}
        if self.on_hup is not None and hasattr(signal, "SIGHUP"):
            hup = self.on_hup
            original[signal.SIGHUP] = signal.signal(signal.SIGHUP, lambda *_: hup())
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def bound_port(servers: list[Any], asked: int) -> int:
    """The TCP port the first listening socket is bound to (``asked`` when there is none)."""
    for server in servers:
        for sock in server.sockets or ():
            name = sock.getsockname()
            if isinstance(name, tuple) and len(name) >= 2:
                return int(name[1])
    return asked


def build_services(loaded: LoadedConfig, store: Store) -> Services:
    services = Services()
    for factory in SERVICE_FACTORIES:
        factory(loaded, store, services)
    return services


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ensure_bindable(host: str, port: int) -> None:
    """Refuse, in one line, an address that cannot be listened on (a port another process holds,
    an address not on this machine) before anything starts: uvicorn would log its own ``ERROR:``
    line only after the background services had begun checking and writing."""
    if port == 0:
        return
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            sock.bind(address)
    except OSError as exc:
        shown = f"[{host}]" if ":" in host else host
        reason = exc.strerror or str(exc)
        hint = (
            " (another prodshield serve, or another server? choose one with --port or serve.port)"
            if exc.errno == errno.EADDRINUSE
            else ""
        )
        raise ProdshieldError(f"cannot listen on {shown}:{port}: {reason}{hint}") from None


def serve(
    loaded: LoadedConfig,
    store: Store,
    *,
    token: str,
    host: str,
    port: int,
    services: Services | None = None,
    on_ready: Callable[[str], None] | None = None,
    on_reload: Callable[[LoadedConfig | None, list[str]], None] | None = None,
    on_limits: Callable[[Budget], None] | None = None,
) -> None:
    """Serve until a signal stops the process; returns after a clean shutdown.

    SIGHUP reloads the config file: a valid one replaces the running config (``on_reload(fresh,
    notes)``, the notes saying what changed that matters: a new token, what waits for a restart), a
    bad one is refused (``on_reload(None, problems)``) and the old one keeps running.

    Connections are bounded (:mod:`prodshield.web.connections`): ``on_limits`` is told the
    descriptor budget once it is set.
    """
    ensure_bindable(host, port)
    soft, hard = raise_descriptor_limit()
    budget = descriptor_budget(loaded, soft, hard)
    limits = ConnectionLimits.from_config(loaded, budget)
    if on_limits is not None:
        on_limits(budget)
    services = services or build_services(loaded, store)
    services.connections = limits
    services.problems.append(limits.problems)
    services.on_reload.append(limits.update)
    app = create_app(loaded, store, token=token, services=services)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=bounded_protocol(limits),
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
        proxy_headers=False,
    )
    server = _Server(config)

    running: dict[str, Any] = {
        "token": token,
        "configured": loaded.config.serve.token is not None,
        "users": dict(loaded.config.serve.users),
    }

    def reload() -> None:
        try:
            fresh = load_config(loaded.path, validators=loaded.validators)
        except ConfigError as exc:
            if on_reload is not None:
                on_reload(None, exc.problems)
            return
        except ProdshieldError as exc:
            if on_reload is not None:
                on_reload(None, [str(exc)])
            return
        notes = []
        wanted = fresh.config.serve.token
        if wanted is not None and wanted != running["token"]:
            app.state.ctx.guard.set_token(wanted)
            running.update(token=wanted, configured=True)
            notes.append("serve.token changed: the previous token and its sessions no longer work")
        elif wanted is None and running["configured"]:
            notes.append(
                "serve.token removed from the config: the running token stays until a restart"
            )
        users = dict(fresh.config.serve.users)
        gone = sorted(n for n, secret in running["users"].items() if users.get(n) != secret)
        if gone:
            notes.append(
                f"serve.users: the old tokens and sessions of {', '.join(gone)} no longer work"
            )
        running["users"] = users
        was = loaded.config.serve
        if (fresh.config.serve.host, fresh.config.serve.port) != (was.host, was.port):
            notes.append("serve.host/serve.port changed: they take effect at the next start")
        apply_config(app, fresh)
        if on_reload is not None:
            on_reload(fresh, notes)

    server.on_hup = reload
    server.on_bound = _on_bound(app, store, host, on_ready)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        server.run()
    finally:
        sys.setswitchinterval(switch)
        if app.state.ctx.bound is not None:
            with contextlib.suppress(Exception):
                forget_listening(store, *app.state.ctx.bound)


def _on_bound(
    app: Any, store: Store, host: str, on_ready: Callable[[str], None] | None
) -> Callable[[int], None]:
    """What serve does once its socket is bound, with the real port (``serve.port: 0`` picks a
    free one): the pages' heartbeat URLs use it, the store keeps it for ``run-job`` (another
    process), and ``on_ready`` is told the URL."""
    shown = f"[{host}]" if ":" in host else host

    def bound(port: int) -> None:
        app.state.ctx.bound = (host, port)
        try:
            record_listening(store, host, port)
        except Exception as exc:  # the store is down: the pages still know the port
            log.warning("could not record the address serve listens on: %s", exc)
        if on_ready is not None:
            on_ready(f"http://{shown}:{port}/")

    return bound
