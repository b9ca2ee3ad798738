"""Chart series from check results: response time over time and the last results of a check.

Recent hours come from raw results (grouped in SQL into buckets, so a chart gets about ``points``
points however dense the checks run), older hours from the hourly aggregates. The time axis starts at the first result there is: right after a start a chart shows
each of the few results it has, not one dot or "no data".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text

from prodshield.store import Store

Key = tuple[str, str]
HOUR = 3600
RAW_SPAN = 3 * HOUR
"""How far back charts read raw results; older hours come from ``check_hourly``."""


@dataclass(frozen=True, slots=True)
class LatencyPoint:
    """Response time over one bucket of time: raw results, or one hour of aggregates."""

    ts: float
    avg_ms: float | None
    max_ms: float | None
    count: int
    failures: int
    raw: bool
    period: str = "hour"
    """What a point that is not raw sums up: an ``hour`` or a ``day`` of aggregates."""
    degraded: int = 0
    """Of the ``failures``, those only degraded (the target answered; only a certificate-expiry
    or response-time condition failed): drawn amber, not red."""


@dataclass(frozen=True, slots=True)
class Beat:
    """One check result, for a heartbeat bar."""

    check: str
    environment: str
    ts: float
    ok: bool
    response_time_ms: float | None
    error_kind: str | None
    maintenance: bool = False
    """Taken inside a maintenance window: not counted against uptime."""
    degraded: bool = False
    """A failure that is only degraded (``check_results.degraded``): amber, not red."""


EARLIEST = text(
    "SELECT MIN(ts) FROM check_results "
    "WHERE check_name = :c AND environment = :e AND ts >= :since AND ts <= :until"
)
_RECENT = (
    "SELECT CAST(FLOOR((ts - :since) / :bucket) AS INTEGER) AS slot, COUNT(*), "
    "SUM(CASE WHEN ok OR maintenance THEN 0 ELSE 1 END), COUNT(response_time_ms), "
    "COALESCE(SUM(response_time_ms), 0.0), MAX(response_time_ms), SUM(ts), "
    "SUM(CASE WHEN degraded AND NOT (ok OR maintenance) THEN 1 ELSE 0 END) "
    "FROM check_results WHERE {where} GROUP BY slot"
)


@lru_cache(maxsize=16)
def _recent(members: int) -> TextClause:
    """The bucketed read of a group of ``members`` checks (one index range each)."""
    where = " OR ".join(
        f"(check_name = :c{i} AND environment = :e{i} AND ts >= :since AND ts <= :until)"
        for i in range(members)
    )
    return text(_RECENT.format(where=where))


LAST = text(
    "SELECT ts, ok, response_time_ms, error_kind, maintenance, degraded FROM check_results "
    "WHERE check_name = :c AND environment = :e AND ts >= :since AND ts <= :until "
    "ORDER BY ts DESC LIMIT :n"
)
"""Statements run once per key, or once per service for the chart: each reads index ranges of
``ix_check_results_check_env_ts`` (MIN(ts) and the last N rows are a few index steps), and the
chart's buckets are summed over the service's checks in SQL, so a page fetches a few thousand
rows. Measured with ``benchmarks/status_charts.py`` (50 services of 10 checks, 540,000 results,
a loaded machine): 0.43 s per page against 0.76 s for a per-check loop fetching the raw rows; one
statement OR-ing every key's range took 1.3 s (SQLite gathers the row ids of all the ranges, then
sorts the lot to group it), and a SQLAlchemy expression tree per key seconds to build."""


def earliest_result(store: Store, keys: Sequence[Key], since: float, until: float) -> float | None:
    """The time of the first result of any of ``keys`` in ``[since, until]``."""
    first: float | None = None
    with store.connect() as conn:
        for c, e in keys:
            value = conn.execute(
                EARLIEST, {"c": c, "e": e, "since": since, "until": until}
            ).scalar()
            if value is not None and (first is None or value < first):
                first = float(value)
    return first


def bucket_seconds(start: float, until: float, points: int) -> float:
    """A bucket width giving about ``points`` buckets over ``[start, until]``, at least 1 s."""
    return max(1.0, (until - start) / max(1, points))


def recent_points(
    store: Store, groups: Sequence[Sequence[Key]], *, since: float, until: float, bucket: float
) -> list[list[LatencyPoint]]:
    """Raw results in ``[since, until]`` as points of ``bucket`` seconds, one list per group of
    keys (a service's checks merged in SQL), oldest first."""
    out: list[list[LatencyPoint]] = []
    with store.connect() as conn:
        for keys in groups:
            if not keys:
                out.append([])
                continue
            params: dict[str, Any] = {"since": since, "until": until, "bucket": bucket}
            for i, (c, e) in enumerate(keys):
                params[f"c{i}"], params[f"e{i}"] = c, e
            rows = conn.execute(_recent(len(keys)), params).all()
            out.append(
                [
                    LatencyPoint(
                        ts=float(sum_ts) / n,
                        avg_ms=None if not timed else round(float(sum_ms) / timed, 2),
                        max_ms=None if max_ms is None else float(max_ms),
                        count=int(n),
                        failures=int(f or 0),
                        raw=True,
                        degraded=int(g or 0),
                    )
                    for _, n, f, timed, sum_ms, max_ms, sum_ts, g in sorted(rows)
                    if n
                ]
            )
    return out


def hourly_points(
    hourly: Sequence[tuple[int, int, int, float]],
    *,
    before: float,
    degraded: Sequence[int] = (),
) -> list[LatencyPoint]:
    """``(hour, results, failures, sum_ms)`` rows of whole hours before ``before`` as points;
    ``degraded``: per row (same order), its failures that were only degraded."""
    return [
        LatencyPoint(
            ts=hour + HOUR / 2,
            avg_ms=round(sum_ms / count, 2),
            max_ms=None,
            count=count,
            failures=failures,
            raw=False,
            degraded=_nth(degraded, i),
        )
        for i, (hour, count, failures, sum_ms) in enumerate(hourly)
        if count and hour + HOUR <= before
    ]


def daily_points(
    daily: Sequence[tuple[int, int, int, float]], *, degraded: Sequence[int] = ()
) -> list[LatencyPoint]:
    """``(day, results, failures, sum_ms)`` rows as one point per day that has results;
    ``degraded``: per row (same order), its failures that were only degraded."""
    return [
        LatencyPoint(
            ts=day + 43200,
            avg_ms=round(sum_ms / count, 2),
            max_ms=None,
            count=count,
            failures=failures,
            raw=False,
            period="day",
            degraded=_nth(degraded, i),
        )
        for i, (day, count, failures, sum_ms) in enumerate(daily)
        if count
    ]


def _nth(values: Sequence[int], i: int) -> int:
    return int(values[i]) if i < len(values) else 0


def raw_since(until: float, span: float = RAW_SPAN) -> float:
    """Where raw results take over from the hourly aggregates: an hour boundary."""
    return float(int(until - span) // HOUR * HOUR)


def last_results(
    store: Store,
    keys: Sequence[Key],
    n: int | dict[Key, int],
    *,
    since: float | dict[Key, float],
    until: float,
) -> dict[Key, list[Beat]]:
    """The last ``n`` results of each key in ``[since, until]``, oldest first.

    ``n`` and ``since`` may differ per key (a service of many checks takes a few from each; a
    check run every second needs a shorter look back than a daily one).
    """
    out: dict[Key, list[Beat]] = {}
    with store.connect() as conn:
        for key in keys:
            limit = n[key] if isinstance(n, dict) else n
            lower = since[key] if isinstance(since, dict) else since
            c, e = key
            rows = conn.execute(
                LAST, {"c": c, "e": e, "since": lower, "until": until, "n": limit}
            ).all()
            if rows:
                out[key] = [
                    Beat(c, e, float(ts), bool(ok), ms, kind, bool(maint), bool(degraded))
                    for ts, ok, ms, kind, maint, degraded in reversed(rows)
                ]
    return out


def merged_beats(beats: dict[Key, list[Beat]], keys: Iterable[Key], n: int) -> list[Beat]:
    """The last ``n`` results across ``keys`` (a service of several checks), oldest first."""
    merged = sorted((b for k in keys for b in beats.get(k, [])), key=lambda b: b.ts)
    return merged[-n:]
