"""Prometheus metrics of the proxies, read from their counters at scrape time (no per-chunk cost)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from prodshield.chaos.proxy.server import ProxyCollection

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ProxyMetrics:
    """A prometheus-client collector over a ``ProxyCollection``."""

    def __init__(self, collection: ProxyCollection) -> None:
        self.collection = collection

    def collect(self) -> Iterator[Metric]:
        sent = CounterMetricFamily(
            "prodshield_proxy_bytes",
            "Bytes delivered through the proxy, by direction "
            "(upstream = client to server, downstream = server to client).",
            labels=["proxy", "direction"],
        )
        opened = CounterMetricFamily(
            "prodshield_proxy_connections",
            "Client connections accepted by the proxy.",
            labels=["proxy"],
        )
        open_now = GaugeMetricFamily(
            "prodshield_proxy_connections_open",
            "Client connections open through the proxy now.",
            labels=["proxy"],
        )
        enabled = GaugeMetricFamily(
            "prodshield_proxy_enabled", "1 when the proxy listens.", labels=["proxy"]
        )
        toxics = GaugeMetricFamily(
            "prodshield_proxy_toxics", "Toxics configured on the proxy.", labels=["proxy"]
        )
        for proxy in self.collection.proxies.values():
            up, down = proxy.bytes
            sent.add_metric([proxy.name, "upstream"], up)
            sent.add_metric([proxy.name, "downstream"], down)
            opened.add_metric([proxy.name], proxy.connections_total)
            open_now.add_metric([proxy.name], len(proxy.links))
            enabled.add_metric([proxy.name], 1 if proxy.enabled else 0)
            toxics.add_metric([proxy.name], len(proxy.toxics))
        yield from (sent, opened, open_now, enabled, toxics)


def registry_for(collection: ProxyCollection) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProxyMetrics(collection))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
