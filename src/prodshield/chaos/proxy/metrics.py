"""Prometheus metrics of the proxies, read from their counters at scrape time (no per-chunk cost)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric

from prodshield.chaos.proxy.server import ProxyCollection
from prodshield.exposition import counter, gauge

WAYS = ("upstream", "downstream")


class ProxyMetrics:
    """A prometheus-client collector over a ``ProxyCollection``."""

    def __init__(self, collection: ProxyCollection) -> None:
        self.collection = collection

    def collect(self) -> Iterator[Metric]:
        proxies = list(self.collection.proxies.values())
        sent = [(p.name, p.bytes) for p in proxies]
        yield counter(
            "prodshield_proxy_bytes",
            "Bytes delivered through the proxy, by direction "
            "(upstream = client to server, downstream = server to client).",
            [((name, way), n) for name, both in sent for way, n in zip(WAYS, both, strict=True)],
            labels=["proxy", "direction"],
        )
        yield counter(
            "prodshield_proxy_connections",
            "Client connections accepted by the proxy.",
            [((p.name,), p.connections_total) for p in proxies],
            labels=["proxy"],
        )
        yield gauge(
            "prodshield_proxy_connections_open",
            "Client connections open through the proxy now.",
            [((p.name,), len(p.links)) for p in proxies],
            labels=["proxy"],
        )
        yield gauge(
            "prodshield_proxy_enabled",
            "1 when the proxy listens.",
            [((p.name,), 1 if p.enabled else 0) for p in proxies],
            labels=["proxy"],
        )
        yield gauge(
            "prodshield_proxy_toxics",
            "Toxics configured on the proxy.",
            [((p.name,), len(p.toxics)) for p in proxies],
            labels=["proxy"],
        )


def registry_for(collection: ProxyCollection) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProxyMetrics(collection))
    return registry
