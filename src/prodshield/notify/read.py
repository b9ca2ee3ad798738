"""The outbox's read model: counts by state, the latest rows and the dead letters.

What the dashboard's Notifications tab shows, as :class:`~prodshield.views.View` models.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field
from sqlalchemy import desc, func, select

from prodshield.notify.redact import redact
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.views import View

LAST_ERROR_SHOWN = 300
"""Characters of a row's last error shown."""


class OutboxRowView(View):
    """One queued notification."""

    id: int
    notifier: str
    event_type: str
    subject: str | None
    status: str = Field(description="pending, sent or dead")
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    sent_at: float | None


class OutboxView(View):
    """The outbox at a glance."""

    counts: dict[str, int] = Field(description="rows per status")
    recent: list[OutboxRowView]
    dead: list[OutboxRowView]


def status_counts(store: Store) -> dict[str, int]:
    """Outbox rows per status (``/metrics``, the Notifications tab)."""
    o = t.outbox
    with store.connect() as conn:
        return {
            status: int(n)
            for status, n in conn.execute(select(o.c.status, func.count()).group_by(o.c.status))
        }


def outbox(store: Store, *, limit: int = 50, secrets: Iterable[str] = ()) -> OutboxView:
    """Counts per status, the last ``limit`` rows and the last ``limit`` dead letters; last
    errors (a remote's answer) with ``secrets`` and every secret shape masked."""
    known = list(secrets)
    o = t.outbox
    with store.connect() as conn:
        counts = {
            status: int(n)
            for status, n in conn.execute(select(o.c.status, func.count()).group_by(o.c.status))
        }
        rows = conn.execute(select(o).order_by(desc(o.c.id)).limit(limit)).all()
        dead = conn.execute(
            select(o).where(o.c.status == "dead").order_by(desc(o.c.id)).limit(limit)
        ).all()
    return OutboxView(
        counts=counts,
        recent=[_row(r._mapping, known) for r in rows],
        dead=[_row(r._mapping, known) for r in dead],
    )


def _row(m: Any, secrets: list[str]) -> OutboxRowView:
    error = redact(m["last_error"], secrets)[:LAST_ERROR_SHOWN] if m["last_error"] else None
    return OutboxRowView(
        id=int(m["id"]),
        notifier=m["notifier"],
        event_type=m["event_type"],
        subject=m["subject"],
        status=m["status"],
        attempts=int(m["attempts"]),
        next_attempt_at=m["next_attempt_at"],
        last_error=error or None,
        created_at=m["created_at"],
        sent_at=m["sent_at"],
    )
