"""The store on SQLite and on the real PostgreSQL: migrations, key/value state, retention."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from prodshield.config.capabilities import RetentionConfig
from prodshield.errors import StoreError
from prodshield.percentiles import percentile
from prodshield.store import Store, open_store, prune, rollup
from prodshield.store import tables as t
from prodshield.store.migrations import MIGRATIONS, unreverse_incidents

HOUR = 3600


def test_fresh_store_is_fully_migrated(store: Store) -> None:
    versions = {v.component: v for v in store.status()}
    assert set(versions) == set(MIGRATIONS)
    assert all(v.up_to_date for v in versions.values())
    assert store.upgrade() == []  # idempotent


def test_upgrade_reports_steps_once(store_url: str) -> None:
    s = Store(store_url)
    try:
        assert all(v.current == 0 for v in s.status())
        applied = s.upgrade()
        assert len(applied) == sum(len(steps) for steps in MIGRATIONS.values())
        assert s.upgrade() == []
    finally:
        s.close()


def test_concurrent_upgrades_do_not_conflict(store_url: str) -> None:
    errors: list[BaseException] = []

    def go() -> None:
        try:
            s = open_store(store_url)
            s.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    s = Store(store_url)
    assert all(v.up_to_date for v in s.status())
    s.close()


def test_kv_roundtrip(store: Store) -> None:
    assert store.kv_get("ns", "k", "dflt") == "dflt"
    store.kv_set("ns", "k", {"a": [1, 2]})
    store.kv_set("ns", "k", {"a": [3]})
    assert store.kv_get("ns", "k") == {"a": [3]}


def _insert(store: Store, rows: Sequence[Mapping[str, object]]) -> None:
    with store.begin() as conn:
        conn.execute(t.check_results.insert(), rows)


def test_prune_keeps_hourly_aggregates(store: Store) -> None:
    now = 100 * 86400.0
    old_hour = now - 40 * 86400  # older than the 30-day default
    rows = [
        {
            "check_name": "api",
            "environment": "production",
            "ts": old_hour + i,
            "ok": i % 10 != 0,
            "response_time_ms": float(i + 1),
            "error_kind": None if i % 10 else "timeout",
        }
        for i in range(100)
    ]
    rows += [
        {
            "check_name": "api",
            "environment": "production",
            "ts": now - 60,
            "ok": True,
            "response_time_ms": 5.0,
            "error_kind": None,
        }
    ]
    _insert(store, rows)
    report = prune(store, RetentionConfig(), now=now)
    assert report.results_deleted == 100
    assert report.hours_rolled_up == 1
    with store.connect() as conn:
        remaining = conn.execute(select(func.count()).select_from(t.check_results)).scalar_one()
        agg = conn.execute(select(t.check_hourly)).one()
    assert remaining == 1
    assert agg._mapping["count"] == 100 and agg.failures == 10
    assert agg.p50_ms == 50.0 and agg.p95_ms == 95.0 and agg.p99_ms == 99.0
    assert agg.error_kinds == {"timeout": 10}
    assert agg.hour == int(old_hour // HOUR) * HOUR


def test_rollup_is_recomputed_not_added(store: Store) -> None:
    _insert(
        store,
        [
            {
                "check_name": "c",
                "environment": "",
                "ts": 7200.0 + i,
                "ok": True,
                "response_time_ms": 1.0,
            }
            for i in range(3)
        ],
    )
    rollup(store, 7200, 7300)
    rollup(store, 7200, 7300)
    with store.connect() as conn:
        assert conn.execute(select(t.check_hourly.c.count)).scalar_one() == 3


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([1.0], 99) == 1.0
    assert percentile([float(i) for i in range(1, 11)], 90) == 9.0


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(StoreError) as info:
        open_store("postgresql://nobody:pw@127.0.0.1:1/none")
    assert "pw" not in str(info.value)
    assert "127.0.0.1:1" in str(info.value)


def test_bad_url_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unsupported URL"):
        open_store("mysql://x")
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path}/no/such/dir/x.db")


def test_cli_db_upgrade_and_status_on_both_backends(store_url: str, tmp_path: Path) -> None:
    cfg = tmp_path / "shield.yaml"
    cfg.write_text(f"storage: '{store_url}'\n")

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "prodshield", *a, "-c", str(cfg)],
            capture_output=True,
            text=True,
            timeout=60,
        )

    proc = run("db", "status")
    assert proc.returncode == 0 and "pending" in proc.stdout
    proc = run("db", "upgrade")
    assert proc.returncode == 0, proc.stderr
    assert "applied monitor 1" in proc.stdout
    # newcomer review 3 (item 16): a new store's upgrade printed the data-repair note "Incidents
    # an older version resolved before they opened ..." for data that never existed
    assert "resolved before they opened" in proc.stdout
    assert "Incidents an older version" not in proc.stdout, proc.stdout
    repairs = [x for x in proc.stdout.splitlines() if "repair" in x]
    assert len(repairs) == 2 and all("nothing to repair in a new store" in x for x in repairs)
    proc = run("db", "status")
    assert "schema up to date" in proc.stdout
    proc = run("db", "prune")
    assert proc.returncode == 0 and "pruned 0 results" in proc.stdout


def test_a_long_read_does_not_hold_up_writers_on_sqlite(tmp_path: Path) -> None:
    """A read (the rollup scanning an hour, the dashboard loading aggregates) reads a snapshot;
    writers go ahead meanwhile. (Reads once began with BEGIN IMMEDIATE: a long one held the write
    lock and a soak saw 'database is locked' after the 30 s busy timeout.)"""
    import time

    from prodshield.store import tables as t

    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store.begin() as conn:
            conn.execute(t.kv.insert().values(namespace="x", key="k", value=1, updated_at=0.0))
        with store.connect() as reader:
            assert reader.execute(select(func.count()).select_from(t.kv)).scalar_one() == 1
            done: list[float] = []

            def write() -> None:
                began = time.monotonic()
                with store.begin() as conn:
                    conn.execute(
                        t.kv.insert().values(namespace="x", key="k2", value=2, updated_at=0.0)
                    )
                done.append(time.monotonic() - began)

            writer = threading.Thread(target=write)
            writer.start()
            writer.join(10)
            assert done and done[0] < 2.0, done  # not after the busy timeout
            # the reader still sees its snapshot
            assert reader.execute(select(func.count()).select_from(t.kv)).scalar_one() == 1
        with store.connect() as fresh:
            assert fresh.execute(select(func.count()).select_from(t.kv)).scalar_one() == 2
    finally:
        store.close()


def test_prune_in_small_batches_reaches_every_table_and_keeps_what_is_young(store: Store) -> None:
    now = 1000 * 86400.0
    old = now - 370 * 86400  # older than every default but the hourly aggregates' 400 days
    _insert(
        store,
        [
            {"check_name": "api", "environment": "", "ts": old + i * 60.0, "ok": True}
            for i in range(130)  # 130 minutes: three hours, in batches of 10
        ]
        + [{"check_name": "api", "environment": "", "ts": now - 10, "ok": True}],
    )
    with store.begin() as conn:
        conn.execute(
            t.log_findings.insert(),
            [
                {
                    "fingerprint": "old",
                    "category": "c",
                    "kind": "k",
                    "severity": "low",
                    "created_at": old,
                    "last_seen": old,
                },
                # created long ago but still going on: kept
                {
                    "fingerprint": "going",
                    "category": "c",
                    "kind": "k",
                    "severity": "low",
                    "created_at": old,
                    "last_seen": now - 60,
                },
            ],
        )
        conn.execute(
            t.outbox.insert(),
            [
                {
                    "idempotency_key": f"k{i}",
                    "notifier": "gh",
                    "event_type": "test",
                    "payload": {},
                    "status": status,
                    "next_attempt_at": old,
                    "created_at": old,
                }
                for i, status in enumerate(["sent", "dead", "pending"] * 5)
            ],
        )
        conn.execute(
            t.experiment_journals.insert(),
            [
                {
                    "title": "x",
                    "status": "completed",
                    "deviated": False,
                    "started_at": old,
                    "journal": {},
                }
            ],
        )
        run_id = conn.execute(
            t.audit_runs.insert().values(started_at=old).returning(t.audit_runs.c.id)
        ).scalar_one()
        conn.execute(
            t.audit_findings.insert(),
            [
                {
                    "run_id": run_id,
                    "family": "f",
                    "rule": "r",
                    "severity": "low",
                    "title": "t",
                    "fingerprint": f"fp{i}",
                }
                for i in range(25)
            ],
        )
        conn.execute(
            t.log_template_counts.insert(),
            [{"template_id": "t1", "hour": int(old // HOUR) * HOUR, "count": 3}],
        )
        conn.execute(  # ever-new templates of a hostile log: the ones not seen for long go
            t.log_templates.insert(),
            [
                {"id": f"gone{i}", "template": "x <*>", "count": 1, "last_seen": old}
                for i in range(15)
            ]
            + [{"id": "seen", "template": "y <*>", "count": 1, "last_seen": now}],
        )
    pauses: list[int] = []
    report = prune(
        store,
        RetentionConfig.model_validate({"batch": 10}),
        now=now,
        pause=lambda: pauses.append(1),
    )
    assert report.results_deleted == 130 and report.hours_rolled_up == 3
    assert report.findings_deleted == 1 and report.outbox_deleted == 10
    assert report.journals_deleted == 1 and report.audit_runs_deleted == 1
    assert report.counts_deleted == 1 and report.templates_deleted == 15
    assert len(pauses) >= 13  # never one long transaction
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.check_results)).scalar_one() == 1
        assert conn.execute(select(func.sum(t.check_hourly.c.count))).scalar_one() == 130
        assert [r.fingerprint for r in conn.execute(select(t.log_findings))] == ["going"]
        assert conn.execute(select(func.count()).select_from(t.outbox)).scalar_one() == 5
        assert conn.execute(select(func.count()).select_from(t.audit_findings)).scalar_one() == 0
        assert [r.id for r in conn.execute(select(t.log_templates))] == ["seen"]


def test_retention_service_gives_sqlite_space_back_and_warns_near_its_budget(
    tmp_path: Path,
) -> None:
    from prodshield.store.retention import RetentionService

    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        now = time.time()
        _insert(
            store,
            [
                {
                    "check_name": "api",
                    "environment": "",
                    "ts": now - 40 * 86400 + i,
                    "ok": False,
                    "error_message": "x" * 500,
                }
                for i in range(4000)
            ],
        )
        warnings: list[str] = []
        service = RetentionService(
            store,
            RetentionConfig.model_validate({"max_store_size": "64KB"}),
            on_warning=warnings.append,
            pause_s=0,
        )
        before = sum(p.stat().st_size for p in tmp_path.glob("store.db*"))
        service.once(now)
        raw = sqlite3.connect(tmp_path / "store.db")  # fold the WAL into the file
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw.close()
        after = (tmp_path / "store.db").stat().st_size
        assert service.last is not None and service.last.results_deleted == 4000
        assert after < before / 4  # the freed pages went back to the file system
        assert service.size is not None and service.size.rows["check_results"] == 0
        # a tiny budget: warned once, and /readyz would say so
        assert len(warnings) == 1 and "max_store_size" in warnings[0]
        assert "store" in service.problems()
        service.once(now)
        assert len(warnings) == 1  # the same warning is not sent again
    finally:
        store.close()


def test_upgrade_unreverses_incidents_the_flapping_bug_left(store: Store) -> None:
    """Stores written by the version with the flapping bug hold incidents resolved before they
    opened; the monitor migration makes them end when they opened (no negative duration)."""
    i = t.incidents
    with store.begin() as conn:
        conn.execute(
            i.insert(),
            [
                {"check_name": "orders", "environment": "production", "kind": "flapping",
                 "status": "resolved", "opened_at": 1000.0, "resolved_at": 920.0},
                {"check_name": "orders", "environment": "production", "kind": "down",
                 "status": "resolved", "opened_at": 2000.0, "resolved_at": 2040.0},
            ],
        )  # fmt: skip
        conn.execute(
            t.schema_versions.update()
            .where(t.schema_versions.c.component == "monitor")
            .values(version=MIGRATIONS["monitor"].index(unreverse_incidents))
        )
    applied = store.upgrade()  # that step and the monitor steps after it
    steps = MIGRATIONS["monitor"][MIGRATIONS["monitor"].index(unreverse_incidents) :]
    assert len(applied) == len(steps) and all("monitor" in str(a) for a in applied), applied
    assert applied[0].endswith(  # an older store is told what was repaired
        ": Incidents an older version resolved before they opened (the flapping bug, issue 17):"
        " resolved when they opened, so no duration is negative."
    ), applied
    with store.connect() as conn:
        rows = conn.execute(select(i.c.opened_at, i.c.resolved_at).order_by(i.c.id)).all()
    assert [tuple(r) for r in rows] == [(1000.0, 1000.0), (2000.0, 2040.0)]


def test_upgrade_indexes_log_findings_by_updated_at(store: Store) -> None:
    """A store made before the index gets it from the logs migration (SQLite and PostgreSQL),
    and the finding reads by ``updated_at`` (evidence, the follower, `db merge`) use it."""
    from sqlalchemy import inspect

    def indexes() -> set[str | None]:
        with store.connect() as conn:
            return {ix["name"] for ix in inspect(conn).get_indexes("log_findings")}

    assert "ix_log_findings_updated" in indexes()
    step = next(  # the index's step in the logs chain
        i
        for i, s in enumerate(MIGRATIONS["logs"])
        if s.__doc__ == "add index ix_log_findings_updated on log_findings"
    )
    with store.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_log_findings_updated")
        conn.execute(
            t.schema_versions.update()
            .where(t.schema_versions.c.component == "logs")
            .values(version=step)
        )
    assert "ix_log_findings_updated" not in indexes()
    applied = store.upgrade()
    assert applied[0] == f"logs {step + 1}: add index ix_log_findings_updated on log_findings"
    assert "ix_log_findings_updated" in indexes()
    query = "SELECT id FROM log_findings WHERE updated_at >= 1000"
    with store.connect() as conn:
        if store.backend == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + query))
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + query))
    assert "ix_log_findings_updated" in plan, plan


def test_the_findings_page_and_metrics_counts_read_an_index_not_the_whole_table(
    store: Store,
) -> None:
    """The API's and dashboard's findings, last seen first, and /metrics' counts per kind: with
    100,000 findings the page sorted the whole table (0.9 s a request) and every scrape summed it
    (0.4 s). Both now read an index (SQLite's plan; PostgreSQL with sequential scans off)."""
    from prodshield.logs import read as logs_read

    f = t.log_findings
    page = select(f.c.id).order_by(f.c.last_seen.desc(), f.c.id.desc()).limit(100)
    counts = select(f.c.kind, f.c.severity, func.sum(f.c["count"])).group_by(f.c.kind, f.c.severity)
    for query, index in ((page, "ix_log_findings_last_seen"), (counts, "ix_log_findings_kind")):
        sql = str(query.compile(store.engine, compile_kwargs={"literal_binds": True}))
        with store.connect() as conn:
            if store.backend == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
                plan = " ".join(str(r[-1]) for r in rows)
                assert "TEMP B-TREE" not in plan, plan
            else:
                conn.exec_driver_sql("SET enable_seqscan = off")
                plan = " ".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + sql))
        assert index in plan, plan
    assert logs_read.findings(store) == [] and logs_read.finding_counts(store) == {}


def test_prune_removes_silences_ended_longer_ago_than_the_history_kept(store: Store) -> None:
    """Ended silences go after ``retention.journals`` (by when they ended: by hand, or at their
    expiry); an active one and one ended recently stay, whatever their age."""
    now = 1000 * 86400.0
    old = now - 370 * 86400.0

    def silence(created: float, expires: float, ended: float | None = None) -> dict[str, Any]:
        return {
            "check_name": "api", "environment": "", "reason": "work", "created_by": "alice",
            "created_at": created, "expires_at": expires, "ended_at": ended, "ended_by": None,
        }  # fmt: skip

    with store.begin() as conn:
        conn.execute(
            t.silences.insert(),
            [
                silence(old, old + 3600) | {"reason": "expired long ago"},
                silence(old, old + 86400 * 80, ended=old + 60) | {"reason": "ended long ago"},
                silence(old, now + 3600) | {"reason": "still active"},
                silence(old, old + 3600, ended=None) | {"reason": "expired long ago too"},
                silence(now - 86400, now - 3600) | {"reason": "ended yesterday"},
            ]
            + [silence(old, old + i) | {"reason": f"batch {i}"} for i in range(1, 21)],
        )
    report = prune(store, RetentionConfig.model_validate({"batch": 10}), now=now)
    assert report.silences_deleted == 23
    with store.connect() as conn:
        kept = sorted(r.reason for r in conn.execute(select(t.silences)))
    assert kept == ["ended yesterday", "still active"]


def _legacy_heartbeats(store: Store, values: str) -> None:
    """The heartbeats table as older stores had it (one ``check@environment`` key), holding
    ``values`` (check_name, token, last_ping, pings, created_at), the monitor chain set back to
    just before ``rekey_heartbeats``."""
    from prodshield.store.migrations import rekey_heartbeats

    with store.begin() as conn:
        conn.exec_driver_sql("DROP TABLE heartbeats")
        conn.exec_driver_sql(
            "CREATE TABLE heartbeats (check_name VARCHAR(255) PRIMARY KEY, "
            "token VARCHAR(64) NOT NULL UNIQUE, last_ping FLOAT, pings INTEGER NOT NULL, "
            "created_at FLOAT, started_at FLOAT, failed_at FLOAT, exit_code INTEGER, "
            "duration_s FLOAT, output TEXT)"
        )
        conn.exec_driver_sql(
            "INSERT INTO heartbeats (check_name, token, last_ping, pings, created_at) VALUES "
            + values
        )
        conn.execute(
            t.schema_versions.update()
            .where(t.schema_versions.c.component == "monitor")
            .values(version=MIGRATIONS["monitor"].index(rekey_heartbeats))
        )


def test_upgrade_keys_heartbeats_by_check_and_environment_keeping_their_urls(
    store: Store,
) -> None:
    """Older stores kept one ``check_name`` per heartbeat holding ``check@environment``; the
    monitor migration splits it into (check, environment) and keeps every token (ping URL)."""
    from prodshield.monitor.heartbeats import ensure_heartbeat, find_by_token
    from prodshield.store.migrations import rekey_heartbeats

    _legacy_heartbeats(
        store,
        "('nightly-backup@production', 'tok-production-0000000', NULL, 0, 1.0), "
        "('nightly-backup@staging', 'tok-staging-00000000000', 50.0, 3, 2.0), "
        "('report', 'tok-report-000000000000', 60.0, 1, 3.0)",
    )
    applied = store.upgrade()
    step = MIGRATIONS["monitor"].index(rekey_heartbeats) + 1
    assert applied[0] == (
        f"monitor {step}: key heartbeats by (check, environment), keeping their ping URLs"
    ), applied
    with store.connect() as conn:
        rows = conn.execute(
            select(
                t.heartbeats.c.check_name, t.heartbeats.c.environment, t.heartbeats.c.pings
            ).order_by(t.heartbeats.c.check_name, t.heartbeats.c.environment)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("nightly-backup", "production", 0),
        ("nightly-backup", "staging", 3),
        ("report", "", 1),
    ]
    assert ensure_heartbeat(store, "nightly-backup", "staging").token == "tok-staging-00000000000"
    assert ensure_heartbeat(store, "report").token == "tok-report-000000000000"
    beat = find_by_token(store, "tok-production-0000000")
    assert beat is not None and (beat.check, beat.environment) == ("nightly-backup", "production")
    assert store.upgrade() == []


def test_upgrade_keeps_a_heartbeat_whose_check_name_holds_an_at_sign_whole(store: Store) -> None:
    """Check ``backup@nightly`` has no environments: its old key ``backup@nightly`` is its whole
    name, not check ``backup`` in ``nightly``, and it keeps its URL. The store tells them apart
    by what the monitor recorded (check_state, incidents: check and environment apart); a key the
    store knows both ways, or neither, is split as before."""
    from prodshield.monitor.heartbeats import ensure_heartbeat, find_by_token

    state = {"status": "up", "consecutive_failures": 0, "consecutive_successes": 1}
    with store.begin() as conn:
        conn.execute(
            t.check_state.insert(),
            [
                {"check_name": "backup@nightly", "environment": ""} | state | {"updated_at": 1.0},
                {"check_name": "sync", "environment": "eu"} | state | {"updated_at": 1.0},
                {"check_name": "both@x", "environment": ""} | state | {"updated_at": 1.0},
                {"check_name": "both", "environment": "x"} | state | {"updated_at": 1.0},
            ],
        )
        conn.execute(
            t.incidents.insert().values(check_name="dump@weekly", environment="", opened_at=5.0)
        )
    _legacy_heartbeats(
        store,
        "('backup@nightly', 'tok-backup-nightly-0000', 70.0, 9, 1.0), "
        "('dump@weekly', 'tok-dump-weekly-0000000', NULL, 0, 1.0), "
        "('sync@eu', 'tok-sync-eu-00000000000', NULL, 0, 1.0), "
        "('both@x', 'tok-both-x-000000000000', NULL, 0, 1.0), "
        "('job@prod', 'tok-job-prod-0000000000', NULL, 0, 1.0)",
    )
    assert store.upgrade()[0].endswith(
        "key heartbeats by (check, environment), keeping their ping URLs"
    )
    with store.connect() as conn:
        rows = conn.execute(
            select(t.heartbeats.c.check_name, t.heartbeats.c.environment, t.heartbeats.c.token)
        ).all()
    assert sorted(tuple(r) for r in rows) == [
        ("backup@nightly", "", "tok-backup-nightly-0000"),
        ("both", "x", "tok-both-x-000000000000"),
        ("dump@weekly", "", "tok-dump-weekly-0000000"),
        ("job", "prod", "tok-job-prod-0000000000"),
        ("sync", "eu", "tok-sync-eu-00000000000"),
    ]
    beat = ensure_heartbeat(store, "backup@nightly")
    assert (beat.token, beat.pings) == ("tok-backup-nightly-0000", 9)
    found = find_by_token(store, "tok-backup-nightly-0000")
    assert found is not None and (found.check, found.environment) == ("backup@nightly", "")
