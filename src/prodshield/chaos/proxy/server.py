"""Proxies and the collection of them: what the API acts on.

All state changes are synchronous and never wait on a connection, so the control plane answers at
once even when data paths are stalled. Binding a listener is the only awaited step.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from prodshield.chaos.proxy.link import ClientProtocol, Link
from prodshield.chaos.proxy.model import (
    BAD_REQUEST_BODY,
    DOWNSTREAM,
    MISSING_FIELD,
    PROXY_EXISTS,
    PROXY_NOT_FOUND,
    TOXIC_EXISTS,
    TOXIC_NOT_FOUND,
    UPSTREAM,
    ApiError,
    ToxicConfig,
    check_proxy_name,
    get_bool,
    get_str,
    join_address,
    parse_toxic,
    parse_toxic_update,
    require_object,
    split_address,
)

DEFAULT_LISTEN = "127.0.0.1:0"


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket; an empty host listens on every interface (IPv6 dual-stack if possible)."""
    if host in ("", "::"):
        try:
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # as Go: dual-stack
        except OSError:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            host = "0.0.0.0"
    else:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        infos.sort(key=lambda info: info[0] != socket.AF_INET)  # as Go: IPv4 first for names
        family, _, _, _, sockaddr = infos[0]
        host = str(sockaddr[0])
        sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host or "::", port) if sock.family == socket.AF_INET6 else (host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Proxy:
    """One listening address relaying to one upstream, with its toxics and open connections."""

    def __init__(self, name: str, listen: str, upstream: str) -> None:
        self.name = name
        self.listen = listen or DEFAULT_LISTEN
        self.upstream = upstream
        self.enabled = False
        self.toxics: list[ToxicConfig] = []
        self._expiry: dict[int, asyncio.TimerHandle] = {}  # toxic order -> limit_time timer
        self.links: set[Link] = set()
        self.closed_bytes = [0, 0]  # upstream, downstream: delivered by closed connections
        self.connections_total = 0
        self._server: asyncio.base_events.Server | None = None
        self._upstream_address: tuple[str, int] | None = None

    # -- used by links --------------------------------------------------------------------------
    @property
    def bytes(self) -> tuple[int, int]:
        """Bytes delivered upstream and downstream, open connections included."""
        up, down = self.closed_bytes
        for link in self.links:
            up += link.flows[0].delivered()
            down += link.flows[1].delivered()
        return up, down

    def toxic_configs(self) -> list[ToxicConfig]:
        return self.toxics

    def upstream_address(self) -> tuple[str, int]:
        if self._upstream_address is None:
            self._upstream_address = split_address(self.upstream)
        return self._upstream_address

    def link_opened(self, link: Link) -> None:
        self.links.add(link)
        self.connections_total += 1

    def link_closed(self, link: Link) -> None:
        if link in self.links:
            self.links.discard(link)
            self.closed_bytes[0] += link.flows[0].nbytes
            self.closed_bytes[1] += link.flows[1].nbytes

    # -- start and stop -------------------------------------------------------------------------
    async def start(self) -> None:
        if self.enabled:
            return
        host, port = split_address(self.listen)
        loop = asyncio.get_running_loop()
        try:
            sock = _bind(host, port)
        except OSError as exc:
            raise ApiError(f"listen tcp {self.listen}: {exc.strerror or exc}", 500) from None
        self._server = await loop.create_server(lambda: ClientProtocol(Link(self, loop)), sock=sock)
        bound_host, bound_port = sock.getsockname()[:2]
        self.listen = join_address(bound_host, bound_port)
        self.enabled = True

    def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self.links):
            link.close()
        self.enabled = False

    # -- toxics ---------------------------------------------------------------------------------
    def find_toxic(self, name: str) -> ToxicConfig | None:
        for toxic in self.toxics:
            if toxic.name == name:
                return toxic
        return None

    def add_toxic(self, config: ToxicConfig) -> ToxicConfig:
        if self.find_toxic(config.name) is not None:
            raise TOXIC_EXISTS
        self.toxics.append(config)
        for link in list(self.links):
            link.toxic_added(config)
        self._arm_expiry(config)
        return config

    def update_toxic(self, name: str, body: Any) -> ToxicConfig:
        config = self.find_toxic(name)
        if config is None:
            raise TOXIC_NOT_FOUND
        toxicity, attributes, limit_time = parse_toxic_update(config, body)
        redraw = toxicity != config.toxicity
        config.toxicity = toxicity
        config.attributes = attributes
        for link in list(self.links):
            link.toxic_changed(config, redraw)
        if isinstance(body, dict) and (
            "limit_time" in body or "limit_time" in (body.get("attributes") or {})
        ):
            config.limit_time = limit_time
            self._arm_expiry(config)  # a new limit_time counts from now
        return config

    def _arm_expiry(self, config: ToxicConfig) -> None:
        """Remove the toxic ``limit_time`` ms from now (replacing an earlier timer)."""
        old = self._expiry.pop(config.order, None)
        if old is not None:
            old.cancel()
        if config.limit_time <= 0:
            return
        loop = asyncio.get_running_loop()
        self._expiry[config.order] = loop.call_later(
            config.limit_time / 1000.0, self._expire, config
        )

    def _expire(self, config: ToxicConfig) -> None:
        self._expiry.pop(config.order, None)
        if config in self.toxics:
            self.remove_toxic(config.name)

    def remove_toxic(self, name: str) -> None:
        config = self.find_toxic(name)
        if config is None:
            raise TOXIC_NOT_FOUND
        timer = self._expiry.pop(config.order, None)
        if timer is not None:
            timer.cancel()
        self.toxics.remove(config)
        for link in list(self.links):
            link.toxic_removed(config)

    def apply_toxic(self, body: Any) -> ToxicConfig:
        """Add a toxic, or update the one of that name (config files and populate)."""
        config = parse_toxic(body)
        if self.find_toxic(config.name) is not None:
            return self.update_toxic(config.name, body)
        return self.add_toxic(config)

    def reset_toxics(self) -> None:
        for config in list(self.toxics):
            self.remove_toxic(config.name)

    def toxics_json(self) -> list[dict[str, Any]]:
        """Upstream toxics first, then downstream ones, each in the order added (as Toxiproxy)."""
        ups = [t for t in self.toxics if t.directions == (UPSTREAM,)]
        downs = [t for t in self.toxics if DOWNSTREAM in t.directions]
        return [t.to_json() for t in ups + downs]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": self.toxics_json(),
        }


def _check_addresses(listen: str, upstream: str) -> None:
    for address in (listen, upstream):
        try:
            split_address(address)
        except ValueError as exc:
            raise BAD_REQUEST_BODY.with_detail(str(exc)) from None


class ProxyCollection:
    """Every proxy of one server, by name; the operations of the Toxiproxy API."""

    def __init__(self) -> None:
        self.proxies: dict[str, Proxy] = {}

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise PROXY_NOT_FOUND
        return proxy

    async def create(self, body: Any) -> Proxy:
        body = require_object(body, "a proxy")
        name = get_str(body, "name")
        upstream = get_str(body, "upstream")
        listen = get_str(body, "listen") or DEFAULT_LISTEN
        enabled = get_bool(body, "enabled", True)
        if not name:
            raise MISSING_FIELD.with_detail("name")
        if not upstream:
            raise MISSING_FIELD.with_detail("upstream")
        check_proxy_name(name)
        _check_addresses(listen, upstream)
        if name in self.proxies:
            raise PROXY_EXISTS
        proxy = Proxy(name, listen, upstream)
        if enabled:
            await proxy.start()
        self.proxies[name] = proxy
        return proxy

    async def populate(self, body: Any) -> list[Proxy]:
        """Create or replace proxies from a list; every entry is checked before any is applied.

        Unlike Toxiproxy, each entry's ``toxics`` are applied too.
        """
        if not isinstance(body, list):
            raise BAD_REQUEST_BODY.with_detail("expected a JSON array of proxies")
        entries: list[tuple[Proxy, bool, list[Any]]] = []
        names: set[str] = set()
        for i, item in enumerate(body, start=1):
            item = require_object(item, f"proxy {i}")
            name = get_str(item, "name")
            upstream = get_str(item, "upstream")
            listen = get_str(item, "listen") or DEFAULT_LISTEN
            enabled = get_bool(item, "enabled", True)
            if not name:
                raise MISSING_FIELD.with_detail(f"name at proxy {i}")
            if not upstream:
                raise MISSING_FIELD.with_detail(f"upstream at proxy {i}")
            check_proxy_name(name)
            if name in names:
                raise BAD_REQUEST_BODY.with_detail(f'duplicate proxy name "{name}"')
            names.add(name)
            if enabled:
                _check_addresses(listen, upstream)
            toxics = item.get("toxics") or []
            if not isinstance(toxics, list):
                raise BAD_REQUEST_BODY.with_detail(f"toxics at proxy {i} must be a list")
            for toxic in toxics:
                parse_toxic(toxic)  # validate now, apply later
            entries.append((Proxy(name, listen, upstream), enabled, toxics))
        result: list[Proxy] = []
        for proxy, enabled, toxics in entries:
            existing = self.proxies.get(proxy.name)
            if existing is not None and (existing.listen, existing.upstream) == (
                proxy.listen,
                proxy.upstream,
            ):
                proxy = existing
            else:
                if existing is not None:
                    existing.stop()
                    del self.proxies[existing.name]
                if enabled:
                    await proxy.start()
                self.proxies[proxy.name] = proxy
            for toxic in toxics:
                proxy.apply_toxic(toxic)
            result.append(proxy)
        return result

    async def update(self, name: str, body: Any) -> Proxy:
        proxy = self.get(name)
        body = require_object(body, "a proxy")
        listen = get_str(body, "listen", proxy.listen) or proxy.listen
        upstream = get_str(body, "upstream", proxy.upstream) or proxy.upstream
        enabled = get_bool(body, "enabled", proxy.enabled)
        _check_addresses(listen, upstream)
        if listen != proxy.listen or upstream != proxy.upstream:
            proxy.stop()
            proxy.listen = listen
            proxy.upstream = upstream
            proxy._upstream_address = None
        if enabled and not proxy.enabled:
            await proxy.start()
        elif not enabled and proxy.enabled:
            proxy.stop()
        return proxy

    def delete(self, name: str) -> None:
        proxy = self.get(name)
        proxy.stop()
        del self.proxies[name]

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        for proxy in list(self.proxies.values()):
            await proxy.start()
            proxy.reset_toxics()

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()

    def __iter__(self) -> Iterator[Proxy]:
        return iter(list(self.proxies.values()))
