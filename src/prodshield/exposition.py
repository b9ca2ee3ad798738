"""Prometheus exposition shared by the service's ``/metrics`` (``web/metrics.py``) and the chaos
proxy's (``chaos/proxy/metrics.py``): a gauge or counter family built from its samples in one
call, the content type both answer with, and the text of a registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Samples = Iterable[tuple[Sequence[str], float]]
"""A family's samples: each one's label values (in the order of ``labels``) and its value."""


def gauge(
    name: str, documentation: str, samples: Samples | float = (), labels: Sequence[str] = ()
) -> GaugeMetricFamily:
    """A gauge family with ``samples`` (a number: its one sample, unlabelled)."""
    return _filled(GaugeMetricFamily(name, documentation, labels=list(labels)), samples)


def counter(
    name: str, documentation: str, samples: Samples | float = (), labels: Sequence[str] = ()
) -> CounterMetricFamily:
    """A counter family (``name`` without ``_total``, which the exposition adds) with ``samples``
    (a number: its one sample, unlabelled)."""
    return _filled(CounterMetricFamily(name, documentation, labels=list(labels)), samples)


_Family = TypeVar("_Family", GaugeMetricFamily, CounterMetricFamily)


def _filled(family: _Family, samples: Samples | float) -> _Family:
    if isinstance(samples, int | float):
        samples = [((), samples)]
    for values, value in samples:
        family.add_metric(values, value)
    return family


def render(registry: CollectorRegistry) -> bytes:
    """The registry's exposition text (the body of a ``/metrics`` answer)."""
    return generate_latest(registry)
