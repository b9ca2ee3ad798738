"""Merging another store's records into this one: what one-shot jobs that keep their own stores
(GitHub Actions: the post-deploy audit, the daily digest) tell the monitor's store.

Copied, each at most once however often the same source is merged (a row is known by its natural
key, not its id): deploy markers (version, environment, service, time), audit runs (start time)
with their findings, log findings (fingerprint and creation time; a row the source updated since is
updated here) and the last one-shot log run's marker (``kv`` logs/last_scan, the newer wins).
Only recent records are read (:data:`RECENT_S`, and always the two latest audit runs, which
"new in this audit" compares), so merging every five minutes stays cheap as the sources grow.

The source is only read: merging never changes it, and it never removes anything here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, desc, or_, select

from prodshield.store import tables as t
from prodshield.store.store import Store

RECENT_S = 14 * 86400.0
"""Records older than this in the source are not read again (they were merged when new)."""


@dataclass
class Merged:
    deploys: int = 0
    audit_runs: int = 0
    audit_findings: int = 0
    log_findings: int = 0
    last_scan: bool = False

    def __str__(self) -> str:
        parts = [
            f"{self.deploys} deploy marker{'s' * (self.deploys != 1)}",
            f"{self.audit_runs} audit run{'s' * (self.audit_runs != 1)}"
            f" ({self.audit_findings} finding{'s' * (self.audit_findings != 1)})",
            f"{self.log_findings} log finding{'s' * (self.log_findings != 1)}",
        ]
        if self.last_scan:
            parts.append("the last log scan")
        return ", ".join(parts)


def merge(target: Store, source: Store, *, now: float | None = None) -> Merged:
    """Copy ``source``'s recent records that ``target`` lacks, in one transaction of ``target``."""
    now = time.time() if now is None else now
    since = now - RECENT_S
    out = Merged()
    with source.connect() as src, target.begin() as dst:
        out.deploys = _deploys(src, dst, since)
        out.audit_runs, out.audit_findings = _audit(src, dst, since)
        out.log_findings = _log_findings(src, dst, since)
        out.last_scan = _last_scan(src, dst)
    return out


def _plain(row: Any, skip: tuple[str, ...] = ("id",)) -> dict[str, Any]:
    return {k: v for k, v in row._mapping.items() if k not in skip}


def _deploys(src: Connection, dst: Connection, since: float) -> int:
    d = t.deploys
    rows = src.execute(select(d).where(d.c.deployed_at >= since).order_by(d.c.deployed_at)).all()
    added = 0
    for row in rows:
        known = dst.execute(
            select(d.c.id).where(
                d.c.version == row.version,
                d.c.environment == row.environment,
                d.c.service == row.service,
                d.c.deployed_at == row.deployed_at,
            )
        ).first()
        if known is None:
            dst.execute(d.insert().values(_plain(row)))
            added += 1
    return added


def _audit(src: Connection, dst: Connection, since: float) -> tuple[int, int]:
    r, f = t.audit_runs, t.audit_findings
    latest = [
        row.id for row in src.execute(select(r.c.id).order_by(desc(r.c.started_at)).limit(2)).all()
    ]
    runs = src.execute(
        select(r).where(or_(r.c.started_at >= since, r.c.id.in_(latest))).order_by(r.c.started_at)
    ).all()
    added = findings = 0
    for run in runs:
        known = dst.execute(
            select(r.c.id).where(and_(r.c.started_at == run.started_at, r.c.fail_on == run.fail_on))
        ).first()
        if known is not None:
            continue
        inserted = dst.execute(r.insert().values(_plain(run))).inserted_primary_key
        assert inserted is not None
        new_id = inserted[0]
        rows = [
            _plain(x) | {"run_id": new_id}
            for x in src.execute(select(f).where(f.c.run_id == run.id).order_by(f.c.id))
        ]
        if rows:
            dst.execute(f.insert(), rows)
        added += 1
        findings += len(rows)
    return added, findings


def _log_findings(src: Connection, dst: Connection, since: float) -> int:
    f = t.log_findings
    rows = src.execute(
        select(f).where(f.c.updated_at >= since).order_by(f.c.updated_at, f.c.id)
    ).all()
    changed = 0
    for row in rows:
        known = dst.execute(
            select(f.c.id, f.c.updated_at).where(
                f.c.fingerprint == row.fingerprint, f.c.created_at == row.created_at
            )
        ).first()
        if known is None:
            dst.execute(f.insert().values(_plain(row)))
            changed += 1
        elif (known.updated_at or 0) < (row.updated_at or 0):
            values = _plain(row, ("id", "fingerprint", "created_at"))
            dst.execute(f.update().where(f.c.id == known.id).values(values))
            changed += 1
    return changed


def _last_scan(src: Connection, dst: Connection) -> bool:
    kv = t.kv
    where = and_(kv.c.namespace == "logs", kv.c.key == "last_scan")
    theirs = src.execute(select(kv).where(where)).first()
    if theirs is None:
        return False
    ours = dst.execute(select(kv.c.updated_at).where(where)).first()
    if ours is not None and ours.updated_at >= theirs.updated_at:
        return False
    dst.execute(kv.delete().where(where))
    dst.execute(kv.insert().values(_plain(theirs, ())))
    return True
