"""Versioned schema migrations, one chain per component.

Each component (``core``, ``monitor``, ``logs``, ``audit``, ``chaos``, ``notify``, ``deploys``,
``evidence``, ``status``, ``subscriptions``) has an ordered list of steps; ``schema_versions``
records how far each has been applied. A step receives a connection inside a transaction and must be safe to run on a database
whose tables were created by a newer ``tables.py`` (use :func:`add_column` rather than raw
``ALTER``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Table, inspect, select

from prodshield.store import partitions
from prodshield.store import tables as t

Step = Callable[[Connection], None]


def create(*tables: Table) -> Step:
    """A step that creates ``tables`` if they do not exist."""

    def step(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    step.__doc__ = "create " + ", ".join(tb.name for tb in tables)
    return step


def add_column(table: Table, column_name: str) -> Step:
    """A step that adds ``table.column_name`` (as declared in tables.py) if it is missing."""

    def step(conn: Connection) -> None:
        existing = {c["name"] for c in inspect(conn).get_columns(table.name)}
        if column_name in existing:
            return
        column = table.c[column_name]
        ddl_type = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(f'ALTER TABLE {table.name} ADD COLUMN "{column_name}" {ddl_type}')

    step.__doc__ = f"add {table.name}.{column_name}"
    return step


def rebuild_without(table: Table, column_name: str) -> Step:
    """A step that drops and re-creates ``table`` when it lacks ``column_name``: only for tables of
    soft state that their writers rebuild on their own (leases), where the key itself changed."""

    def step(conn: Connection) -> None:
        existing = {c["name"] for c in inspect(conn).get_columns(table.name)}
        if column_name in existing:
            return
        table.drop(conn)
        table.create(conn)

    step.__doc__ = f"rebuild {table.name} with {column_name}"
    return step


def add_index(table: Table, index_name: str) -> Step:
    """A step that creates ``table``'s index ``index_name`` (as declared in tables.py) if missing."""

    def step(conn: Connection) -> None:
        existing = {ix["name"] for ix in inspect(conn).get_indexes(table.name)}
        if index_name in existing:
            return
        next(ix for ix in table.indexes if ix.name == index_name).create(conn)

    step.__doc__ = f"add index {index_name} on {table.name}"
    return step


def unreverse_incidents(conn: Connection) -> None:
    """Incidents an older version resolved before they opened (the flapping bug, issue 17):
    resolved when they opened, so no duration is negative."""
    i = t.incidents
    conn.execute(
        i.update()
        .where(i.c.resolved_at.is_not(None), i.c.resolved_at < i.c.opened_at)
        .values(resolved_at=i.c.opened_at)
    )


def rekey_heartbeats(conn: Connection) -> None:
    """key heartbeats by (check, environment), keeping their ping URLs"""
    # Older stores kept one ``check_name`` holding ``check@environment`` (the bare name for a
    # check without environments), where a check named ``backup@staging`` and check ``backup``
    # in ``staging`` shared one row (one URL: a ping to one kept the other green). Each row keeps
    # its token and is split at its last ``@``, unless the monitor's own records (check state,
    # incidents: check and environment apart) know the whole key as a check without
    # environments and never the split pair: check ``backup@nightly`` keeps its name and URL.
    existing = {c["name"] for c in inspect(conn).get_columns(t.heartbeats.name)}
    if "environment" in existing:
        return
    names = [c.name for c in t.heartbeats.columns if c.name in existing]
    columns = ", ".join(f'"{n}"' for n in names)
    rows = [
        dict(zip(names, r, strict=True))
        for r in conn.exec_driver_sql(f"SELECT {columns} FROM {t.heartbeats.name}")
    ]
    known = _monitored_targets(conn) if any("@" in str(r["check_name"]) for r in rows) else set()
    t.heartbeats.drop(conn)
    t.heartbeats.create(conn)
    for row in rows:
        name = str(row["check_name"])
        check, _, environment = name.rpartition("@")
        whole = (name, "") in known and (check, environment) not in known
        if check and environment and not whole:
            row["check_name"], row["environment"] = check, environment
        else:
            row["environment"] = ""
    if rows:
        conn.execute(t.heartbeats.insert(), rows)


def _monitored_targets(conn: Connection) -> set[tuple[str, str]]:
    """Every (check, environment) the monitor has judged (check_state) or opened an incident on."""
    known: set[tuple[str, str]] = set()
    for table in (t.check_state, t.incidents):
        query = select(table.c.check_name, table.c.environment).distinct()
        known.update((str(c), str(e or "")) for c, e in conn.execute(query))
    return known


REPAIRS: dict[Step, str] = {
    unreverse_incidents: "incidents an older version resolved before they opened (issue 17)",
    rekey_heartbeats: "heartbeats an older version keyed by check@environment",
}
"""Steps that repair or convert rows an older version wrote, and what they look for. A new store
has none: ``db upgrade`` says so instead of a note that reads as if its data had been repaired."""


def describe(component: str, number: int, step: Step, *, new_store: bool) -> str:
    """The line ``db upgrade`` prints for an applied step."""
    if new_store and step in REPAIRS:
        return f"{component} {number}: nothing to repair in a new store: {REPAIRS[step]}"
    return f"{component} {number}: {' '.join((step.__doc__ or step.__name__).split())}"


MIGRATIONS: dict[str, list[Step]] = {
    "core": [create(t.kv)],
    "monitor": [
        create(t.check_results, t.check_hourly, t.check_state, t.incidents, t.heartbeats),
        add_column(t.check_state, "first_failure_ts"),
        add_column(t.check_state, "first_failure_result_id"),
        add_column(t.check_state, "recovery_start_ts"),
        add_column(t.check_state, "open_incident_id"),
        add_column(t.check_state, "last_reminder_at"),
        add_column(t.heartbeats, "created_at"),
        create(t.monitor_instances, t.check_leases),
        add_column(t.check_results, "location"),
        rebuild_without(t.check_leases, "slot"),
        add_column(t.check_state, "last_change_ts"),
        add_column(t.check_state, "open_kind"),
        add_column(t.check_state, "opened_at"),
        add_column(t.check_state, "open_error_kind"),
        add_column(t.incidents, "severity"),
        add_column(t.incidents, "title"),
        unreverse_incidents,
        add_column(t.heartbeats, "started_at"),
        add_column(t.heartbeats, "failed_at"),
        add_column(t.heartbeats, "exit_code"),
        add_column(t.heartbeats, "duration_s"),
        add_column(t.heartbeats, "output"),
        create(t.silences),
        rekey_heartbeats,
        add_column(t.check_results, "degraded"),
        add_column(t.check_hourly, "degraded"),
    ],
    "logs": [
        create(
            t.log_offsets, t.log_templates, t.log_template_counts, t.log_findings, t.debt_snapshots
        ),
        add_column(t.log_findings, "message"),
        add_column(t.log_findings, "updated_at"),
        add_index(t.log_findings, "ix_log_findings_updated"),
        add_index(t.log_findings, "ix_log_findings_last_seen"),
        add_index(t.log_findings, "ix_log_findings_kind"),
    ],
    "audit": [create(t.audit_runs, t.audit_findings)],
    "chaos": [create(t.experiment_journals)],
    "notify": [create(t.outbox), add_index(t.outbox, "ix_outbox_thread")],
    "web": [add_index(t.check_hourly, "ix_check_hourly_hour")],
    "deploys": [create(t.deploys)],
    "evidence": [create(t.incident_evidence)],
    "status": [create(t.incident_updates)],
    "subscriptions": [create(t.status_subscribers)],
    # after "monitor", which creates check_results: on PostgreSQL, partition it by day
    "partitions": [partitions.convert],
}
"""Append a step to a component's list to change its schema; never edit or reorder old steps."""
