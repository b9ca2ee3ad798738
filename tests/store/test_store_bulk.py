"""``execute_many``: many rows through the driver store what ``conn.execute`` stores (JSON
columns serialised the same way, a None as JSON null) and count the rows an update changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.store.bulk import execute_many


def _row(i: int, prefix: str) -> dict[str, Any]:
    return {
        "fingerprint": f"{prefix}{i:04d}",
        "category": "security",
        "kind": "auth_failure",
        "severity": "medium",
        "count": i + 1,
        "first_seen": 1000.5 + i,
        "last_seen": 1001.25 + i,
        "source": {"file": "/var/log/auth.log", "ip": f"203.0.113.{i}"},
        "samples": [f"Failed password for root from 203.0.113.{i} \u00e9\"'\\"] if i % 3 else [],
        "details": None if i % 4 == 0 else {"users": {"root": i}, "nested": [1, 2.5, None]},
        "created_at": 999.0,
        "message": f"{i + 1} failed logins",
        "updated_at": 1002.0,
    }


def test_execute_many_stores_what_execute_stores(store: Store) -> None:
    f_t = t.log_findings
    with store.begin() as conn:
        conn.execute(f_t.insert(), [_row(i, "a") for i in range(20)])
        execute_many(conn, f_t.insert(), [_row(i, "b") for i in range(20)])
    with store.connect() as conn:
        stored = {r.fingerprint: r._mapping for r in conn.execute(select(f_t))}
        raw = {
            r[0]: (r[1], r[2])
            for r in conn.exec_driver_sql(
                "SELECT fingerprint, CAST(details AS TEXT), CAST(samples AS TEXT) FROM log_findings"
            )
        }
    assert len(stored) == 40
    for i in range(20):
        a, b = stored[f"a{i:04d}"], stored[f"b{i:04d}"]
        assert {k: v for k, v in a.items() if k not in ("id", "fingerprint")} == {
            k: v for k, v in b.items() if k not in ("id", "fingerprint")
        }
        assert raw[f"a{i:04d}"] == raw[f"b{i:04d}"]
    assert raw["a0000"][0] == "null"  # a None in a JSON column is JSON null, as execute stores it


def test_execute_many_counts_the_rows_an_update_changed(store: Store) -> None:
    f_t = t.log_findings
    update = (
        f_t.update()
        .where(f_t.c.fingerprint == bindparam("b_fp"))
        .values(count=f_t.c["count"] + bindparam("v_n"), details=bindparam("v_details"))
    )
    with store.begin() as conn:
        execute_many(conn, f_t.insert(), [_row(i, "c") for i in range(5)])
        changed = execute_many(
            conn,
            update,
            [{"b_fp": f"c{i:04d}", "v_n": 10, "v_details": {"i": i}} for i in range(3)]
            + [{"b_fp": "missing", "v_n": 10, "v_details": None}],
        )
        assert execute_many(conn, update, []) == 0
    assert changed == 3
    with store.connect() as conn:
        rows = {
            r.fingerprint: (int(r._mapping["count"]), r.details) for r in conn.execute(select(f_t))
        }
    assert rows["c0001"] == (12, {"i": 1})
    assert rows["c0003"] == (4, {"users": {"root": 3}, "nested": [1, 2.5, None]})
    assert rows["c0004"] == (5, None)
