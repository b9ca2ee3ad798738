"""Hourly aggregates of check results and the pruning that keeps the store small.

Raw results are rolled up into ``check_hourly`` before they are deleted, and only whole hours are
deleted, so an hour's aggregate is always computed from all of its raw rows.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, select

from prodshield.config.capabilities import RetentionConfig
from prodshield.store import tables as t
from prodshield.store.store import Store

HOUR = 3600


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (``q`` in 0..100)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def rollup(store: Store, start: float, end: float) -> int:
    """Recompute the hourly aggregates of every hour touching [start, end); return hours written."""
    first_hour = int(start // HOUR) * HOUR
    last_hour = math.ceil(end / HOUR) * HOUR
    r = t.check_results
    groups: dict[tuple[str, str, int], list[tuple[bool, float | None, str | None]]] = defaultdict(
        list
    )
    with store.connect() as conn:
        rows = conn.execute(
            select(
                r.c.check_name,
                r.c.environment,
                r.c.ts,
                r.c.ok,
                r.c.response_time_ms,
                r.c.error_kind,
            )
            .where(r.c.ts >= first_hour, r.c.ts < last_hour)
            .execution_options(yield_per=5000)
        )
        for row in rows:
            hour = int(row.ts // HOUR) * HOUR
            groups[(row.check_name, row.environment, hour)].append(
                (row.ok, row.response_time_ms, row.error_kind)
            )
    h = t.check_hourly
    with store.begin() as conn:
        for (check, env, hour), items in groups.items():
            latencies = sorted(ms for _, ms, _ in items if ms is not None)
            kinds = Counter(k for ok, _, k in items if not ok and k)
            conn.execute(
                delete(h).where(h.c.check_name == check, h.c.environment == env, h.c.hour == hour)
            )
            conn.execute(
                h.insert().values(
                    check_name=check,
                    environment=env,
                    hour=hour,
                    count=len(items),
                    failures=sum(1 for ok, _, _ in items if not ok),
                    sum_ms=float(sum(latencies)),
                    max_ms=latencies[-1] if latencies else None,
                    p50_ms=percentile(latencies, 50),
                    p95_ms=percentile(latencies, 95),
                    p99_ms=percentile(latencies, 99),
                    error_kinds=dict(kinds) or None,
                )
            )
    return len(groups)


@dataclass
class PruneReport:
    results_deleted: int
    hours_rolled_up: int
    aggregates_deleted: int
    findings_deleted: int
    outbox_deleted: int


def prune(store: Store, retention: RetentionConfig, now: float | None = None) -> PruneReport:
    """Delete what is older than the retention settings, keeping aggregates of pruned results."""
    now = time.time() if now is None else now
    cutoff = int((now - retention.raw_results) // HOUR) * HOUR
    r = t.check_results
    with store.connect() as conn:
        oldest = conn.execute(select(func.min(r.c.ts)).where(r.c.ts < cutoff)).scalar()
    hours = rollup(store, oldest, cutoff) if oldest is not None else 0
    with store.begin() as conn:
        results = conn.execute(delete(r).where(r.c.ts < cutoff)).rowcount
        aggregates = conn.execute(
            delete(t.check_hourly).where(t.check_hourly.c.hour < now - retention.aggregates)
        ).rowcount
        findings = conn.execute(
            delete(t.log_findings).where(t.log_findings.c.created_at < now - retention.log_findings)
        ).rowcount
        outbox = conn.execute(
            delete(t.outbox).where(
                and_(t.outbox.c.status == "sent", t.outbox.c.created_at < now - retention.outbox)
            )
        ).rowcount
    return PruneReport(results, hours, aggregates, findings, outbox)
