"""The jobs behind heartbeat checks: each one's last finished run, as it reported it.

``monitor status``, the API and the dashboard show it. Apart from the read model
(``monitor/read.py``), so that ``monitor status`` does not import the incidents, evidence and
series it never shows (0.08 CPU-s); ``monitor.views`` re-exports :class:`JobRunView`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.views import View


class JobRunView(View):
    """A heartbeat check's last finished job run, as its job reported it (``run-job``, or a
    POST to a ping URL): ``output`` is the tail it sent (the last 10 KB, secrets masked)."""

    succeeded: bool
    finished_at: float | None
    exit_code: int | None
    duration_s: float | None
    output: str | None


def job_run(conn: Any, name: str, environment: str | None) -> JobRunView | None:
    """A heartbeat check's last job run from its row (None before its job said anything but
    plain pings without output)."""
    hb = t.heartbeats
    row = conn.execute(
        select(hb).where(hb.c.check_name == name, hb.c.environment == environment)
    ).first()
    return None if row is None else _job_view(row)


def job_runs(store: Store) -> dict[tuple[str, str], JobRunView]:
    """Every heartbeat check's last job run by (check, environment), in one statement (absent:
    its job never reported a run); ``monitor status`` reads them."""
    with store.connect() as conn:
        rows = conn.execute(select(t.heartbeats)).all()
    return {(r.check_name, r.environment): view for r in rows if (view := _job_view(r)) is not None}


def _job_view(row: Any) -> JobRunView | None:
    if row.failed_at is None and row.exit_code is None and not row.output:
        return None
    failed = row.failed_at is not None and row.failed_at > (row.last_ping or 0.0)
    return JobRunView(
        succeeded=not failed,
        finished_at=row.failed_at if failed else row.last_ping,
        exit_code=row.exit_code,
        duration_s=row.duration_s,
        output=row.output,
    )
