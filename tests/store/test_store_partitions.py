"""check_results on PostgreSQL: partitioned by day, converted in place, old days dropped whole."""

from __future__ import annotations

import time

from sqlalchemy import create_engine, func, select

from prodshield.config.capabilities import RetentionConfig
from prodshield.store import open_store, prune
from prodshield.store import partitions as parts
from prodshield.store import tables as t

DAY = 86400


def test_an_existing_table_is_partitioned_in_place_and_retention_drops_whole_days(
    pg_url: str,
) -> None:
    now = time.time()
    # a store of an earlier release: a plain check_results holding ten days of results
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        t.check_results.create(conn)
        conn.execute(
            t.check_results.insert(),
            [
                {
                    "check_name": "api",
                    "environment": "",
                    "ts": now - 10 * DAY + i * 600.0,
                    "ok": i % 5 != 0,
                }
                for i in range(10 * 144)  # one every 10 minutes
            ],
        )
        before_ids = conn.execute(select(func.max(t.check_results.c.id))).scalar_one()
    engine.dispose()

    store = open_store(pg_url)  # the upgrade converts it
    try:
        with store.connect() as conn:
            assert parts.is_partitioned(conn)
            days = parts.partitions(conn)
            assert (
                conn.execute(select(func.count()).select_from(t.check_results)).scalar_one() == 1440
            )
            in_default = conn.exec_driver_sql(f"SELECT count(*) FROM {parts.DEFAULT}").scalar()
        assert in_default == 0  # every converted day got its own partition
        today = int(now // DAY) * DAY
        assert {p.start for p in days} >= {today + k * DAY for k in range(-10, 8)}
        # ids go on from the old sequence
        with store.begin() as conn:
            new_id = conn.execute(
                t.check_results.insert()
                .values(check_name="api", environment="", ts=now, ok=True)
                .returning(t.check_results.c.id)
            ).scalar_one()
        assert new_id > before_ids

        report = prune(store, RetentionConfig.model_validate({"raw_results": "3d"}), now=now)
        # whole days before the cutoff are dropped, the partial day is deleted in batches
        assert report.partitions_dropped >= 7
        with store.connect() as conn:
            left = conn.execute(select(func.min(t.check_results.c.ts))).scalar_one()
            rolled = conn.execute(select(func.sum(t.check_hourly.c.count))).scalar_one()
            remaining = parts.partitions(conn)
        assert left >= now - 3 * DAY - 3600
        assert rolled >= report.results_deleted  # every dropped row was rolled up first
        assert all(p.end > now - 3 * DAY - 3600 for p in remaining)
        assert report.results_deleted == 1441 - 1 - sum(
            1
            for i in range(1440)
            if now - 10 * DAY + i * 600.0 >= int((now - 3 * DAY) // 3600) * 3600
        )
    finally:
        store.close()


def test_partitions_are_created_ahead_on_every_open(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        with store.begin() as conn:
            assert parts.is_partitioned(conn)
            later = time.time() + 20 * DAY  # as if the service ran for weeks
            created = parts.ensure(conn, later)
            assert created == parts.AHEAD_DAYS + parts.BEHIND_DAYS + 1
            conn.execute(
                t.check_results.insert().values(check_name="a", environment="", ts=later, ok=True)
            )
            in_default = conn.exec_driver_sql(f"SELECT count(*) FROM {parts.DEFAULT}").scalar()
        assert in_default == 0
    finally:
        store.close()
