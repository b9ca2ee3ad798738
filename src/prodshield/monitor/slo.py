"""SLOs: error budgets and multi-window burn-rate alerts from the results the checks store.

A check's ``slo: {objective: 99.9, window: 30d}`` allows 0.1 % of its results (outside
maintenance windows) to fail over any 30 days: that is its **error budget**. The **burn rate**
over a span is its failure ratio divided by the budget's (1 - objective): 1 spends the budget
exactly over the window, 14.4 spends 2 % of a 30-day budget in one hour. A burn-rate alert (the
SRE workbook's multi-window, multi-burn-rate alerts) fires when both its long and its short
window burn at least its rate; an ``slo`` incident then opens through the incidents table and the
notifiers, and resolves once no alert fires. Everything is read from ``check_results`` with one
aggregate query per evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from prodshield.config.alerting import BurnRateAlert, SloConfig
from prodshield.config.types import format_duration
from prodshield.store import tables as t

KIND = "slo"


@dataclass(frozen=True)
class Burn:
    """One burn-rate alert's windows as measured now."""

    alert: BurnRateAlert
    long_rate: float | None
    short_rate: float | None

    @property
    def firing(self) -> bool:
        return (
            self.long_rate is not None
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
                }
                for b in self.burns
            ],
        }


def status(conn: Connection, check: str, environment: str, slo: SloConfig, now: float) -> Status:
    """Measure the SLO of ``check`` in ``environment`` at ``now`` (one aggregate query)."""
    spans = sorted(
        {float(slo.window)} | {a.long for a in slo.alerts} | {a.short for a in slo.alerts}
    )
    r = t.check_results
    columns = []
    for span in spans:
        recent = r.c.ts > now - span
        columns.append(func.sum(case((recent, 1), else_=0)))
        columns.append(func.sum(case((and_(recent, r.c.ok.is_(False)), 1), else_=0)))
    row = conn.execute(
        select(*columns).where(
            r.c.check_name == check,
            r.c.environment == environment,
            r.c.ts > now - max(spans),
            r.c.ts <= now,
            r.c.maintenance.is_(False),
        )
    ).one()
    counts = {
        span: (int(row[2 * i] or 0), int(row[2 * i + 1] or 0)) for i, span in enumerate(spans)
    }
    allowed = 1.0 - slo.objective / 100.0

    def rate(span: float) -> float | None:
        total, failed = counts[span]
        return None if not total else (failed / total) / allowed

    total, failed = counts[float(slo.window)]
    return Status(
        objective=slo.objective,
        window=float(slo.window),
        total=total,
        failed=failed,
        burns=tuple(Burn(a, rate(a.long), rate(a.short)) for a in slo.alerts),
    )
