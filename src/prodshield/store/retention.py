"""Hourly aggregates of check results and the retention that keeps the store bounded.

Raw results are rolled up into ``check_hourly`` before they are deleted, and only whole hours are
deleted, so an hour's aggregate is always computed from all of its raw rows. Every table is pruned
in batches of ``retention.batch`` rows, one short transaction each, so retention never holds the
write lock long enough to stall the monitor or the log follower. ``prodshield db prune`` runs one
pass; ``serve`` runs :class:`RetentionService`, which also measures the store (size, rows per table),
reclaims SQLite's free pages (incremental vacuum) and enforces ``retention.max_store_size``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, func, select, text

from prodshield.config.capabilities import RetentionConfig
from prodshield.percentiles import percentile
from prodshield.store import partitions
from prodshield.store import tables as t
from prodshield.store.store import Store

HOUR = 3600
DAY = 86400.0
WARN_FRACTION = 0.8
"""Past this share of ``max_store_size`` (or of the disk) ``serve`` warns."""
MIN_RAW_S = DAY
"""The budget never prunes raw results younger than this."""
ROLLUP_WATERMARK = ("web", "hourly_until")
"""The kv entry (namespace, key) holding when the rollup (``web.rollup.rollup_pending``) last
ran: every hour before the one it ran in is final in ``check_hourly``."""

log = logging.getLogger("prodshield.retention")


def rollup(store: Store, start: float, end: float) -> int:
    """Recompute the hourly aggregates of every hour touching [start, end); return hours written."""
    first_hour = int(start // HOUR) * HOUR
    last_hour = math.ceil(end / HOUR) * HOUR
    r = t.check_results
    groups: dict[tuple[str, str, int], list[tuple[bool, float | None, str | None, bool]]] = (
        defaultdict(list)
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
                r.c.degraded,
            )
            .where(r.c.ts >= first_hour, r.c.ts < last_hour, t.COUNTS_FOR_UPTIME)
            .execution_options(yield_per=5000)
        )
        for row in rows:
            hour = int(row.ts // HOUR) * HOUR
            groups[(row.check_name, row.environment, hour)].append(
                (row.ok, row.response_time_ms, row.error_kind, bool(row.degraded))
            )
    h = t.check_hourly
    with store.begin() as conn:
        for (check, env, hour), items in groups.items():
            latencies = sorted(ms for _, ms, _, _ in items if ms is not None)
            kinds = Counter(k for ok, _, k, _ in items if not ok and k)
            conn.execute(
                delete(h).where(h.c.check_name == check, h.c.environment == env, h.c.hour == hour)
            )
            conn.execute(
                h.insert().values(
                    check_name=check,
                    environment=env,
                    hour=hour,
                    count=len(items),
                    failures=sum(1 for ok, _, _, _ in items if not ok),
                    degraded=sum(1 for ok, _, _, deg in items if not ok and deg),
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
    results_deleted: int = 0
    hours_rolled_up: int = 0
    aggregates_deleted: int = 0
    findings_deleted: int = 0
    outbox_deleted: int = 0
    counts_deleted: int = 0
    templates_deleted: int = 0
    journals_deleted: int = 0
    audit_runs_deleted: int = 0
    silences_deleted: int = 0
    partitions_dropped: int = 0

    @property
    def total(self) -> int:
        return (
            self.results_deleted
            + self.aggregates_deleted
            + self.findings_deleted
            + self.outbox_deleted
            + self.counts_deleted
            + self.templates_deleted
            + self.journals_deleted
            + self.audit_runs_deleted
            + self.silences_deleted
        )


def _delete_batch(store: Store, table: Table, where: Any, batch: int) -> int:
    """Delete up to ``batch`` rows of ``table`` matching ``where`` in one short transaction."""
    (pk,) = table.primary_key.columns
    ids = select(pk).where(where).limit(batch).scalar_subquery()
    with store.begin() as conn:
        return int(conn.execute(delete(table).where(pk.in_(ids))).rowcount or 0)


def _drain(store: Store, table: Table, where: Any, batch: int, pause: Callable[[], None]) -> int:
    total = 0
    while True:
        n = _delete_batch(store, table, where, batch)
        total += n
        if n < batch:
            return total
        pause()


def _prune_raw(
    store: Store, cutoff: float, batch: int, pause: Callable[[], None], report: PruneReport
) -> None:
    """Roll up, then delete, raw results before ``cutoff`` one whole hour at a time (on
    PostgreSQL, whole days first: roll the day up and drop its partition)."""
    r = t.check_results
    cutoff = int(cutoff // HOUR) * HOUR
    if store.backend == "postgresql":
        with store.connect() as conn:
            old = [p for p in partitions.partitions(conn) if p.end <= cutoff]
        for part in old:
            report.hours_rolled_up += rollup(store, part.start, part.end)
            with store.begin() as conn:
                report.results_deleted += partitions.drop(conn, part)
                report.partitions_dropped += 1
            pause()
    while True:
        with store.connect() as conn:
            oldest = conn.execute(select(func.min(r.c.ts)).where(r.c.ts < cutoff)).scalar()
        if oldest is None:
            return
        hour = int(oldest // HOUR) * HOUR
        report.hours_rolled_up += rollup(store, hour, hour + HOUR)
        report.results_deleted += _drain(store, r, r.c.ts < hour + HOUR, batch, pause)
        pause()


def _prune_hourly(store: Store, table: Table, before: float, pause: Callable[[], None]) -> int:
    """Delete hourly rows before ``before``, one hour per transaction."""
    total = 0
    while True:
        with store.connect() as conn:
            oldest = conn.execute(
                select(func.min(table.c.hour)).where(table.c.hour < before)
            ).scalar()
        if oldest is None:
            return total
        with store.begin() as conn:
            total += int(conn.execute(delete(table).where(table.c.hour == oldest)).rowcount or 0)
        pause()


def prune(
    store: Store,
    retention: RetentionConfig,
    now: float | None = None,
    *,
    pause: Callable[[], None] | None = None,
) -> PruneReport:
    """Delete what is older than the retention settings, keeping aggregates of pruned results.

    ``pause`` runs between two batches (the service sleeps there so other writers get the lock).
    """
    now = time.time() if now is None else now
    pause = pause or (lambda: None)
    batch = retention.batch
    report = PruneReport()
    _prune_raw(store, now - retention.raw_results, batch, pause, report)
    report.aggregates_deleted = _prune_hourly(
        store, t.check_hourly, now - retention.aggregates, pause
    )
    report.counts_deleted = _prune_hourly(
        store, t.log_template_counts, now - retention.log_counts, pause
    )
    # a template not seen for as long as its hourly counts are kept: ever-new templates (a log
    # of unique text) made rows for good; one seen again is stored again by the log service
    lt = t.log_templates
    report.templates_deleted = _drain(
        store,
        lt,
        func.coalesce(lt.c.last_seen, lt.c.first_seen) < now - retention.log_counts,
        batch,
        pause,
    )
    f = t.log_findings
    report.findings_deleted = _drain(
        store,
        f,
        func.coalesce(f.c.last_seen, f.c.created_at) < now - retention.log_findings,
        batch,
        pause,
    )
    o = t.outbox
    report.outbox_deleted = _drain(
        store,
        o,
        (o.c.status.in_(["sent", "dead"])) & (o.c.created_at < now - retention.outbox),
        batch,
        pause,
    )
    j = t.experiment_journals
    report.journals_deleted = _drain(
        store, j, j.c.started_at < now - retention.journals, batch, pause
    )
    a, af = t.audit_runs, t.audit_findings
    old_runs = select(a.c.id).where(a.c.started_at < now - retention.journals)
    _drain(store, af, af.c.run_id.in_(old_runs), batch, pause)
    report.audit_runs_deleted = _drain(
        store, a, a.c.started_at < now - retention.journals, batch, pause
    )
    # silences that ended (by hand, or at their expiry) as long ago as the journals' history;
    # the incidents they held keep their own record of the silence (refs)
    s = t.silences
    report.silences_deleted = _drain(
        store,
        s,
        func.coalesce(s.c.ended_at, s.c.expires_at) < now - retention.journals,
        batch,
        pause,
    )
    return report


# --- measuring the store --------------------------------------------------------------------

MEASURED = (
    t.check_results,
    t.check_hourly,
    t.incidents,
    t.log_findings,
    t.log_templates,
    t.log_template_counts,
    t.audit_runs,
    t.audit_findings,
    t.experiment_journals,
    t.outbox,
    t.silences,
)


@dataclass
class StoreSize:
    """What the store takes: bytes in all, rows per table, and the disk it lives on."""

    bytes: int | None
    rows: dict[str, int] = field(default_factory=dict)
    disk_free: int | None = None
    disk_total: int | None = None
    measured_at: float = 0.0


def _sqlite_path(store: Store) -> Path | None:
    url = str(store.engine.url)
    if not url.startswith("sqlite:///") or url == "sqlite://":
        return None
    return Path(url[len("sqlite:///") :])


def measure(store: Store, now: float | None = None) -> StoreSize:
    """The store's size in bytes, its rows per table and its disk's free space.

    Row counts are exact on SQLite and the planner's estimate on PostgreSQL (``reltuples``), so a
    measurement costs the same with a thousand rows or a billion.
    """
    now = time.time() if now is None else now
    out = StoreSize(bytes=None, measured_at=now)
    path = _sqlite_path(store)
    with store.connect() as conn:
        if store.backend == "postgresql":
            out.bytes = int(
                conn.execute(
                    text(
                        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
                    )
                ).scalar()
                or 0
            )
            names = [tb.name for tb in MEASURED]
            for name, rows in conn.execute(
                text(
                    "SELECT c.relname, c.reltuples FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
                )
            ):
                if name in names:
                    out.rows[name] = max(0, int(rows))
        else:
            for tb in MEASURED:
                out.rows[tb.name] = int(
                    conn.execute(select(func.count()).select_from(tb)).scalar_one()
                )
    if path is not None:
        out.bytes = sum(os.stat(p).st_size for p in (path, Path(f"{path}-wal")) if p.exists())
        usage = shutil.disk_usage(path.parent)
        out.disk_free, out.disk_total = usage.free, usage.total
    return out


def vacuum(store: Store, pages: int = 2000) -> None:
    """Give SQLite's free pages back to the file system, a bounded number per call."""
    if store.backend != "sqlite":
        return
    with store.engine.connect() as conn:
        driver = conn.connection.driver_connection
        if driver is None or driver.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            return  # a store created before incremental vacuum: `VACUUM` once by hand
        # The pragma frees one page per step of its statement; executescript steps it to the
        # end (execute() and SQLAlchemy step it once: one page).
        driver.executescript(f"PRAGMA incremental_vacuum({int(pages)});")


def over_budget(size: StoreSize, budget: int | None) -> str | None:
    """Why the store is near its limit (the budget or its disk), or None."""
    if budget and size.bytes is not None and size.bytes >= WARN_FRACTION * budget:
        share = 100.0 * size.bytes / budget
        return (
            f"the store takes {_human(size.bytes)}, {share:.0f} % of "
            f"retention.max_store_size ({_human(budget)})"
        )
    if size.disk_total and size.disk_free is not None:
        used = 1.0 - size.disk_free / size.disk_total
        if used >= 0.95:
            return f"the store's disk is {100 * used:.0f} % full ({_human(size.disk_free)} free)"
    return None


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def shrink_to_budget(
    store: Store,
    retention: RetentionConfig,
    now: float,
    pause: Callable[[], None],
    size_of: Callable[[], StoreSize],
) -> int:
    """Past ``max_store_size``, delete raw results oldest hour first (never the last day)."""
    budget = retention.max_store_size
    if not budget:
        return 0
    deleted = 0
    r = t.check_results
    while True:
        size = size_of()
        if size.bytes is None or size.bytes <= budget:
            return deleted
        with store.connect() as conn:
            oldest = conn.execute(select(func.min(r.c.ts)).where(r.c.ts < now - MIN_RAW_S)).scalar()
        if oldest is None:
            return deleted
        report = PruneReport()
        _prune_raw(store, int(oldest // HOUR) * HOUR + HOUR, retention.batch, pause, report)
        deleted += report.results_deleted
        vacuum(store, pages=1_000_000)


class RetentionService:
    """``serve``'s retention: prune in batches every ``retention.every``, measure the store,
    reclaim space, keep it inside its budget and warn before the budget or the disk is reached."""

    name = "retention"

    def __init__(
        self,
        store: Store,
        retention: RetentionConfig,
        *,
        on_warning: Callable[[str], None] | None = None,
        pause_s: float = 0.02,
    ) -> None:
        self.store = store
        self.retention = retention
        self.on_warning = on_warning
        self.pause_s = pause_s
        self.size: StoreSize | None = None
        self.last: PruneReport | None = None
        self.runs = 0
        self.warning: str | None = None

    def problems(self) -> dict[str, str]:
        return {"store": self.warning} if self.warning else {}

    def once(self, now: float | None = None) -> PruneReport:
        now = time.time() if now is None else now

        def pause() -> None:
            time.sleep(self.pause_s)

        if self.store.backend == "postgresql":
            with self.store.begin() as conn:
                partitions.ensure(conn, now)
        report = prune(self.store, self.retention, now, pause=pause)
        vacuum(self.store)
        report.results_deleted += shrink_to_budget(
            self.store, self.retention, now, pause, lambda: measure(self.store)
        )
        self.size = measure(self.store, now)
        warning = over_budget(self.size, self.retention.max_store_size)
        if warning and not self.warning and self.on_warning is not None:  # once per crossing
            self.on_warning(warning)
        self.warning = warning
        self.last = report
        self.runs += 1
        if report.total:
            log.info(
                "retention: deleted %d rows (%d raw results, %d findings, %d notifications)",
                report.total,
                report.results_deleted,
                report.findings_deleted,
                report.outbox_deleted,
            )
        return report

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.once)
            except Exception as exc:  # retention must never take the service down
                log.warning("retention failed: %s: %s", type(exc).__name__, exc)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.retention.every)
            except TimeoutError:
                pass
