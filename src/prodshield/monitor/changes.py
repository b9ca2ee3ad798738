"""What one run changed in the incidents: which opened and which resolved.

``monitor once`` reports it in its JSON. The run is compared with a snapshot taken before it
(the open incidents and the highest incident id), so the answer does not depend on how the
incident engine dates an opening (the first failure may belong to an earlier run).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from prodshield.store import Store
from prodshield.store import tables as t


@dataclass(frozen=True)
class IncidentSnapshot:
    open_ids: frozenset[int]
    max_id: int


def snapshot(store: Store) -> IncidentSnapshot:
    """The open incidents and the highest incident id, before a run."""
    i = t.incidents
    with store.connect() as conn:
        open_ids = frozenset(
            int(r[0]) for r in conn.execute(select(i.c.id).where(i.c.status == "open"))
        )
        max_id = conn.execute(select(func.coalesce(func.max(i.c.id), 0))).scalar() or 0
    return IncidentSnapshot(open_ids, int(max_id))


def open_incidents(store: Store, environment: str | None = None) -> list[dict[str, Any]]:
    """The open incidents (oldest first), only those of ``environment`` when given: what
    ``chaos run`` checks before injecting faults."""
    i = t.incidents
    query = select(i).where(i.c.status == "open").order_by(i.c.opened_at, i.c.id)
    if environment is not None:
        query = query.where(i.c.environment == environment)
    with store.connect() as conn:
        return [_row(m) for m in conn.execute(query).mappings()]


def _row(m: Any) -> dict[str, Any]:
    refs = m["refs"] if isinstance(m["refs"], dict) else {}
    return {
        "id": int(m["id"]),
        "check": m["check_name"],
        "environment": m["environment"] or None,
        "kind": m["kind"],
        "severity": m["severity"],
        "title": m["title"],
        "status": m["status"],
        "opened_at": m["opened_at"],
        "resolved_at": m["resolved_at"],
        # a depends_on parent's outage: recorded, notified to no one (docs/monitor.md)
        "suppressed_by": refs.get("suppressed_by"),
        "parent_incident": refs.get("parent_incident"),
    }


def incident_changes(
    store: Store, before: IncidentSnapshot, keys: Iterable[tuple[str, str]] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """``{"opened": [...], "resolved": [...]}`` since ``before`` (for ``keys`` when given)."""
    i = t.incidents
    wanted = set(keys) if keys is not None else None
    candidates = set(before.open_ids)
    with store.connect() as conn:
        rows = (
            conn.execute(select(i).where((i.c.id > before.max_id) | i.c.id.in_(candidates or {-1})))
            .mappings()
            .all()
        )
    opened: list[dict[str, Any]] = []
    resolved: list[dict[str, Any]] = []
    for m in sorted(rows, key=lambda r: int(r["id"])):
        if wanted is not None and (m["check_name"], m["environment"] or "") not in wanted:
            continue
        if int(m["id"]) > before.max_id:
            opened.append(_row(m))
            if m["status"] != "open":
                resolved.append(_row(m))  # opened and resolved within the same run
        elif m["status"] != "open":
            resolved.append(_row(m))
    return {"opened": opened, "resolved": resolved}
