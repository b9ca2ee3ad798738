"""Chart series from check results: response time over time and the last results of a check.

Recent hours come from raw results (one grouped statement for every key on a page, bucketed so a
chart gets about ``points`` points however dense the checks run), older hours from the hourly
aggregates. The time axis starts at the first result there is: right after a start a chart shows
each of the few results it has, not one dot or "no data".
"""

from __future__ import annotations

from collections import defaultdict
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
CHUNK = 100
"""Keys per statement (SQLite caps compound SELECTs and expression depth)."""


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


@dataclass(frozen=True, slots=True)
class Beat:
    """One check result, for a heartbeat bar."""

    check: str
    environment: str
    ts: float
    ok: bool
    response_time_ms: float | None
    error_kind: str | None


@dataclass(slots=True)
class _Acc:
    count: int = 0
    failures: int = 0
    timed: int = 0
    sum_ms: float = 0.0
    max_ms: float | None = None
    sum_ts: float = 0.0

    def add(
        self,
        count: int,
        failures: int,
        timed: int,
        sum_ms: float,
        max_ms: float | None,
        sum_ts: float,
    ) -> None:
        self.count += count
        self.failures += failures
        self.timed += timed
        self.sum_ms += sum_ms
        self.sum_ts += sum_ts
        if max_ms is not None and (self.max_ms is None or max_ms > self.max_ms):
            self.max_ms = max_ms


def _chunks(keys: Sequence[Key]) -> Iterable[list[Key]]:
    for i in range(0, len(keys), CHUNK):
        yield list(keys[i : i + CHUNK])


@lru_cache(maxsize=64)
def _statement(template: str, count: int, per_key_since: bool) -> TextClause:
    """``template`` with ``{where}`` filled for ``count`` keys, parsed once per shape.

    ``(check_name = :c0 AND environment = :e0 AND ts >= :since AND ts <= :until) OR ...``: each
    term is one index range of ``ix_check_results_check_env_ts`` on SQLite and PostgreSQL alike.
    Plain text cached per key count, because an expression tree per key cost milliseconds (seconds
    for a status page of thousands of checks).
    """
    lower = ":s{i}" if per_key_since else ":since"
    where = " OR ".join(
        f"(check_name = :c{i} AND environment = :e{i} AND ts >= {lower.format(i=i)} "
        "AND ts <= :until)"
        for i in range(count)
    )
    return text(template.format(where=where))


def _params(keys: Sequence[Key], since: dict[Key, float] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for i, key in enumerate(keys):
        params[f"c{i}"], params[f"e{i}"] = key
        if since is not None:
            params[f"s{i}"] = since[key]
    return params


RECENT_SQL = (
    "SELECT check_name, environment, slot, COUNT(*), "
    "SUM(CASE WHEN ok THEN 0 ELSE 1 END), COUNT(response_time_ms), "
    "COALESCE(SUM(response_time_ms), 0.0), MAX(response_time_ms), SUM(ts) "
    "FROM (SELECT check_name, environment, ok, response_time_ms, ts, "
    "CAST(FLOOR((ts - :since) / :bucket) AS INTEGER) AS slot "
    "FROM check_results WHERE {where}) AS r "
    "GROUP BY check_name, environment, slot"
)
LAST_SQL = (
    "SELECT check_name, environment, ts, ok, response_time_ms, error_kind FROM ("
    "SELECT check_name, environment, ts, ok, response_time_ms, error_kind, "
    "ROW_NUMBER() OVER (PARTITION BY check_name, environment ORDER BY ts DESC) AS rn "
    "FROM check_results WHERE {where}) AS r WHERE rn <= :top"
)


class RecentLatency:
    """Raw results since ``since`` for many keys, grouped into buckets of ``bucket`` seconds."""

    def __init__(self, since: float, bucket: float, data: dict[Key, dict[int, _Acc]]):
        self.since = since
        self.bucket = bucket
        self._data = data

    def points(self, keys: Iterable[Key]) -> list[LatencyPoint]:
        """The buckets of ``keys`` merged (a service of several checks), oldest first."""
        merged: dict[int, _Acc] = defaultdict(_Acc)
        for key in keys:
            for b, acc in self._data.get(key, {}).items():
                merged[b].add(
                    acc.count, acc.failures, acc.timed, acc.sum_ms, acc.max_ms, acc.sum_ts
                )
        return [
            LatencyPoint(
                ts=acc.sum_ts / acc.count,
                avg_ms=None if acc.timed == 0 else round(acc.sum_ms / acc.timed, 2),
                max_ms=acc.max_ms,
                count=acc.count,
                failures=acc.failures,
                raw=True,
            )
            for _, acc in sorted(merged.items())
            if acc.count
        ]


def earliest_result(store: Store, keys: Sequence[Key], since: float, until: float) -> float | None:
    """The time of the first result of any of ``keys`` in ``[since, until]``."""
    first: float | None = None
    with store.connect() as conn:
        for chunk in _chunks(keys):
            query = _statement("SELECT MIN(ts) FROM check_results WHERE {where}", len(chunk), False)
            value = conn.execute(query, {**_params(chunk), "since": since, "until": until}).scalar()
            if value is not None and (first is None or value < first):
                first = float(value)
    return first


def bucket_seconds(start: float, until: float, points: int) -> float:
    """A bucket width giving about ``points`` buckets over ``[start, until]``, at least 1 s."""
    return max(1.0, (until - start) / max(1, points))


def recent_latency(
    store: Store, keys: Sequence[Key], *, since: float, until: float, bucket: float
) -> RecentLatency:
    """Raw results of ``keys`` in ``[since, until]`` grouped per key into ``bucket``-second buckets."""
    data: dict[Key, dict[int, _Acc]] = defaultdict(dict)
    with store.connect() as conn:
        for chunk in _chunks(keys):
            query = _statement(RECENT_SQL, len(chunk), False)
            params = {**_params(chunk), "since": since, "until": until, "bucket": bucket}
            rows = conn.execute(query, params)
            for c, e, b, n, f, timed, sum_ms, max_ms, sum_ts in rows:
                acc = _Acc()
                acc.add(
                    int(n),
                    int(f or 0),
                    int(timed or 0),
                    float(sum_ms or 0.0),
                    None if max_ms is None else float(max_ms),
                    float(sum_ts),
                )
                data[(c, e)][int(b)] = acc
    return RecentLatency(since, bucket, dict(data))


def hourly_points(
    hourly: Sequence[tuple[int, int, int, float]], *, before: float
) -> list[LatencyPoint]:
    """``(hour, results, failures, sum_ms)`` rows of whole hours before ``before`` as points."""
    return [
        LatencyPoint(
            ts=hour + HOUR / 2,
            avg_ms=round(sum_ms / count, 2),
            max_ms=None,
            count=count,
            failures=failures,
            raw=False,
        )
        for hour, count, failures, sum_ms in hourly
        if count and hour + HOUR <= before
    ]


def daily_points(daily: Sequence[tuple[int, int, int, float]]) -> list[LatencyPoint]:
    """``(day, results, failures, sum_ms)`` rows as one point per day that has results."""
    return [
        LatencyPoint(
            ts=day + 43200,
            avg_ms=round(sum_ms / count, 2),
            max_ms=None,
            count=count,
            failures=failures,
            raw=False,
            period="day",
        )
        for day, count, failures, sum_ms in daily
        if count
    ]


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
    check run every second needs a shorter look back than a daily one). One statement per
    100 keys: a window function numbers each key's results from the newest, over the index ranges
    the time bounds cut (without them it would number 30 days of results).
    """
    limits = n if isinstance(n, dict) else dict.fromkeys(keys, n)
    out: dict[Key, list[Beat]] = defaultdict(list)
    with store.connect() as conn:
        for chunk in _chunks(keys):
            per_key = isinstance(since, dict)
            params = _params(chunk, since if isinstance(since, dict) else None)
            if not per_key:
                params["since"] = since
            top = max(limits.get(k, 0) for k in chunk)
            query = _statement(LAST_SQL, len(chunk), per_key)
            rows = conn.execute(query, {**params, "until": until, "top": top})
            for c, e, ts, ok, ms, kind in rows:
                key = (c, e)
                beats = out[key]
                if len(beats) < limits.get(key, 0):
                    beats.append(Beat(c, e, float(ts), bool(ok), ms, kind))
    for beats in out.values():
        beats.sort(key=lambda b: b.ts)
    return dict(out)


def merged_beats(beats: dict[Key, list[Beat]], keys: Iterable[Key], n: int) -> list[Beat]:
    """The last ``n`` results across ``keys`` (a service of several checks), oldest first."""
    merged = sorted((b for k in keys for b in beats.get(k, [])), key=lambda b: b.ts)
    return merged[-n:]
