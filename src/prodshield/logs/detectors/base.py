"""The detector family: one Protocol, a registry, and the settings every detector reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from prodshield.logs.findings import Finding


class EventLike(Protocol):
    """What detectors read from a parsed log event (``prodshield.logs.event.LogEvent``)."""

    source: str
    line: int
    timestamp: datetime | None
    level: str | None
    message: str
    fields: dict[str, Any]


@dataclass
class DetectorSettings:
    slow_query_ms: float = 500.0
    slow_request_ms: float = 1000.0
    brute_force_failures: int = 10
    brute_force_window_s: float = 300.0
    http_auth_burst: int = 20
    error_rate: float = 0.05
    error_rate_min_requests: int = 20
    user_rules: list[dict[str, Any]] = field(default_factory=list)


class Detector(Protocol):
    """Reads events one at a time and reports findings at the end of a scan."""

    name: str

    def observe(self, event: EventLike) -> None: ...

    def findings(self) -> list[Finding]: ...


DetectorFactory = Callable[[DetectorSettings], Detector]
REGISTRY: dict[str, DetectorFactory] = {}


def register(name: str) -> Callable[[DetectorFactory], DetectorFactory]:
    def deco(factory: DetectorFactory) -> DetectorFactory:
        REGISTRY[name] = factory
        return factory

    return deco


def field_str(event: EventLike, name: str) -> str | None:
    value = (event.fields or {}).get(name)
    return None if value is None else str(value)


def field_float(event: EventLike, name: str) -> float | None:
    value = (event.fields or {}).get(name)
    if value is None or value == "-":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
