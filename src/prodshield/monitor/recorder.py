"""Writing results to the store: one transaction per batch, with the state of each target."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from prodshield.monitor.result import CheckResult
from prodshield.monitor.state import CheckState
from prodshield.store import Store
from prodshield.store import tables as t


def write_batch(store: Store, results: Sequence[CheckResult], states: Sequence[CheckState]) -> None:
    """Insert ``results`` and upsert ``states`` in one transaction."""
    if not results and not states:
        return
    s = t.check_state
    insert = pg_insert if store.backend == "postgresql" else sqlite_insert
    with store.begin() as conn:
        if results:
            conn.execute(t.check_results.insert(), [r.as_row() for r in results])
        if states:
            stmt = insert(s)
            stmt = stmt.on_conflict_do_update(
                index_elements=[s.c.check_name, s.c.environment],
                set_={
                    c: stmt.excluded[c]
                    for c in (
                        "status",
                        "consecutive_failures",
                        "consecutive_successes",
                        "last_ts",
                        "last_ok",
                        "last_error_kind",
                        "updated_at",
                    )
                },
            )
            conn.execute(stmt, [st.as_row() for st in states])
