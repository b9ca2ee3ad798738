"""Audit runs in the store (``audit_runs``, ``audit_findings``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from prodshield.audit.finding import Severity
from prodshield.audit.scan import AuditReport
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.store.auditruns import bases, compare, nothing_checked, partial, scope


def save_run(store: Store, report: AuditReport, fail_on: Severity | str = Severity.HIGH) -> int:
    """Record a run and its findings; return the run id. A run that checked nothing (a TLS-only
    audit that reached no endpoint, exit 3) has no verdict: ``passed`` is null, never true."""
    failed = report.failed(fail_on)
    with store.begin() as conn:
        inserted = conn.execute(
            t.audit_runs.insert().values(
                started_at=report.started_at or time.time(),
                finished_at=time.time(),
                fail_on=str(Severity(fail_on)),
                passed=False if failed else (None if report.nothing_checked else True),
                # what each family looked at: a later run is compared with this one only over
                # the families both checked the same way (store/auditruns.py)
                summary={**report.summary(fail_on), "scope": report.scope},
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


def runs(store: Store, limit: int = 20, *, checked: bool = False) -> list[dict[str, Any]]:
    """The newest ``limit`` runs, newest first; with ``checked``, only those with a verdict."""
    query = select(t.audit_runs).order_by(t.audit_runs.c.id.desc()).limit(limit)
    if checked:
        query = query.where(t.audit_runs.c.passed.is_not(None))
    with store.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    return [r for r in rows if not nothing_checked(r)] if checked else rows


BASE_SEARCH = 1000
"""How many earlier runs a run's bases are looked for in (a family last checked further back is
not compared)."""


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


def _public(finding: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("family", "rule", "severity", "title", "path", "line", "target", "message", "fix")
    return {k: finding.get(k) for k in (*keys, "fingerprint")}


def history(store: Store, limit: int = 20) -> dict[str, Any]:
    """The stored runs, newest first, each with its counts and how many findings are new or
    fixed, family by family, since the latest earlier run that checked that family the same way
    (store/auditruns.py; by fingerprint, which survives line moves); and, for the newest run,
    the new and fixed findings themselves. A family a run did not check (``--only``) is neither
    new nor fixed. A run that checked nothing (``nothing_checked``: a TLS-only audit that reached
    no endpoint) has no verdict (``passed`` null) and no new or fixed: its empty findings are
    not a clean slate.

    ``{"runs": [{"id", "started_at", "finished_at", "fail_on", "passed", "nothing_checked",
    "families", "partial", "total", "by_severity", "previous", "compared_with", "new",
    "fixed"}], "latest": {"id", "previous", "compared_with", "nothing_checked", "new": [...],
    "fixed": [...]} | None}``; ``compared_with`` maps each family the run checked to the run it
    was compared with (null: none), ``previous`` is the newest of them.
    """
    rows = runs(store, limit=limit)
    # the runs that checked something, beyond those shown: the bases of the oldest shown ones
    checked = runs(store, limit=limit + BASE_SEARCH, checked=True)
    based_of = {
        int(r["id"]): bases(r, [c for c in checked if int(c["id"]) < int(r["id"])]) for r in rows
    }
    wanted = {int(r["id"]) for r in rows} | {
        b for based in based_of.values() for b in based.values() if b is not None
    }
    by_run = _fingerprints(store, sorted(wanted))
    shown: list[dict[str, Any]] = []
    latest: dict[str, Any] | None = None
    for i, row in enumerate(rows):
        run_id = int(row["id"])
        nothing = nothing_checked(row)
        based = based_of[run_id]
        now = by_run[run_id]
        compared = [b for b in based.values() if b is not None]
        previous = max(compared) if compared else None
        new, fixed = compare(now.values(), based, {b: list(by_run[b].values()) for b in compared})
        summary = row.get("summary") or {}
        shown.append(
            {
                "id": run_id,
                "started_at": row["started_at"],
                "finished_at": row["finished_at"],
                "fail_on": row["fail_on"],
                "passed": None if nothing else bool(row["passed"]),
                "nothing_checked": nothing,
                "families": list(scope(row)) or list(summary.get("families") or []),
                "partial": partial(row),
                "total": int(summary.get("total", len(now))),
                "by_severity": {
                    s.value: int((summary.get("by_severity") or {}).get(s.value, 0))
                    for s in Severity
                },
                "previous": previous,
                "compared_with": based,
                "new": len(new) if previous is not None else None,
                "fixed": len(fixed) if previous is not None else None,
            }
        )
        if i == 0:
            latest = {
                "id": run_id,
                "previous": previous,
                "compared_with": based,
                "nothing_checked": nothing,
                "new": [_public(f) for f in new],
                "fixed": [_public(f) for f in fixed],
            }
    return {"runs": shown, "latest": latest}
