"""The log capability's read model: stored findings, templates with hourly counts, the digest.

What the dashboard's Logs tab and the JSON API (``/api/v1/findings``, ``/api/v1/templates``)
show, as :class:`~prodshield.views.View` models; ``web/openapi.py`` documents the same classes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import desc, func, select

from prodshield import deploys
from prodshield.logs.findings import sealed_text
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.views import JSONObject, View


class LogFindingView(View):
    """A finding of the log detectors, one row per continuing finding."""

    id: int
    category: str
    kind: str
    severity: str
    count: int
    first_seen: float | None
    last_seen: float | None
    source: JSONObject | None = Field(description="where it was seen (path, service)")
    samples: list[str] = Field(description="at most three redacted sample lines")
    fingerprint: str
    message: str


class NewSinceView(View):
    """What "new" templates are new since."""

    at: float | None = Field(description="epoch seconds; null: no marker yet")
    marker: Literal["deploy", "baseline"] | None
    label: str | None = Field(description="the deploy's version or label")


class LogTemplateView(View):
    """A mined log template with its hourly counts."""

    id: str
    template: str
    count: int
    first_seen: float | None
    last_seen: float | None
    source: str | None
    hourly: list[int] = Field(description="counts per hour, oldest first")
    new: bool = Field(description="first seen after new_since")


def findings(
    store: Store, *, severity: str | None = None, kind: str | None = None, limit: int = 100
) -> list[LogFindingView]:
    """The stored log findings, last seen first."""
    f = t.log_findings
    query = select(f).order_by(desc(f.c.last_seen), desc(f.c.id)).limit(limit)
    if severity:
        query = query.where(f.c.severity == severity)
    if kind:
        query = query.where(f.c.kind == kind)
    with store.connect() as conn:
        return [
            LogFindingView(
                id=int(r.id),
                category=r.category,
                kind=r.kind,
                severity=r.severity,
                count=int(r._mapping["count"]),
                first_seen=r.first_seen,
                last_seen=r.last_seen,
                source=r.source if isinstance(r.source, dict) else None,
                samples=[str(s) for s in (r.samples or [])[:3]],
                fingerprint=r.fingerprint,
                message=r._mapping.get("message") or "",
            )
            for r in conn.execute(query)
        ]


def finding_counts(store: Store) -> dict[tuple[str, str], int]:
    """Occurrences per (kind, severity) over the stored findings (``/metrics``)."""
    lf = t.log_findings
    with store.connect() as conn:
        return {
            (a, b): int(n or 0)
            for a, b, n in conn.execute(
                select(lf.c.kind, lf.c.severity, func.sum(lf.c.count)).group_by(
                    lf.c.kind, lf.c.severity
                )
            )
        }


def new_since(store: Store) -> NewSinceView:
    """What "new" templates are new since: the last deploy marker (``prodshield deploy mark``
    or ``prodshield logs mark-deploy``, the newer), else the log service's baseline (its first
    catch-up read)."""
    deploy = store.kv_get("logs", "deploy")
    marker = deploys.deploys(store, limit=1)
    if marker and not (
        isinstance(deploy, dict) and float(deploy.get("at") or 0) > marker[0].deployed_at
    ):
        last = marker[0]
        return NewSinceView(at=last.deployed_at, marker="deploy", label=last.version)
    if isinstance(deploy, dict) and deploy.get("at"):
        label = deploy.get("label")
        return NewSinceView(
            at=float(deploy["at"]),
            marker="deploy",
            label=None if label is None else str(label),
        )
    baseline = store.kv_get("logs", "baseline")
    if isinstance(baseline, dict) and baseline.get("at"):
        return NewSinceView(at=float(baseline["at"]), marker="baseline", label=None)
    return NewSinceView(at=None, marker=None, label=None)


def templates(store: Store, *, limit: int = 30, hours: int = 24) -> list[LogTemplateView]:
    """The most frequent log templates with their hourly counts over the last ``hours``, each
    marked ``new`` when first seen after :func:`new_since`."""
    lt, lc = t.log_templates, t.log_template_counts
    since = new_since(store).at
    now = time.time()
    first = int(now) // 3600 * 3600 - (hours - 1) * 3600
    with store.connect() as conn:
        rows = conn.execute(select(lt).order_by(desc(lt.c.count)).limit(limit)).all()
        ids = [r.id for r in rows]
        counts: dict[str, dict[int, int]] = defaultdict(dict)
        if ids:
            for tid, hour, count in conn.execute(
                select(lc.c.template_id, lc.c.hour, lc.c.count).where(
                    lc.c.template_id.in_(ids), lc.c.hour >= first
                )
            ):
                counts[tid][int(hour)] = int(count)
    return [
        LogTemplateView(
            id=r.id,
            # sealed again: a row an older version wrote may hold what it learnt unredacted
            template=sealed_text(r.template),
            count=int(r._mapping["count"]),
            first_seen=r.first_seen,
            last_seen=r.last_seen,
            source=r.source,
            hourly=[counts[r.id].get(first + i * 3600, 0) for i in range(hours)],
            new=since is not None and r.first_seen is not None and r.first_seen > since,
        )
        for r in rows
    ]


def digest(store: Store) -> Any:
    """The latest daily digest the log service stored (``kv`` logs/digest), if any: a mapping
    with ``markdown`` (and ``summary``, ``generated_at``), or what an older version wrote."""
    return store.kv_get("logs", "digest")
