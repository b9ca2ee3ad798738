"""Writing results to the store: one transaction per batch, with the state of each target."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from prodshield.monitor.result import CheckResult
from prodshield.monitor.state import CheckState
from prodshield.store import Store
from prodshield.store import tables as t

if TYPE_CHECKING:
    from prodshield.monitor.incidents import IncidentEngine


def write_batch(
    store: Store,
    results: Sequence[CheckResult],
    states: Sequence[CheckState],
    incidents: IncidentEngine | None = None,
    *,
    owner: str | None = None,
    origin: dict[str, str | None] | None = None,
    witness: Collection[tuple[str, str]] = (),
) -> int:
    """Insert ``results`` and upsert ``states`` in one transaction; return how many results were
    dropped because their target's lease is no longer ``owner``'s.

    With an incident engine, the engine owns ``check_state``: in the same transaction it turns the
    results into incident changes and outbox events, so a crash keeps all of it or none of it.
    With ``owner`` (several instances), only the results of targets whose lease the owner still
    holds are written, the lease rows locked ``FOR SHARE`` until the commit. ``origin`` fills the
    ``instance`` and ``location`` columns of the results. The results of targets in ``witness``
    (checks run from several locations, led by another one) are stored but not judged: the lead
    location's instance judges them with the others' latest results.
    """
    if not results and not states:
        return 0
    s = t.check_state
    insert = pg_insert if store.backend == "postgresql" else sqlite_insert
    dropped = 0
    with store.begin() as conn:
        if owner is not None:
            from prodshield.monitor.cluster import owned_keys_for_update

            owned = owned_keys_for_update(conn, owner, [(r.check, r.environment) for r in results])
            kept = [r for r in results if (r.check, r.environment) in owned]
            dropped = len(results) - len(kept)
            results = kept
            states = [st for st in states if (st.check, st.environment) in owned]
        if witness:
            states = [st for st in states if (st.check, st.environment) not in witness]
        if incidents is not None:
            if results:
                rows = [r.as_row() for r in results]
                if origin:
                    for row in rows:
                        row.update(origin)
                observations = incidents.observations(
                    results, location=(origin or {}).get("location")
                )
                for row, obs in zip(rows, observations, strict=True):
                    row["maintenance"] = obs.maintenance is not None
                ids = (
                    conn.execute(
                        t.check_results.insert().returning(
                            t.check_results.c.id, sort_by_parameter_order=True
                        ),
                        rows,
                    )
                    .scalars()
                    .all()
                )
                for obs, rid in zip(observations, ids, strict=True):
                    obs.result_id = rid
                if witness:
                    observations = [
                        o for o in observations if (o.check, o.environment) not in witness
                    ]
                incidents.process(conn, observations)
            return dropped
        if results:
            plain = [r.as_row() for r in results]
            if origin:
                for row in plain:
                    row.update(origin)
            conn.execute(t.check_results.insert(), plain)
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
    return dropped
