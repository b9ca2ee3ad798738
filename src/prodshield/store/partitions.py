"""Daily partitions of ``check_results`` on PostgreSQL, so retention drops a day, not deletes rows.

At 100,000 checks ``check_results`` grows by tens of GB a day; deleting old rows one by one costs
as much as writing them and leaves bloat for autovacuum. On PostgreSQL the table is partitioned by
range of ``ts``, one partition per UTC day (``check_results_pYYYYMMDD``), plus a default partition
for a result whose day has no partition yet (a clock far off). Partitions are created ahead: for
the days from two before to seven after now, at every store upgrade (each process that opens the
store) and every retention pass, so the default stays empty in practice. Retention rolls a whole
old day up into ``check_hourly`` and drops its partition (``retention.drop_old_partitions``).

SQLite keeps one plain table: it has no partitions, and its retention deletes in batches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection

TABLE = "check_results"
DEFAULT = f"{TABLE}_default"
DAY = 86400
AHEAD_DAYS = 7
BEHIND_DAYS = 2
MAX_CONVERTED_DAYS = 400
"""Converting an existing table makes a partition per day of its data, for at most this many days
back (older rows go to the default partition and are deleted by retention as usual)."""


@dataclass(frozen=True)
class Partition:
    name: str
    start: float
    end: float


def name_of(day_start: float) -> str:
    return f"{TABLE}_p{datetime.fromtimestamp(day_start, UTC):%Y%m%d}"


def is_partitioned(conn: Connection) -> bool:
    kind = conn.exec_driver_sql(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname = %(name)s",
        {"name": TABLE},
    ).scalar()
    return kind == "p"


def partitions(conn: Connection) -> list[Partition]:
    """The day partitions of ``check_results`` (not the default), oldest first."""
    rows = conn.exec_driver_sql(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
        "JOIN pg_namespace n ON n.oid = p.relnamespace "
        "WHERE n.nspname = current_schema() AND p.relname = %(name)s",
        {"name": TABLE},
    ).all()
    out = []
    for name, bound in rows:
        if name == DEFAULT or "FROM" not in (bound or ""):
            continue
        # "FOR VALUES FROM ('1796342400') TO ('1796428800')"
        low, high = (part.split("(")[1].split(")")[0].strip("'") for part in bound.split(" TO "))
        out.append(Partition(name, float(low), float(high)))
    return sorted(out, key=lambda p: p.start)


def _create_day(conn: Connection, day_start: int) -> bool:
    """Create the partition of one day unless the default partition holds rows of that day."""
    end = day_start + DAY
    stray = conn.exec_driver_sql(
        f"SELECT 1 FROM {DEFAULT} WHERE ts >= %(a)s AND ts < %(b)s LIMIT 1",
        {"a": day_start, "b": end},
    ).first()
    if stray is not None:
        return False  # those rows stay in the default partition until retention deletes them
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {name_of(day_start)} PARTITION OF {TABLE} "
        f"FOR VALUES FROM ({day_start}) TO ({end})"
    )
    return True


def ensure(conn: Connection, now: float | None = None) -> int:
    """Create the missing day partitions around ``now``; return how many were created."""
    if not is_partitioned(conn):
        return 0
    now = time.time() if now is None else now
    have = {p.name for p in partitions(conn)}
    today = int(now // DAY) * DAY
    created = 0
    for offset in range(-BEHIND_DAYS, AHEAD_DAYS + 1):
        day = today + offset * DAY
        if name_of(day) not in have and _create_day(conn, day):
            created += 1
    return created


def convert(conn: Connection) -> None:
    """partition check_results by day (PostgreSQL; keeps its rows and id sequence)"""
    if conn.dialect.name != "postgresql" or is_partitioned(conn):
        return
    old = f"{TABLE}_unpartitioned"
    seq = conn.exec_driver_sql(f"SELECT pg_get_serial_sequence('{TABLE}', 'id')").scalar()
    conn.exec_driver_sql(f"ALTER TABLE {TABLE} RENAME TO {old}")
    for index in ("ix_check_results_check_env_ts", "ix_check_results_ts", "check_results_pkey"):
        conn.exec_driver_sql(f"ALTER INDEX IF EXISTS {index} RENAME TO {index}_old")
    if seq:
        conn.exec_driver_sql(f"ALTER SEQUENCE {seq} OWNED BY NONE")
    conn.exec_driver_sql(
        f"CREATE TABLE {TABLE} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (ts)"
    )
    conn.exec_driver_sql(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id, ts)")
    conn.exec_driver_sql(
        f"CREATE INDEX ix_check_results_check_env_ts ON {TABLE} (check_name, environment, ts)"
    )
    conn.exec_driver_sql(f"CREATE INDEX ix_check_results_ts ON {TABLE} (ts)")
    conn.exec_driver_sql(f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT")
    now = time.time()
    oldest = conn.exec_driver_sql(f"SELECT min(ts) FROM {old}").scalar()
    today = int(now // DAY) * DAY
    first = today - BEHIND_DAYS * DAY
    if oldest is not None:
        first = max(min(first, int(oldest // DAY) * DAY), today - MAX_CONVERTED_DAYS * DAY)
    for day in range(first, today + (AHEAD_DAYS + 1) * DAY, DAY):
        _create_day(conn, day)
    conn.exec_driver_sql(f"INSERT INTO {TABLE} SELECT * FROM {old}")
    conn.exec_driver_sql(f"DROP TABLE {old}")
    if seq:
        conn.exec_driver_sql(f"ALTER SEQUENCE {seq} OWNED BY {TABLE}.id")


def drop(conn: Connection, partition: Partition) -> int:
    """Drop one day partition; return how many rows it held."""
    rows = int(conn.exec_driver_sql(f"SELECT count(*) FROM {partition.name}").scalar() or 0)
    conn.exec_driver_sql(f"DROP TABLE {partition.name}")
    return rows
