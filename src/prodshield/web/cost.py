"""The operational cost panel: what the configured monitoring costs, measured or estimated.

Each figure says which it is and over what window:

- **measured**: the store's size on disk (the SQLite file plus WAL, or ``pg_database_size``), and
  the results written over the last day (or since the first result, when that is later);
- **estimated from the measurements**: store growth per day, from the rows written over that
  window times the mean row size, but only once the window is at least
  :data:`MIN_GROWTH_WINDOW` long (a minute of results says nothing about a day);
- **computed from the configuration**: checks and requests per month from the intervals, bytes
  per month from a per-type response size.

GitHub Actions minutes and the 5-minute schedule floor matter only where the checks run from the
shipped workflow (`prodshield monitor once` on a cron): they are shown when a workflow calling it
sits in ``.github/workflows`` next to shield.yaml (or above it), never as a warning under ``serve``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text

from prodshield.monitor.read import TargetInfo
from prodshield.store import Store
from prodshield.store import tables as t

MONTH = 30 * 86400.0
DAY = 86400.0
MIN_GROWTH_WINDOW = 3600.0
"""Results must span at least this long before growth per day is estimated from them."""
ACTIONS_CRON_FLOOR = 300.0
"""GitHub Actions runs scheduled workflows at most every 5 minutes."""
BYTES_ESTIMATE = {"http": 4096, "tcp": 256, "tls": 4096, "dns": 512, "postgres": 1024, "redis": 256}
ONE_SHOT = "monitor once"


def span(seconds: float) -> str:
    """A duration to the second: ``30s``, ``1m 30s``, ``15m``, ``2h 5m``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s" if s % 60 else f"{s // 60}m"
    return f"{s // 3600}h {s % 3600 // 60}m" if s % 3600 // 60 else f"{s // 3600}h"


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


def actions_workflows(base_dir: Path | None, levels: int = 4) -> list[Path]:
    """Workflows running ``prodshield monitor once`` in ``.github/workflows`` at or above
    ``base_dir`` (the repository that runs the checks from GitHub Actions)."""
    if base_dir is None:
        return []
    here = base_dir.resolve()
    for folder in [here, *list(here.parents)[: levels - 1]]:
        flows = folder / ".github" / "workflows"
        if not flows.is_dir():
            continue
        found = []
        for path in sorted(flows.iterdir()):
            if path.suffix not in (".yml", ".yaml") or not path.is_file():
                continue
            try:
                body = path.read_text(encoding="utf-8", errors="replace")[:200_000]
            except OSError:
                continue
            if "prodshield" in body and ONE_SHOT in body:
                found.append(path)
        return found
    return []


@dataclass
class Growth:
    """Store growth per day, estimated from the results written over ``window_s`` seconds."""

    results: int
    window_s: float
    bytes_per_day: int | None
    note: str


@dataclass
class IntervalWarning:
    check: str
    environment: str | None
    interval_s: float
    reason: str


@dataclass
class CostPanel:
    targets: int
    checks_per_month: int
    requests_per_month: int
    bytes_per_month_estimate: int
    store_bytes: int | None
    growth: Growth
    actions_workflows: list[str]
    actions_minutes_per_month: dict[str, int]
    actions_minutes_total: int
    interval_warnings: list[IntervalWarning] = field(default_factory=list)
    measured_at: float = 0.0

    @property
    def results_last_24h(self) -> int:
        return self.growth.results


def _growth(store: Store, size: int | None, now: float) -> Growth:
    r = t.check_results
    since = now - DAY
    with store.connect() as conn:
        recent, first = conn.execute(
            select(func.count(), func.min(r.c.ts)).select_from(r).where(r.c.ts >= since)
        ).one()
        recent = int(recent or 0)
        if store.backend == "postgresql":
            # count(*) reads the whole table; the planner's estimate is enough for a mean row size
            total = int(
                conn.execute(
                    text(
                        "SELECT GREATEST(reltuples, 0) FROM pg_class "
                        "WHERE oid = 'check_results'::regclass"
                    )
                ).scalar()
                or 0
            )
        else:
            total = int(conn.execute(select(func.count()).select_from(r)).scalar() or 0)
    window = 0.0 if first is None else max(0.0, now - float(first))
    if recent == 0:
        return Growth(0, 0.0, None, "no results in the last 24 h")
    if window < MIN_GROWTH_WINDOW:
        return Growth(
            recent,
            window,
            None,
            f"not enough data: results span {span(window)}, an estimate needs "
            f"{span(MIN_GROWTH_WINDOW)}",
        )
    per_row = (size / total) if size and total else None
    if per_row is None:
        return Growth(recent, window, None, "store size unknown")
    per_day = recent / window * DAY * per_row
    return Growth(
        recent,
        window,
        round(per_day),
        f"estimated from {recent:,} results over the last {span(window)} "
        f"at {per_row:.0f} B per stored result",
    )


def cost_panel(
    store: Store,
    targets: list[TargetInfo],
    deploys_per_month: int = 30,
    *,
    base_dir: Path | None = None,
    now: float | None = None,
) -> CostPanel:
    now = time.time() if now is None else now
    checks_per_month = sum(MONTH / x.interval for x in targets if x.interval > 0)
    bytes_per_month = sum(
        MONTH / x.interval * BYTES_ESTIMATE.get(x.type, 0) for x in targets if x.interval > 0
    )
    size = store_size(store)
    growth = _growth(store, size, now)
    flows = actions_workflows(base_dir)
    actions: dict[str, int] = {}
    if flows:
        actions = {
            "monitor_every_5m": int(MONTH / ACTIONS_CRON_FLOOR),
            "daily_digest": 30,
            "post_deploy_audit": deploys_per_month,
        }
    warnings: list[IntervalWarning] = []
    for x in targets:
        if x.interval < x.timeout:
            warnings.append(
                IntervalWarning(
                    x.name,
                    x.environment or None,
                    x.interval,
                    f"interval {span(x.interval)} is shorter than the timeout "
                    f"{span(x.timeout)}: runs can overlap",
                )
            )
        elif flows and x.interval < ACTIONS_CRON_FLOOR:
            warnings.append(
                IntervalWarning(
                    x.name,
                    x.environment or None,
                    x.interval,
                    "from GitHub Actions it runs every 5m, so an incident needs "
                    f"{span(ACTIONS_CRON_FLOOR * x.failure_threshold)} to open there, not "
                    f"{span(x.interval * x.failure_threshold)}",
                )
            )
    return CostPanel(
        targets=len(targets),
        checks_per_month=round(checks_per_month),
        requests_per_month=round(checks_per_month),
        bytes_per_month_estimate=round(bytes_per_month),
        store_bytes=size,
        growth=growth,
        actions_workflows=[str(p) for p in flows],
        actions_minutes_per_month=actions,
        actions_minutes_total=sum(actions.values()),
        interval_warnings=warnings[:200],
        measured_at=now,
    )
