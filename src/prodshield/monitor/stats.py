"""Statistics per check and environment: uptime over 1h/24h/7d/30d, latency percentiles, error
kinds. Raw results answer what they still cover; ``check_hourly`` aggregates (see
``store.retention``) answer for the hours whose raw rows were pruned."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from prodshield.percentiles import percentile
from prodshield.store import Store
from prodshield.store import tables as t

WINDOWS: dict[str, float] = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
HOUR = 3600


@dataclass
class WindowStats:
    count: int = 0
    failures: int = 0
    degraded: int = 0
    """Failures that were only degraded (see ``check_results.degraded``): not downtime."""
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    error_kinds: dict[str, int] = field(default_factory=dict)
    approximate: bool = False  # percentiles partly from hourly aggregates

    @property
    def uptime(self) -> float | None:
        """Percent of results that were not down (ok or degraded), or None when there were none."""
        down = self.failures - self.degraded
        return None if self.count == 0 else 100.0 * (self.count - down) / self.count


@dataclass
class CheckStats:
    check: str
    environment: str
    windows: dict[str, WindowStats]


def check_stats(
    store: Store,
    *,
    windows: dict[str, float] | None = None,
    now: float | None = None,
    check: str | None = None,
    environment: str | None = None,
) -> dict[tuple[str, str], CheckStats]:
    """Uptime, latency percentiles and error kinds per (check, environment) and window."""
    windows = windows or WINDOWS
    now = time.time() if now is None else now
    longest = max(windows.values())
    r, h = t.check_results, t.check_hourly
    raw: dict[tuple[str, str], list[tuple[float, bool, float | None, str | None, bool]]] = (
        defaultdict(list)
    )
    query = select(
        r.c.check_name,
        r.c.environment,
        r.c.ts,
        r.c.ok,
        r.c.response_time_ms,
        r.c.error_kind,
        r.c.degraded,
    ).where(r.c.ts >= now - longest, r.c.ts <= now, t.COUNTS_FOR_UPTIME)
    first_raw_q = select(r.c.check_name, r.c.environment, func.min(r.c.ts)).group_by(
        r.c.check_name, r.c.environment
    )
    hourly_q = select(h).where(h.c.hour >= int((now - longest) // HOUR) * HOUR)
    if check is not None:
        query = query.where(r.c.check_name == check)
        first_raw_q = first_raw_q.where(r.c.check_name == check)
        hourly_q = hourly_q.where(h.c.check_name == check)
    if environment is not None:
        query = query.where(r.c.environment == environment)
        first_raw_q = first_raw_q.where(r.c.environment == environment)
        hourly_q = hourly_q.where(h.c.environment == environment)
    with store.connect() as conn:
        for row in conn.execute(query.execution_options(yield_per=10000)):
            raw[(row.check_name, row.environment)].append(
                (row.ts, bool(row.ok), row.response_time_ms, row.error_kind, bool(row.degraded))
            )
        first_raw = {(a, b): m for a, b, m in conn.execute(first_raw_q)}
        hourly: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in conn.execute(hourly_q):
            hourly[(row.check_name, row.environment)].append(dict(row._mapping))
    out: dict[tuple[str, str], CheckStats] = {}
    for key in set(raw) | set(hourly):
        rows = raw.get(key, [])
        # Hourly aggregates count only for hours entirely before the first raw row still kept.
        covered_from = first_raw.get(key)
        pruned = [
            hr
            for hr in hourly.get(key, [])
            if covered_from is None or hr["hour"] + HOUR <= covered_from
        ]
        per_window: dict[str, WindowStats] = {}
        for name, span in windows.items():
            start = now - span
            in_raw = [x for x in rows if x[0] >= start]
            in_hours = [hr for hr in pruned if hr["hour"] >= start]
            ws = WindowStats()
            ws.count = len(in_raw) + sum(hr["count"] for hr in in_hours)
            ws.failures = sum(1 for x in in_raw if not x[1]) + sum(
                hr["failures"] for hr in in_hours
            )
            ws.degraded = sum(1 for x in in_raw if not x[1] and x[4]) + sum(
                hr["degraded"] or 0 for hr in in_hours
            )
            kinds: Counter[str] = Counter(x[3] for x in in_raw if not x[1] and x[3])
            for hr in in_hours:
                kinds.update(hr["error_kinds"] or {})
            ws.error_kinds = dict(kinds)
            lat = sorted(x[2] for x in in_raw if x[2] is not None)
            ws.p50_ms, ws.p95_ms, ws.p99_ms = (percentile(lat, q) for q in (50, 95, 99))
            if in_hours:
                # Merge: a count-weighted mean of the hourly percentiles and the raw ones.
                ws.approximate = True
                for attr, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
                    parts = [(hr[attr], hr["count"]) for hr in in_hours if hr[attr] is not None]
                    raw_p = percentile(lat, q)
                    if raw_p is not None:
                        parts.append((raw_p, len(lat)))
                    weight = sum(w for _, w in parts)
                    setattr(ws, attr, sum(v * w for v, w in parts) / weight if weight else None)
            per_window[name] = ws
        out[key] = CheckStats(key[0], key[1], per_window)
    return out
