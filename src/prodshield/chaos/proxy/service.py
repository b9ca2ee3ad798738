"""The proxy service: a ``ProxyCollection`` plus its HTTP API, and proxies from config files."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from prodshield.chaos.proxy.http_api import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    ApiConnection,
    ToxiproxyApi,
)
from prodshield.chaos.proxy.model import ApiError
from prodshield.chaos.proxy.server import ProxyCollection
from prodshield.config.capabilities import ChaosConfig
from prodshield.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ProxyService:
    """Proxies and the Toxiproxy-compatible API in one asyncio process."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8474,
        header_timeout: float = HEADER_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        self.host = host
        self.port = port
        self.header_timeout = header_timeout
        self.collection = ProxyCollection()
        self.api = ToxiproxyApi(self.collection, body_timeout)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def exposed(self) -> str | None:
        """A warning when the API is reachable from the network, else None. The API has no
        authentication (neither has Toxiproxy's): whoever reaches it can point a proxy anywhere,
        cut connections or read the upstream addresses."""
        if is_loopback(self.host):
            return None
        return (
            f"the chaos proxy API listens on {self.host}:{self.port}, reachable from the network, "
            "and has no authentication: anyone who reaches it can redirect or break the proxied "
            "traffic; bind 127.0.0.1 (chaos.api.host, --host) unless that is what you want"
        )

    async def start(self) -> None:
        runner = web.AppRunner(self.api.app(), access_log=None, handle_signals=False)
        await runner.setup()
        server, loop = runner.server, asyncio.get_running_loop()
        assert server is not None
        try:
            # aiohttp's TCPSite, with our connection class (server counts it for shutdown)
            self._listener = await loop.create_server(
                lambda: ApiConnection(
                    server,
                    loop=loop,
                    access_log=None,
                    header_timeout=self.header_timeout,
                    lingering_time=self.api.body_timeout,  # an unread body: drained as long
                ),
                self.host,
                self.port,
                reuse_address=True,
            )
        except OSError as exc:
            await runner.cleanup()
            raise Conflict(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self._runner = runner
        if self._listener.sockets:
            self.port = self._listener.sockets[0].getsockname()[1]

    async def populate(self, proxies: list[dict[str, Any]], source: str = "config") -> None:
        try:
            await self.collection.populate(proxies)
        except ApiError as exc:
            raise Invalid(f"{source}: {exc.message}") from None

    async def close(self) -> None:
        self.collection.close()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ProxyService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def proxies_from_chaos_config(chaos: ChaosConfig) -> list[dict[str, Any]]:
    """``chaos.proxies`` of shield.yaml in the populate format (toxics included)."""
    result = []
    for spec in chaos.proxies:
        result.append(
            {
                "name": spec.name,
                "listen": spec.listen,
                "upstream": spec.upstream,
                "enabled": spec.enabled,
                "toxics": [
                    {
                        **({"name": t.name} if t.name else {}),
                        "type": t.type,
                        "stream": t.stream,
                        "toxicity": t.toxicity,
                        "attributes": dict(t.attributes),
                        **({"limit_time": t.limit_time} if t.limit_time else {}),
                    }
                    for t in spec.toxics
                ],
            }
        )
    return result


def load_proxies_json(path: Path) -> list[dict[str, Any]]:
    """A Toxiproxy ``-config`` file: a JSON array of proxies (``toxics`` per proxy allowed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NotFound(f"{path}: {exc.strerror or exc}") from None
    except OSError as exc:
        raise Invalid(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise Invalid(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(p, dict) for p in data):
        raise Invalid(f"{path}: expected a JSON array of proxy objects")
    return data


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def state_of(service: ProxyService) -> list[dict[str, Any]]:
    """The proxies and their toxics now: name, listen, upstream, enabled, toxics (API JSON)."""
    return [
        {
            "name": p.name,
            "listen": p.listen,
            "upstream": p.upstream,
            "enabled": p.enabled,
            "toxics": [t.to_json() for t in p.toxics],
        }
        for p in service.collection.proxies.values()
    ]


async def _report_state(
    service: ProxyService,
    on_state: Callable[[list[dict[str, Any]]], None],
    stop: asyncio.Event,
    every: float,
) -> None:
    """Hand the state to ``on_state`` (in a thread) when it changed, and every 30 s anyway (a
    heartbeat: a reader can tell a running proxy from one that died)."""
    loop = asyncio.get_running_loop()
    last: list[dict[str, Any]] | None = None
    written = 0.0
    while not stop.is_set():
        state = state_of(service)
        if state != last or loop.time() - written > 30.0:
            try:
                await loop.run_in_executor(None, on_state, state)
            except Exception as exc:  # the proxy keeps serving; the state is a bonus
                log.warning("chaos proxy: state not recorded: %s", exc)
            last, written = state, loop.time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


def run(
    host: str,
    port: int,
    proxies: list[tuple[str, list[dict[str, Any]]]],
    ready: Callable[[ProxyService], None] | None = None,
    on_state: Callable[[list[dict[str, Any]]], None] | None = None,
    state_every: float = 2.0,
) -> None:
    """Serve until SIGINT/SIGTERM (uvloop when installed); ``proxies`` are (source, entries);
    ``on_state`` is told the proxies and their toxics when they change (see :func:`state_of`)."""

    async def main() -> None:
        service = ProxyService(host, port)
        await service.start()
        try:
            for source, entries in proxies:
                await service.populate(entries, source)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, stop.set)
            if ready is not None:
                ready(service)
            reporter = (
                asyncio.ensure_future(_report_state(service, on_state, stop, state_every))
                if on_state is not None
                else None
            )
            await stop.wait()
            if reporter is not None:
                await reporter
        finally:
            await service.close()

    with asyncio.Runner(loop_factory=_new_loop) as runner:
        runner.run(main())
