"""``type: sql``: run a query on PostgreSQL (psycopg); the value goes to the tolerance.

``dsn`` (a postgresql:// URL), ``query``, optional ``params`` (list or mapping) and ``timeout``
(seconds, default 10: connect timeout and statement timeout). One row of one column gives that
value; several give a list of rows; a statement without rows gives the affected row count.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import Any

from prodshield.chaos.experiments.errors import ActivityFailed
from prodshield.chaos.experiments.providers.base import ActivityContext


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def with_statement_timeout(dsn: str, seconds: float) -> str:
    """The DSN's own ``options`` plus a statement timeout (a keyword would replace them)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        existing = str(conninfo_to_dict(dsn).get("options") or "")
    except Exception:
        existing = ""
    return f"{existing} -c statement_timeout={int(seconds * 1000)}".strip()


class SqlProvider:
    type = "sql"
    example: Mapping[str, Any] = {
        "type": "sql",
        "dsn": "postgresql://postgres@127.0.0.1:5432/test",
        "query": "SELECT count(*) FROM pg_stat_activity",
    }

    def validate(self, provider: Mapping[str, Any]) -> list[str]:
        problems = []
        if not isinstance(provider.get("dsn"), str) or not provider.get("dsn"):
            problems.append("a sql provider needs a 'dsn' (postgresql://...)")
        if not isinstance(provider.get("query"), str) or not provider.get("query"):
            problems.append("a sql provider needs a 'query'")
        params = provider.get("params")
        if params is not None and not isinstance(params, list | Mapping):
            problems.append("sql 'params' must be a list or a mapping")
        return problems

    def run(self, provider: Mapping[str, Any], context: ActivityContext) -> Any:
        import psycopg

        timeout = float(provider.get("timeout") or context.timeout or 10.0)
        params = provider.get("params")
        try:
            with psycopg.connect(
                str(provider["dsn"]),
                connect_timeout=max(1, int(timeout)),
                options=with_statement_timeout(str(provider["dsn"]), timeout),
                autocommit=True,
            ) as conn:
                cur = conn.execute(str(provider["query"]), params)
                if cur.description is None:
                    return cur.rowcount
                rows = cur.fetchall()
        except psycopg.Error as exc:
            message = str(exc).strip().splitlines()
            raise ActivityFailed(f"sql: {message[0] if message else type(exc).__name__}") from None
        if len(rows) == 1 and len(rows[0]) == 1:
            return _plain(rows[0][0])
        return [[_plain(v) for v in row] for row in rows]


PROVIDER = SqlProvider()
