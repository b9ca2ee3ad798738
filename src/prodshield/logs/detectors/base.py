"""The detector family: one Protocol, a registry, and the settings every detector reads."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from prodshield.logs.findings import LogFinding


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
    http_5xx_burst: int = 5
    http_5xx_window_s: float = 60.0
    user_rules: list[dict[str, Any]] = field(default_factory=list)
    secret_rules: tuple[Any, ...] = ()
    """The user's secret rules (``audit.secrets.rules`` as engine rules) for ``secret_in_log``."""
    max_keys: int = 10_000
    """Distinct keys (addresses, endpoints, queries, templates) a detector tracks on its own per
    table and epoch (``logs.detector_keys``); beyond, new keys are folded (:class:`Distinct`)."""

    @classmethod
    def from_config(cls, logs: Any, *, secret_rules: Any = ()) -> DetectorSettings:
        """The settings of a ``logs:`` section (``LogsConfig``) and the ``audit.secrets.rules``
        specs: the one way the CLI and the service build them, so ``logs scan`` and ``serve``
        judge the same lines the same way."""
        from prodshield.secrets.rules.custom import custom_rules

        return cls(
            secret_rules=custom_rules(secret_rules),
            slow_query_ms=logs.slow_query_ms,
            slow_request_ms=logs.slow_request_ms,
            brute_force_failures=logs.brute_force_failures,
            brute_force_window_s=logs.brute_force_window,
            http_auth_burst=logs.http_auth_burst,
            error_rate=logs.error_rate,
            error_rate_min_requests=logs.error_rate_min_requests,
            http_5xx_burst=logs.http_5xx_burst,
            http_5xx_window_s=logs.http_5xx_window,
            max_keys=logs.detector_keys,
            user_rules=[
                {
                    "kind": r.kind,
                    "patterns": r.all_patterns(),
                    "severity": r.severity,
                    "category": r.category,
                    "field": r.field,
                    "message": r.message,
                    "threshold": r.threshold,
                    "window": r.window,
                    "group_by": r.group_by,
                    "user": True,
                }
                for r in logs.rules
            ],
        )


@dataclass(frozen=True)
class Gate:
    """Which events a detector can act on, so the service's block pass shows it only those
    (:class:`prodshield.logs.gate.BlockGate`); a detector without ``gate()`` sees every event.

    An event passes when its message or raw text holds one of ``literals`` (ASCII, any case), a
    ``patterns`` search finds something in it, its ``fields`` hold one of ``fields``, or its level
    (lower case) is in ``levels``. It must be a superset: an event no gate passes would not change
    the detector's state (``observe`` would return False and remember nothing).
    """

    literals: tuple[str, ...] = ()
    narrowed: tuple[tuple[str, str], ...] = ()
    """(literal, hyperscan pattern): where the detector needs a literal only inside a match of the
    pattern (the secret scanner's ``prefilter_patterns``: ``://`` only before ``user:pass@``)."""
    patterns: tuple[re.Pattern[str], ...] = ()
    fields: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()


class Found:
    """The gate's literals (lower case) one event's message holds, and its raw text (the
    message's when the event's raw text is its message): every one of them, so a detector told
    them need not scan the line for its own literals again."""

    __slots__ = ("message", "raw")

    def __init__(self, message: AbstractSet[str], raw: AbstractSet[str]) -> None:
        self.message = message
        self.raw = raw


class Detector(Protocol):
    """Reads events one at a time and reports findings at the end of a scan (or, in the
    service, at every window: ``findings()`` is the state so far and may be called again).

    ``observe`` returns True when the event counted towards one of the detector's findings:
    one line gives one finding, so the generic ``error_logged`` (run last) skips such lines.
    A detector may also have ``observe_found(event, found: Found) -> bool``: the same, told by
    the block gate every literal of its ``Gate`` the line holds (it need not scan for them).
    """

    type: str
    """The detector's key in ``REGISTRY`` (and in ``logs scan --detector``)."""
    example: ClassVar[dict[str, Any]]
    """Log lines in a format (``format``, ``lines``) on which it reports a finding of kind
    ``finds``: checked for every detector by tests/logs/test_logs_detectors.py."""

    def observe(self, event: EventLike) -> bool | None: ...

    def findings(self) -> list[LogFinding]: ...


class Distinct:
    """How many distinct texts (the addresses a detector folded past its cap) were added, in
    16 KiB whatever their number: exact up to 1,000, then a HyperLogLog estimate (16,384
    registers, about 0.8 % off; ``exact`` says which)."""

    __slots__ = ("_registers", "_seen")
    _P = 14

    def __init__(self) -> None:
        self._seen: set[str] | None = set()
        self._registers = bytearray(1 << self._P)

    def add(self, text: str) -> None:
        seen = self._seen
        if seen is not None:
            if text in seen:
                return
            if len(seen) < 1000:
                seen.add(text)
            else:
                self._seen = None
        h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
        index, rest = h >> (64 - self._P), h & ((1 << (64 - self._P)) - 1)
        rank = (64 - self._P) - rest.bit_length() + 1
        if rank > self._registers[index]:
            self._registers[index] = rank

    @property
    def exact(self) -> bool:
        return self._seen is not None

    def __len__(self) -> int:
        if self._seen is not None:
            return len(self._seen)
        m = len(self._registers)
        estimate = 0.7213 / (1 + 1.079 / m) * m * m / sum(2.0**-r for r in self._registers)
        zeros = self._registers.count(0)
        if estimate <= 2.5 * m and zeros:
            estimate = m * math.log(m / zeros)  # linear counting: better for small numbers
        return max(1001, round(estimate))

    def say(self, word: str, many: str) -> str:
        """``98,765 other addresses`` (``about`` when estimated)."""
        n = len(self)
        return f"{'' if self.exact else 'about '}{n:,} other {word if n == 1 else many}"


K = TypeVar("K")


def folded_finding(
    findings: dict[K, LogFinding],
    folded: dict[K, Distinct],
    max_keys: int,
    key: K,
    others: K,
    text: str,
    make: Callable[[], LogFinding],
) -> LogFinding | None:
    """The finding of ``key`` in ``findings``; past ``max_keys`` findings a new key's lines go to
    the finding at ``others`` instead (made by ``make`` the first time; ``folded[others]`` counts
    the distinct ``text``s folded into it). None: a new key under the cap (the caller makes its
    own finding)."""
    finding = findings.get(key)
    if finding is not None or len(findings) < max_keys:
        return finding
    distinct = folded.get(others)
    if distinct is None:
        distinct = folded[others] = Distinct()
    distinct.add(text)
    finding = findings.get(others)
    if finding is None:
        finding = findings[others] = make()
    return finding


def folded_findings(
    findings: dict[K, LogFinding],
    folded: dict[K, Distinct],
    max_keys: int,
    message: Callable[[LogFinding, Distinct], str],
) -> list[LogFinding]:
    """Every finding, the ones ``folded_finding`` folded keys into worded by ``message(finding,
    others)`` and naming the cap they were folded past (``details.keys_tracked``)."""
    for key, others in folded.items():
        finding = findings[key]
        finding.message = message(finding, others)
        finding.details["keys_tracked"] = max_keys
    return list(findings.values())


DetectorFactory = Callable[[DetectorSettings], Detector]
"""A detector class: called with the settings, it gives a fresh detector (REGISTRY's values)."""


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
