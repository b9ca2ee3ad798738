"""The audit's read model: the latest stored run with its findings, most severe first.

What the dashboard's Audit tab and ``/api/v1/findings`` show, as :class:`~prodshield.views.View`
models (``audit/history.py`` writes the rows).
"""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import desc, func, select

from prodshield.severity import worst_first
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.views import JSONObject, View


class AuditRunView(View):
    """One stored audit run and its gate."""

    id: int
    started_at: float
    finished_at: float | None
    fail_on: str | None = Field(description="the gate's threshold")
    passed: bool | None = Field(
        description="the gate's verdict; null when the run checked nothing (a TLS-only audit"
        " that reached no endpoint)"
    )
    summary: JSONObject | None = Field(description="total and counts by severity")


class AuditFindingView(View):
    """A finding of the latest run."""

    id: int
    family: str
    rule: str
    severity: str
    title: str
    path: str | None
    line: int | None
    target: str | None
    message: str | None
    fix: str | None


class AuditLatestView(View):
    """The latest run (null before the first) and its findings."""

    run: AuditRunView | None
    findings: list[AuditFindingView]


def latest_counts(store: Store) -> dict[str, int]:
    """The latest run's findings per severity (``/metrics``); empty before the first run."""
    ar, af = t.audit_runs, t.audit_findings
    with store.connect() as conn:
        last_run = conn.execute(select(func.max(ar.c.id))).scalar()
        if last_run is None:
            return {}
        return {
            sev: int(n)
            for sev, n in conn.execute(
                select(af.c.severity, func.count())
                .where(af.c.run_id == last_run)
                .group_by(af.c.severity)
            )
        }


def latest(store: Store, *, severity: str | None = None, limit: int = 500) -> AuditLatestView:
    """The latest audit run with its findings (most severe first) and gate result."""
    ar, af = t.audit_runs, t.audit_findings
    with store.connect() as conn:
        run = conn.execute(select(ar).order_by(desc(ar.c.started_at)).limit(1)).first()
        if run is None:
            return AuditLatestView(run=None, findings=[])
        query = select(af).where(af.c.run_id == run.id)
        if severity:
            query = query.where(af.c.severity == severity)
        rows = conn.execute(query.limit(limit)).all()
    found = sorted(
        (
            AuditFindingView(
                id=int(r.id),
                family=r.family,
                rule=r.rule,
                severity=r.severity,
                title=r.title,
                path=r.path,
                line=r.line,
                target=r.target,
                message=r.message,
                fix=r.fix,
            )
            for r in rows
        ),
        key=lambda x: (worst_first(x.severity), x.id),
    )
    return AuditLatestView(
        run=AuditRunView(
            id=int(run.id),
            started_at=run.started_at,
            finished_at=run.finished_at,
            fail_on=run.fail_on,
            # older rows of a run that checked nothing say passed: its summary knows better
            passed=None
            if isinstance(run.summary, dict) and run.summary.get("nothing_checked")
            else run.passed,
            summary=run.summary if isinstance(run.summary, dict) else None,
        ),
        findings=found,
    )
