"""Many rows through one INSERT or UPDATE, as the driver runs them (``executemany``).

``conn.execute(stmt, rows)`` builds each row's parameters through SQLAlchemy's compiled statement
(defaults, type processing, then a dict per row): for the log service, which writes thousands of
findings and template counts every few seconds, that bookkeeping cost more than the database's
own work. Here the statement is compiled once per dialect and column set, each row becomes the
driver's tuple or dict with the columns' own bind processors (a JSON column is serialised exactly
as ``conn.execute`` would), and the driver runs them all: the same SQL, the same stored values.

Rows must all have the same keys: the statement's columns (an INSERT without ``values``) or its
bind parameters' names (an UPDATE ``where(c == bindparam("b_id")).values(...)``), every one given.
A statement this cannot run as plain driver SQL (expanding or literal parameters, escaped names)
goes through ``conn.execute``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Executable


class _Plan:
    """A statement compiled for one dialect and one set of keys, as the driver takes it."""

    __slots__ = ("names", "positional", "processed", "sql")

    def __init__(self, sql: str, names: tuple[str, ...], processed: Any, positional: bool):
        self.sql, self.names, self.processed, self.positional = sql, names, processed, positional


_PLANS: dict[tuple[Any, str, tuple[str, ...]], _Plan | None] = {}


def _plan(conn: Connection, stmt: Any, keys: tuple[str, ...]) -> _Plan | None:
    dialect = conn.dialect
    cache_key = (stmt, dialect.name, keys)
    if cache_key in _PLANS:
        return _PLANS[cache_key]
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(keys))
    positional = bool(compiled.positiontup)
    names = tuple(compiled.positiontup) if positional else tuple(compiled.binds)
    plan: _Plan | None = None
    if (
        not getattr(compiled, "escaped_bind_names", None)
        and not getattr(compiled, "literal_execute_params", None)
        and not getattr(compiled, "post_compile_params", None)
        and set(names) <= set(keys)
        and (not positional or len(set(names)) == len(names))
    ):
        processed = []
        for i, name in enumerate(names):
            process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processed.append((i, name, process))
        plan = _Plan(compiled.string, names, tuple(processed), positional)
    if len(_PLANS) > 256:  # statements are module constants: a few; bounded all the same
        _PLANS.clear()
    _PLANS[cache_key] = plan
    return plan


def execute_many(conn: Connection, stmt: Executable, rows: Sequence[Mapping[str, Any]]) -> int:
    """Run ``stmt`` once per row in ``rows`` (one ``executemany``); returns the rows it changed
    as the driver counts them (SQLite and psycopg add up an ``executemany``'s rows)."""
    if not rows:
        return 0
    plan = _plan(conn, stmt, tuple(rows[0]))
    if plan is None:
        return int(conn.execute(stmt, list(rows)).rowcount or 0)
    names, processed = plan.names, plan.processed
    params: list[Any]
    if plan.positional:
        params = []
        for row in rows:
            values = [row[n] for n in names]
            for i, name, process in processed:
                values[i] = process(row[name])
            params.append(tuple(values))
    else:
        params = []
        for row in rows:
            named = {n: row[n] for n in names}
            for _, name, process in processed:
                named[name] = process(row[name])
            params.append(named)
    return int(conn.exec_driver_sql(plan.sql, params).rowcount or 0)
