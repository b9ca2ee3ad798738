"""``/metrics`` for Prometheus, read from the store at scrape time.

Gauges are grouped counts (one GROUP BY each). The response-time histogram is cumulative since the
app started: each scrape folds in only the results stored since the previous one (``id >`` the last
seen id, starting with the last 10 minutes), so a scrape costs the same with 10 or 10,000 checks.
"""

from __future__ import annotations

import bisect
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, GCCollector, ProcessCollector
from prometheus_client.core import HistogramMetricFamily, Metric
from sqlalchemy import func, select

from prodshield.audit import read as audit_read
from prodshield.config.types import write_duration
from prodshield.exposition import counter, gauge, render
from prodshield.logs import read as logs_read
from prodshield.monitor.views import SloView
from prodshield.notify import read as notify_read
from prodshield.store import Store
from prodshield.store import tables as t

if TYPE_CHECKING:
    from prodshield.monitor.read import ReadModel

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram upper bounds in seconds (Prometheus base unit)."""


class _Histograms:
    def __init__(self) -> None:
        self.last_id: int | None = None
        self.data: dict[tuple[str, str], list[float]] = {}
        """Per key: a count per bucket (+Inf last), then the sum."""

    def fold(self, store: Store, now: float) -> None:
        r = t.check_results
        query = select(r.c.id, r.c.check_name, r.c.environment, r.c.response_time_ms).where(
            r.c.response_time_ms.is_not(None)
        )
        if self.last_id is None:
            query = query.where(r.c.ts >= now - 600)
        else:
            query = query.where(r.c.id > self.last_id)
        last = self.last_id or 0
        with store.connect() as conn:
            if self.last_id is None:
                last = int(conn.execute(select(func.coalesce(func.max(r.c.id), 0))).scalar() or 0)
            for row_id, check, env, ms in conn.execute(query.execution_options(yield_per=5000)):
                slot = self.data.get((check, env))
                if slot is None:
                    slot = self.data[(check, env)] = [0.0] * (len(BUCKETS) + 2)
                seconds = ms / 1000.0
                slot[bisect.bisect_left(BUCKETS, seconds)] += 1
                slot[-1] += seconds
                last = max(last, int(row_id))
        self.last_id = last

    def keep(self, keys: set[tuple[str, str]]) -> None:
        """Forget the series of checks no longer configured (removed by a reload): their
        histogram would otherwise stay on /metrics, frozen, for the life of the process."""
        for key in [k for k in self.data if k not in keys]:
            del self.data[key]


class WebMetrics:
    """The registry behind ``/metrics`` and the gauges other parts of the service set."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._model: ReadModel | None = None
        self._lag: float | None = None
        self._lag_source: Callable[[], float | None] | None = None
        self._size_source: Callable[[], Any] | None = None
        self._gauges: list[Callable[[], list[Any]]] = []
        self._hist = _Histograms()
        self.connections: Any = None
        """The server's ConnectionLimits, when it runs under ``serve``."""
        self.page_work: Any = None
        """The heavy pages' pool (:class:`~prodshield.web.work.PageWork`)."""
        self.write_work: Any = None
        """The write routes' pool (:func:`~prodshield.web.work.write_work`)."""
        self._lock = threading.Lock()
        self.registry.register(self)
        # The usual process_* (memory, descriptors, CPU) and python_gc_* series, as any exporter.
        ProcessCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def bind(
        self,
        model: ReadModel,
        lag_source: Callable[[], float | None] | None = None,
        size_source: Callable[[], Any] | None = None,
        gauges: list[Callable[[], list[Any]]] | None = None,
    ) -> None:
        self._model = model
        self._lag_source = lag_source
        self._size_source = size_source
        if gauges is not None:
            self._gauges = gauges

    def set_scheduler_lag(self, seconds: float) -> None:
        """Called by the scheduler: how far behind its plan it runs."""
        self._lag = float(seconds)

    def render(self) -> bytes:
        with self._lock:
            return render(self.registry)

    # prometheus_client calls this on every scrape
    def collect(self) -> Iterator[Metric]:
        model = self._model
        if model is None:
            return
        now = time.time()
        states = model.status_counts_by_key()
        known = [(x, states.get(x.key)) for x in model.targets]
        yield gauge(
            "prodshield_check_up",
            "1 when the check's last state is up or degraded (it answers), 0 when down "
            "(unknown states are omitted).",
            [
                ((x.name, x.environment), 0.0 if st == "down" else 1.0)
                for x, st in known
                if st in ("up", "degraded", "down")
            ],
            labels=["check", "environment"],
        )

        self._hist.fold(model.store, now)
        self._hist.keep({x.key for x in model.targets})
        hist = HistogramMetricFamily(
            "prodshield_check_response_time_seconds",
            "Response times of check runs since this process started.",
            labels=["check", "environment"],
        )
        for (check, env), slot in sorted(self._hist.data.items()):
            cumulative, buckets = 0.0, []
            for bound, count in zip([*map(str, BUCKETS), "+Inf"], slot[:-1], strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            hist.add_metric([check, env], buckets=buckets, sum_value=slot[-1])
        yield hist

        yield from _slo_metrics(CHECK_SLO, model.slo_statuses(now=now))
        yield from _slo_metrics(SERVICE_SLO, model.service_slo_statuses(now=now))
        counts = {
            **model.metric_counts(),
            "log_findings": logs_read.finding_counts(model.store),
            "audit_findings": audit_read.latest_counts(model.store),
            "outbox": notify_read.status_counts(model.store),
        }
        yield from _count_metrics(counts)
        yield from self._reported()
        yield gauge(
            "prodshield_python_heap_blocks",
            "Memory blocks the Python allocator has handed out and not got back (a count that "
            "grows while resident memory grows means live objects pile up; flat, fragmentation).",
            sys.getallocatedblocks(),
        )
        yield from self._connections()
        yield from self._page_work()
        yield counter(
            "prodshield_heartbeat_pings",
            "Heartbeat pings received (all heartbeats).",
            counts["heartbeat_pings"],
        )

    def _reported(self) -> Iterator[Metric]:
        """What other parts report: the scheduler's lag, the store's size, registered gauges."""
        lag = self._lag_source() if self._lag_source is not None else self._lag
        if lag is not None:
            yield gauge(
                "prodshield_scheduler_lag_seconds",
                "How far the check scheduler runs behind plan.",
                lag,
            )

        size = self._size_source() if self._size_source is not None else None
        if size is not None:
            yield from _store_size_metrics(size)
        for source in self._gauges:
            try:
                families = source()
            except Exception:  # a failing reporter must not break the scrape
                continue
            for name, help_text, labels, samples in families:
                yield gauge(name, help_text, samples, labels=labels)

    def _page_work(self) -> Iterator[Metric]:
        for work in (self.page_work, self.write_work):
            if work is not None:
                yield from _pool_metrics(work)

    def _connections(self) -> Iterator[Metric]:
        limits = self.connections
        if limits is None:
            return
        yield gauge(
            "prodshield_web_connections",
            "Web connections open now (probe-only ones past the overall limit included).",
            limits.open + limits.reserved,
        )
        yield gauge(
            "prodshield_web_connection_limit",
            "Web connections held at most (overall), after the checks' descriptor reserve.",
            limits.max_connections,
        )
        yield gauge(
            "prodshield_web_connection_limit_per_client",
            "Web connections held at most per client.",
            limits.per_client,
        )
        yield counter(
            "prodshield_web_connections_refused",
            "Connections answered 503 and closed at once, by the limit they hit.",
            [((reason,), limits.refused[reason]) for reason in ("overall", "per_client")],
            labels=["limit"],
        )
        yield counter(
            "prodshield_web_header_timeouts",
            "Connections closed because a whole request did not arrive within the header timeout.",
            limits.header_timeouts,
        )
        budget = limits.budget
        if budget is not None:
            yield gauge(
                "prodshield_descriptor_limit",
                "The process's RLIMIT_NOFILE (soft) after start.",
                budget.soft,
            )
            yield gauge(
                "prodshield_descriptor_reserve",
                "Descriptors kept for checks, the store and log sources (never used by the web).",
                budget.reserve,
            )


def _store_size_metrics(size: Any) -> Iterator[Metric]:
    """The retention service's last measurement of the store (taken every ``retention.every``)."""
    if size.bytes is not None:
        yield gauge("prodshield_store_bytes", "Bytes the store takes on disk.", size.bytes)
    yield gauge(
        "prodshield_store_rows",
        "Rows per table (exact on SQLite, the planner's estimate on PostgreSQL).",
        [((name,), n) for name, n in sorted(size.rows.items())],
        labels=["table"],
    )
    if size.disk_free is not None:
        yield gauge(
            "prodshield_store_disk_free_bytes",
            "Free bytes on the store's file system.",
            size.disk_free,
        )


@dataclass(frozen=True)
class _SloFamilies:
    """The names and help of one kind of SLO's three families (a check's, a service's)."""

    prefix: str
    key: str
    budget: str
    objective: str
    burn: str


CHECK_SLO = _SloFamilies(
    "prodshield_slo",
    "check",
    "Share of the SLO's error budget left over its window (1 untouched, 0 spent, "
    "negative overspent).",
    "The SLO's objective, as a ratio.",
    "Error budget burn rate over each burn-rate alert's windows (1: the sustainable pace).",
)
SERVICE_SLO = _SloFamilies(
    "prodshield_service_slo",
    "service",
    "Share of a service SLO's error budget left over its window, all its checks' "
    "results together (1 untouched, 0 spent, negative overspent).",
    "A service SLO's objective, as a ratio.",
    "A service's error budget burn rate over each burn-rate alert's windows.",
)


def _slo_metrics(kind: _SloFamilies, slos: dict[tuple[str, str], Any]) -> Iterator[Metric]:
    """Each SLO's error budget, objective and burn rates, by check (or service) and environment."""
    if not slos:
        return
    rows = sorted(slos.items())
    objectives: dict[str, float] = {}
    for (name, _env), st in rows:
        objectives.setdefault(name, st.objective / 100.0)
    yield gauge(
        f"{kind.prefix}_error_budget_remaining",
        kind.budget,
        [(key, st.budget_remaining) for key, st in rows if st.budget_remaining is not None],
        labels=[kind.key, "environment"],
    )
    yield gauge(
        f"{kind.prefix}_objective",
        kind.objective,
        [((name,), value) for name, value in objectives.items()],
        labels=[kind.key],
    )
    yield gauge(
        f"{kind.prefix}_burn_rate",
        kind.burn,
        [((*key, window), v) for key, st in rows for window, v in sorted(_rates(st).items())],
        labels=[kind.key, "environment", "window"],
    )


def _count_metrics(counts: dict[str, Any]) -> Iterator[Metric]:
    """Open incidents, log and audit findings, the outbox, from the store's counts."""
    yield gauge(
        "prodshield_open_incidents",
        "Open incidents per check, service, environment and kind (check empty for a "
        "service's SLO incident and a manual one).",
        sorted(counts["open_incidents"].items()),
        labels=["check", "service", "environment", "kind"],
    )
    yield gauge(
        "prodshield_open_incidents_total",
        "Open incidents in all.",
        sum(counts["open_incidents"].values()),
    )
    yield gauge(
        "prodshield_log_findings",
        "Occurrences of log findings kept in the store, by kind and severity.",
        sorted(counts["log_findings"].items()),
        labels=["kind", "severity"],
    )
    yield gauge(
        "prodshield_audit_findings",
        "Findings of the latest audit run by severity.",
        [((sev,), n) for sev, n in sorted(counts["audit_findings"].items())],
        labels=["severity"],
    )
    yield gauge(
        "prodshield_outbox_depth",
        "Notifications waiting to be delivered (pending).",
        counts["outbox"].get("pending", 0),
    )
    yield gauge(
        "prodshield_outbox_messages",
        "Outbox rows by status.",
        [((status,), n) for status, n in sorted(counts["outbox"].items())],
        labels=["status"],
    )


def _rates(st: SloView) -> dict[str, float]:
    """An SLO status's burn rates by window (``1h``, ``5m``...), the unmeasured left out."""
    rates: dict[str, float] = {}
    for b in st.burn_rates:
        for span, value in ((b.long_s, b.long), (b.short_s, b.short)):
            if value is not None:
                rates[write_duration(span)] = value
    return rates


def _pool_metrics(work: Any) -> Iterator[Metric]:
    """A bounded pool's gauges and refusals (``prodshield_web_page_work_*``, ``..._write_*``)."""
    kind, what = work.kind, work.kind.capitalize()
    yield gauge(
        f"prodshield_web_{kind}_work_running", f"{what} requests on a worker now.", work.running
    )
    yield gauge(
        f"prodshield_web_{kind}_work_waiting",
        f"{what} requests waiting for a worker now.",
        max(0, work.admitted - work.running),
    )
    yield counter(
        f"prodshield_web_{kind}_work_refused",
        f"{what} requests answered 503 with Retry-After (the queue full, or a worker not free "
        f"within {work.max_wait:g} s).",
        work.refused,
    )
