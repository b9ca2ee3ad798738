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


def _fingerprints(store: Store, run_ids: list[int]) -> dict[int, dict[str, dict[str, Any]]]:
    """Per run: fingerprint -> the finding (its first row when a fingerprint repeats)."""
    out: dict[int, dict[str, dict[str, Any]]] = {i: {} for i in run_ids}
    if not run_ids:
        return out
    with store.connect() as conn:
        rows = conn.execute(
            select(t.audit_findings)
            .where(t.audit_findings.c.run_id.in_(run_ids))
            .order_by(t.audit_findings.c.id)
        ).mappings()
        for r in rows:
            out[int(r["run_id"])].setdefault(str(r["fingerprint"]), dict(r))
    return out


def _public(finding: dict[str, Any]) -> dict[str, Any]:
    keys = ("family", "rule", "severity", "title", "path", "line", "target", "message", "fix")
    return {k: finding.get(k) for k in (*keys, "fingerprint")}


def history(store: Store, limit: int = 20) -> dict[str, Any]:
    """The stored runs, newest first, each with its counts and how many findings are new or
    fixed since the run before it (by fingerprint, which survives line moves); and, for the
    newest run, the new and fixed findings themselves.

    ``{"runs": [{"id", "started_at", "finished_at", "fail_on", "passed", "total",
    "by_severity", "previous", "new", "fixed"}], "latest": {"id", "previous", "new": [...],
    "fixed": [...]} | None}``
    """
    rows = runs(store, limit=limit + 1)  # one more: the newest shown run's predecessor
    by_run = _fingerprints(store, [int(r["id"]) for r in rows])
    shown: list[dict[str, Any]] = []
    latest: dict[str, Any] | None = None
    for i, row in enumerate(rows[:limit]):
        run_id = int(row["id"])
        previous = int(rows[i + 1]["id"]) if i + 1 < len(rows) else None
        now = by_run[run_id]
        before = by_run[previous] if previous is not None else None
        new = [f for fp, f in now.items() if before is not None and fp not in before]
        fixed = [f for fp, f in (before or {}).items() if fp not in now]
        summary = row.get("summary") or {}
        shown.append(
            {
                "id": run_id,
                "started_at": row["started_at"],
                "finished_at": row["finished_at"],
                "fail_on": row["fail_on"],
                "passed": bool(row["passed"]),
                "total": int(summary.get("total", len(now))),
                "by_severity": {
                    s.value: int((summary.get("by_severity") or {}).get(s.value, 0))
                    for s in Severity
                },
                "previous": previous,
                "new": len(new) if previous is not None else None,
                "fixed": len(fixed) if previous is not None else None,
            }
        )
        if i == 0:
            latest = {
                "id": run_id,
                "previous": previous,
                "new": [_public(f) for f in new],
                "fixed": [_public(f) for f in fixed],
            }
    return {"runs": shown, "latest": latest}
