"""Audit runs in the store (``audit_runs``, ``audit_findings``)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from prodshield.audit.finding import Severity
from prodshield.audit.scan import AuditReport
from prodshield.store import Store
from prodshield.store import tables as t


def save_run(store: Store, report: AuditReport, fail_on: Severity | str = Severity.HIGH) -> int:
    """Record a run and its findings; return the run id."""
    with store.begin() as conn:
        inserted = conn.execute(
            t.audit_runs.insert().values(
                started_at=report.started_at or time.time(),
                finished_at=time.time(),
                fail_on=str(Severity(fail_on)),
                passed=not report.failed(fail_on),
                summary=report.summary(fail_on),
            )
        ).inserted_primary_key
        assert inserted is not None
        run_id = inserted[0]
        if report.findings:
            conn.execute(
                t.audit_findings.insert(),
                [
                    {"run_id": run_id, **{k: v for k, v in f.to_dict().items()}}
                    for f in report.findings
                ],
            )
    return int(run_id)


def runs(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(
            select(t.audit_runs).order_by(t.audit_runs.c.id.desc()).limit(limit)
        ).mappings()
        return [dict(r) for r in rows]


def findings_of(store: Store, run_id: int) -> list[dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(
            select(t.audit_findings)
            .where(t.audit_findings.c.run_id == run_id)
            .order_by(t.audit_findings.c.id)
        ).mappings()
        return [dict(r) for r in rows]
