"""SLOs: error budgets and multi-window burn-rate alerts from the results the checks store.

A check's ``slo: {objective: 99.9, window: 30d}`` allows 0.1 % of its results (outside
maintenance windows) to fail over any 30 days: that is its **error budget**. The **burn rate**
over a span is its failure ratio divided by the budget's (1 - objective): 1 spends the budget
exactly over the window, 14.4 spends 2 % of a 30-day budget in one hour. A burn-rate alert (the
SRE workbook's multi-window, multi-burn-rate alerts) fires when both its long and its short
window burn at least its rate; an ``slo`` incident then opens through the incidents table and the
notifiers, and resolves once no alert fires. Everything is read from ``check_results`` with one
aggregate query per evaluation.

An alert needs enough data before it may fire: at least :data:`MIN_RESULTS` results in its long
window, and a first result at least :data:`MIN_COVERAGE` of the long window ago. Without that,
a new check failing at once would burn "100 %" of three results and page an ``slo`` incident
within seconds beside its ``down`` incident, which already says the same thing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from prodshield.config.alerting import BurnRateAlert, SloConfig
from prodshield.config.types import format_duration
from prodshield.store import tables as t

KIND = "slo"
MIN_RESULTS = 10
"""Results an alert's long window must hold before the alert may fire."""
MIN_COVERAGE = 0.25
"""Share of an alert's long window that must have passed since the target's first result (in
the SLO window, maintenance left out) before the alert may fire."""


@dataclass(frozen=True)
class Burn:
    """One burn-rate alert's windows as measured now."""

    alert: BurnRateAlert
    long_rate: float | None
    short_rate: float | None
    enough_data: bool = True
    """The long window holds :data:`MIN_RESULTS` results and spans :data:`MIN_COVERAGE` of
    itself since the first result; an alert without enough data never fires."""

    @property
    def firing(self) -> bool:
        return (
            self.enough_data
            and self.long_rate is not None
            and self.short_rate is not None
            and self.long_rate >= self.alert.burn_rate
            and self.short_rate >= self.alert.burn_rate
        )

    def describe(self) -> str:
        a = self.alert
        return (
            f"{a.burn_rate:g}x over {format_duration(a.long)} and {format_duration(a.short)} "
            f"(now {self.long_rate or 0:.1f}x and {self.short_rate or 0:.1f}x)"
        )


@dataclass(frozen=True)
class Status:
    """A target's SLO now: the budget over its window and each alert's burn."""

    objective: float
    window: float
    total: int
    failed: int
    burns: tuple[Burn, ...]

    @property
    def allowed(self) -> float:
        return 1.0 - self.objective / 100.0

    @property
    def budget_remaining(self) -> float | None:
        """The share of the error budget left (1: untouched, 0: spent, below 0: overspent)."""
        if not self.total:
            return None
        return 1.0 - (self.failed / self.total) / self.allowed

    @property
    def firing(self) -> Burn | None:
        """The alert firing with the highest burn rate, or None."""
        lit = [b for b in self.burns if b.firing]
        return max(lit, key=lambda b: b.alert.burn_rate) if lit else None

    def as_dict(self) -> dict[str, Any]:
        fire = self.firing
        return {
            "objective": self.objective,
            "window_s": self.window,
            "results": self.total,
            "failed": self.failed,
            "budget_remaining": self.budget_remaining,
            "firing": fire.describe() if fire else None,
            "burn_rates": [
                {
                    "long_s": b.alert.long,
                    "short_s": b.alert.short,
                    "threshold": b.alert.burn_rate,
                    "long": b.long_rate,
                    "short": b.short_rate,
                    "firing": b.firing,
                    "enough_data": b.enough_data,
                }
                for b in self.burns
            ],
        }


def spans_of(slo: SloConfig) -> list[float]:
    """Every span an SLO reads: its window and each alert's long and short windows."""
    return sorted(
        {float(slo.window)} | {a.long for a in slo.alerts} | {a.short for a in slo.alerts}
    )


SERVICE_PREFIX = "service:"
"""An SLO incident of a service is kept on the target ``service:NAME`` (no check's name)."""


def status(conn: Connection, check: str, environment: str, slo: SloConfig, now: float) -> Status:
    """Measure the SLO of ``check`` in ``environment`` at ``now`` (one aggregate query)."""
    found = statuses(conn, {check: slo}, now, environment=environment)
    return found.get((check, environment)) or _measure(slo, {}, None, now)


def statuses(
    conn: Connection,
    specs: Mapping[str, SloConfig],
    now: float,
    *,
    environment: str | None = None,
) -> dict[tuple[str, str], Status]:
    """The SLO of every (check, environment) with results, for the checks in ``specs``: one
    aggregate query grouped by target (``/metrics`` and the dashboard read them all at once)."""
    if not specs:
        return {}
    spans = sorted({span for spec in specs.values() for span in spans_of(spec)})
    found = _counts(conn, list(specs), spans, now, environment)
    return {
        key: _measure(specs[key[0]], counts, first, now) for key, (counts, first) in found.items()
    }


def service_statuses(
    conn: Connection,
    services: Mapping[str, tuple[SloConfig, Collection[str]]],
    now: float,
    *,
    environment: str | None = None,
) -> dict[tuple[str, str], Status]:
    """The SLO of every (service, environment) with results: a service's ``(slo, checks)``
    counts the results of all its checks together (the same grouped query as ``statuses``)."""
    owner = {c: name for name, (_, checks) in services.items() for c in checks}
    if not owner:
        return {}
    spans = sorted({span for spec, _ in services.values() for span in spans_of(spec)})
    summed: dict[tuple[str, str], Counts] = {}
    firsts: dict[tuple[str, str], float] = {}
    found = _counts(conn, list(owner), spans, now, environment)
    for (check, env), (counts, first) in found.items():
        key = (owner[check], env)
        into = summed.setdefault(key, {})
        for span, (total, failed) in counts.items():
            was = into.get(span, (0, 0))
            into[span] = (was[0] + total, was[1] + failed)
        if first is not None:
            firsts[key] = min(first, firsts.get(key, first))
    return {
        key: _measure(services[key[0]][0], counts, firsts.get(key), now)
        for key, counts in summed.items()
    }


Counts = dict[float, tuple[int, int]]
"""Per span: (results, failures) outside maintenance."""


def _counts(
    conn: Connection,
    checks: list[str],
    spans: list[float],
    now: float,
    environment: str | None,
) -> dict[tuple[str, str], tuple[Counts, float | None]]:
    """Per (check, environment): (results, failures) outside maintenance over each span, and
    the first such result's time within the longest span."""
    r = t.check_results
    columns: list[Any] = [r.c.check_name, r.c.environment, func.min(r.c.ts)]
    for span in spans:
        recent = r.c.ts > now - span
        columns.append(func.sum(case((recent, 1), else_=0)))
        columns.append(func.sum(case((and_(recent, r.c.ok.is_(False)), 1), else_=0)))
    query = (
        select(*columns)
        .where(
            r.c.check_name.in_(checks),
            r.c.ts > now - max(spans),
            r.c.ts <= now,
            r.c.maintenance.is_(False),
        )
        .group_by(r.c.check_name, r.c.environment)
    )
    if environment is not None:
        query = query.where(r.c.environment == environment)
    return {
        (row[0], row[1]): (
            {
                span: (int(row[3 + 2 * i] or 0), int(row[4 + 2 * i] or 0))
                for i, span in enumerate(spans)
            },
            None if row[2] is None else float(row[2]),
        )
        for row in conn.execute(query)
    }


def _measure(
    slo: SloConfig, counts: Mapping[float, tuple[int, int]], first: float | None, now: float
) -> Status:
    allowed = 1.0 - slo.objective / 100.0

    def rate(span: float) -> float | None:
        total, failed = counts.get(span, (0, 0))
        return None if not total else (failed / total) / allowed

    def enough(alert: BurnRateAlert) -> bool:
        total = counts.get(alert.long, (0, 0))[0]
        return (
            total >= MIN_RESULTS and first is not None and now - first >= MIN_COVERAGE * alert.long
        )

    total, failed = counts.get(float(slo.window), (0, 0))
    return Status(
        objective=slo.objective,
        window=float(slo.window),
        total=total,
        failed=failed,
        burns=tuple(Burn(a, rate(a.long), rate(a.short), enough(a)) for a in slo.alerts),
    )


def every(slo: SloConfig) -> float:
    """How often a target's burn is judged at most: a quarter of its shortest window, between
    1 and 30 seconds (a result every second need not scan the window every second)."""
    shortest = min((a.short for a in slo.alerts), default=float(slo.window))
    return max(1.0, min(30.0, shortest / 4))


def status_without_results(slo: SloConfig) -> Status:
    """The SLO of a target with no stored result in its window (budget unknown)."""
    return _measure(slo, {}, None, 0.0)
