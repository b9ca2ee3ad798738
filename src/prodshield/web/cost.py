"""The operational cost panel: what the configured monitoring costs per month.

Requests and checks follow from the intervals; bytes use the response sizes the monitor recorded
when it did (``details.bytes``), else a per-type estimate; store size is measured (the SQLite file
or ``pg_database_size``) and its growth is the rows written in the last day times the mean row
size. GitHub Actions minutes assume the shipped workflows: a monitor run every 5 minutes, a daily
log digest and a post-deploy audit per deploy (each billed as at least one minute).
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from sqlalchemy import func, select, text

from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.web.queries import TargetInfo

MONTH = 30 * 86400.0
ACTIONS_CRON_FLOOR = 300.0
"""GitHub Actions runs scheduled workflows at most every 5 minutes."""
BYTES_ESTIMATE = {"http": 4096, "tcp": 256, "tls": 4096, "dns": 512, "postgres": 1024, "redis": 256}


def store_size(store: Store) -> int | None:
    """Bytes the store uses on disk (SQLite file plus WAL, or the PostgreSQL database)."""
    if store.backend == "sqlite":
        path = store.url[len("sqlite:///") :]
        if not path:
            return None
        return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    with store.connect() as conn:
        value = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    return None if value is None else int(value)


def cost_panel(
    store: Store, targets: list[TargetInfo], deploys_per_month: int = 30
) -> dict[str, Any]:
    now = time.time()
    r = t.check_results
    with store.connect() as conn:
        recent = int(
            conn.execute(select(func.count()).select_from(r).where(r.c.ts >= now - 86400)).scalar()
            or 0
        )
        if store.backend == "postgresql":
            # count(*) reads the whole table; the planner's estimate is enough for a mean row size
            total = int(
                conn.execute(
                    text(
                        "SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = 'check_results'::regclass"
                    )
                ).scalar()
                or 0
            )
        else:
            total = int(conn.execute(select(func.count()).select_from(r)).scalar() or 0)
    checks_per_month = sum(MONTH / x.interval for x in targets if x.interval > 0)
    bytes_per_month = sum(
        MONTH / x.interval * BYTES_ESTIMATE.get(x.type, 0) for x in targets if x.interval > 0
    )
    size = store_size(store)
    per_row = (size / total) if size and total else None
    growth_per_day = recent * per_row if per_row is not None else None
    monitor_runs = MONTH / ACTIONS_CRON_FLOOR
    actions = {
        "monitor_every_5m": int(monitor_runs),
        "daily_digest": 30,
        "post_deploy_audit": deploys_per_month,
    }
    warnings = []
    for x in targets:
        detect = x.interval * x.failure_threshold
        if x.interval < x.timeout:
            warnings.append(
                {
                    "check": x.name,
                    "environment": x.environment or None,
                    "interval_s": x.interval,
                    "reason": f"interval {x.interval:g}s is shorter than the timeout {x.timeout:g}s: "
                    "runs can overlap",
                }
            )
        elif x.interval < ACTIONS_CRON_FLOOR:
            warnings.append(
                {
                    "check": x.name,
                    "environment": x.environment or None,
                    "interval_s": x.interval,
                    "reason": f"in GitHub Actions it runs every 5m, so an incident needs "
                    f"{math.ceil(ACTIONS_CRON_FLOOR * x.failure_threshold / 60)}m to open, "
                    f"not {math.ceil(detect / 60)}m",
                }
            )
    return {
        "targets": len(targets),
        "checks_per_month": round(checks_per_month),
        "requests_per_month": round(checks_per_month),
        "bytes_per_month_estimate": round(bytes_per_month),
        "store_bytes": size,
        "store_growth_bytes_per_day": None if growth_per_day is None else round(growth_per_day),
        "results_last_24h": recent,
        "actions_minutes_per_month": actions,
        "actions_minutes_total": sum(actions.values()),
        "interval_warnings": warnings[:200],
    }
