"""The batteries against real processes: the fault proxy, PostgreSQL, and the example service (good
and broken variants). Runs are short; the benchmark measures the full-length figures."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prodshield.chaos.batteries.breaker import BreakerOptions, run_breaker_battery
from prodshield.chaos.batteries.db import DbOptions, check_read, fault_schedule, run_db_battery
from prodshield.chaos.batteries.report import BatteryCheck, BatteryReport
from prodshield.chaos.proxy.client import ProxyClient
from support.chaos_batteries import bank_example, proxy_server

BREAKER_FLAGS = {"threshold": "3", "recovery_s": "1", "slow_ms": "200"}


def by_name(report: BatteryReport) -> dict[str, BatteryCheck]:
    return {c.name: c for c in report.checks}


def test_fault_schedule_is_reproducible_from_the_seed() -> None:
    a = fault_schedule(7, 10, 0.5, 0.5)
    assert a == fault_schedule(7, 10, 0.5, 0.5)
    assert a != fault_schedule(8, 10, 0.5, 0.5)
    assert {p.fault for p in a} == {"reset_peer", "timeout", "limit_data", "down", "latency"}
    assert all(p.at + 0.5 <= 10 for p in a)


@pytest.mark.parametrize(
    ("rows", "problems"),
    [
        ({1: 50, 2: 50}, []),
        ({1: 40, 2: 50}, ["wrong-total"]),
        ({1: 110, 2: -10}, ["negative-value"]),
        ({1: 50, 2: 40, 3: 10}, ["unexpected-key"]),
        ({1: None, 2: 100}, ["nil-balance"]),
    ],
)
def test_bank_read_checks(rows: dict[int, int | None], problems: list[str]) -> None:
    assert check_read(rows, {1, 2}, 100) == problems


@pytest.fixture(scope="module")
def proxy_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with proxy_server(tmp_path_factory.mktemp("proxy")) as url:
        yield url


@pytest.mark.postgres
def test_db_battery_with_its_own_client(pg_url: str, proxy_api: str) -> None:
    report = run_db_battery(DbOptions(dsn=pg_url, api=proxy_api, seconds=3.0, seed=5))
    checks = by_name(report)
    bank = checks["bank invariant"]
    assert bank.passed, bank.summary
    measured = bank.measured
    assert measured["reads"] > 0 and measured["transfers"] > 0
    assert measured["final_total"] == measured["expected_total"]
    assert [f["fault"] for f in measured["faults"]] == [
        p.fault for p in fault_schedule(5, 3.0, 0.5, 0.5)
    ]
    assert checks["bank throughput under faults"].measured["transfers_per_s_per_worker"] > 0
    for name in (
        "drop between statements",
        "drop during COMMIT",
        "pool exhaustion fails fast",
        "pool recovers",
        "no leaked connections",
    ):
        assert checks[name].passed, checks[name].summary
    assert checks["drop between statements"].measured["rolled_back"] is True


@pytest.mark.postgres
def test_db_battery_passes_on_the_good_example(pg_url: str, proxy_api: str, tmp_path: Path) -> None:
    with bank_example(tmp_path, proxy_api, pg_url, broken=False) as url:
        report = run_db_battery(
            DbOptions(
                dsn=pg_url,
                api=proxy_api,
                proxy="pg",
                service=url,
                seconds=3.0,
                seed=3,
                checks=("bank", "pool"),
            )
        )
    assert report.passed, [c.summary for c in report.checks if not c.passed]
    _sessions_line_says_what_it_counted(by_name(report)["no leaked connections"], pool_size=4)


def _sessions_line_says_what_it_counted(leak: BatteryCheck, pool_size: int) -> None:
    """The line once read `pg_stat_activity: 1 session, baseline 4` where 4 was the service's pool
    size (the most allowed), not the sessions before the test (1): now both are named."""
    before, allowed = leak.measured["baseline"], leak.measured["allowed"]
    assert allowed == max(pool_size, before), leak.measured
    shown = f"{leak.measured['sessions']} session{'s' if leak.measured['sessions'] != 1 else ''}"
    expected = f"pg_stat_activity: {shown} after, {before} before"
    if allowed != before:
        expected += f", at most {allowed} (a pool of {pool_size})"
    assert leak.summary == expected, leak.summary


@pytest.mark.postgres
def test_db_battery_fails_on_the_broken_example(
    pg_url: str, proxy_api: str, tmp_path: Path
) -> None:
    with bank_example(tmp_path, proxy_api, pg_url, broken=True) as url:
        report = run_db_battery(
            DbOptions(
                dsn=pg_url,
                api=proxy_api,
                proxy="pg",
                service=url,
                seconds=3.0,
                seed=3,
                checks=("bank", "pool"),
            )
        )
    assert not report.passed
    checks = by_name(report)
    pool = checks["pool exhaustion fails fast"]
    assert not pool.passed and "NOT refused" in pool.summary
    _sessions_line_says_what_it_counted(checks["no leaked connections"], pool_size=4)
    bank = checks["bank invariant"]
    if not bank.passed:  # a drop between its two statements loses money
        assert "wrong-total" in bank.measured["errors_by_type"]


@pytest.mark.postgres
def test_breaker_battery_passes_on_the_good_example(
    pg_url: str, proxy_api: str, tmp_path: Path
) -> None:
    with bank_example(tmp_path, proxy_api, pg_url, broken=False, **BREAKER_FLAGS) as url:
        report = run_breaker_battery(
            BreakerOptions(
                service=f"{url}/quote",
                dependency="dep",
                api=proxy_api,
                threshold=3,
                open_latency_ms=200,
                recovery_s=1,
                call_timeout=1.0,
            )
        )
    assert report.passed, [c.summary for c in report.checks if not c.passed]
    checks = by_name(report)
    assert checks["timeout: fails fast"].measured["fast_from_call"] <= 4
    assert checks["latency: no traffic while open"].measured["connections"] == 0
    # under down the proxy counts nothing: measured by calls made just after the dependency is back
    assert checks["down: no traffic while open"].measured["connections"] == 0


@pytest.mark.postgres
def test_breaker_battery_fails_on_the_broken_example(
    pg_url: str, proxy_api: str, tmp_path: Path
) -> None:
    with bank_example(tmp_path, proxy_api, pg_url, broken=True, **BREAKER_FLAGS) as url:
        report = run_breaker_battery(
            BreakerOptions(
                service=f"{url}/quote",
                dependency="dep",
                api=proxy_api,
                threshold=3,
                open_latency_ms=200,
                recovery_s=1,
                call_timeout=1.0,
                faults=("timeout",),
            )
        )
    assert not report.passed
    checks = by_name(report)
    assert not checks["timeout: fails fast"].passed
    assert "still wait" in checks["timeout: fails fast"].summary
    assert not checks["timeout: health stays up"].passed  # the hung calls took the pool down


@pytest.mark.postgres
def test_cli_breaker_writes_journal_and_junit(pg_url: str, proxy_api: str, tmp_path: Path) -> None:
    prodshield = Path(sys.executable).parent / "prodshield"
    with bank_example(tmp_path, proxy_api, pg_url, broken=False, **BREAKER_FLAGS) as url:
        proc = subprocess.run(
            [
                str(prodshield),
                "chaos",
                "breaker",
                "--service",
                f"{url}/quote",
                "--dependency",
                "dep",
                "--api",
                proxy_api,
                "--threshold",
                "3",
                "--open-latency-ms",
                "200",
                "--recovery-s",
                "1",
                "--fault",
                "down",
                "--journal-path",
                str(tmp_path / "j.json"),
                "--junit",
                str(tmp_path / "j.xml"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS down: fails fast" in proc.stdout
    assert "breaker battery on" in proc.stdout and "PASSED" in proc.stdout
    journal = json.loads((tmp_path / "j.json").read_text())
    assert journal["status"] == "completed" and journal["deviated"] is False
    assert "<testsuite" in (tmp_path / "j.xml").read_text()
    bad = subprocess.run(
        [
            str(prodshield),
            "chaos",
            "breaker",
            "--service",
            "http://127.0.0.1:9/",
            "--dependency",
            "nope",
            "--api",
            proxy_api,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "nope" in bad.stderr


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("broken", "code", "outcome"), [(False, 0, "completed"), (True, 1, "deviated")]
)
def test_example_experiment_passes_on_good_and_deviates_on_broken(
    pg_url: str, proxy_api: str, tmp_path: Path, broken: bool, code: int, outcome: str
) -> None:
    import os

    from support.chaos_batteries import EXAMPLE

    prodshield = Path(sys.executable).parent / "prodshield"
    with bank_example(tmp_path, proxy_api, pg_url, broken=broken, **BREAKER_FLAGS) as url:
        proc = subprocess.run(
            [
                str(prodshield),
                "chaos",
                "run",
                str(EXAMPLE / "experiments" / "dependency-latency.yaml"),
                "--journal-path",
                str(tmp_path / "journal.json"),
            ],
            env={**os.environ, "BANK_URL": url, "PRODSHIELD_PROXY_API": proxy_api},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        toxics = ProxyClient(proxy_api).toxics("dep")
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert f": {outcome} (" in proc.stdout
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert len(journal["rollbacks"]) == 1 and toxics == []  # the rollback removed the toxic


def test_cli_battery_failure_exits_1(proxy_api: str, tmp_path: Path) -> None:
    ProxyClient(proxy_api).create_proxy("dep-nothing", "127.0.0.1:9", "127.0.0.1:0")
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "prodshield",
                "chaos",
                "breaker",
                "--service",
                "http://127.0.0.1:9/quote",
                "--dependency",
                "dep-nothing",
                "--api",
                proxy_api,
                "--recovery-s",
                "0.1",
                "--fault",
                "down",
                "--journal-path",
                str(tmp_path / "j.json"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        ProxyClient(proxy_api).delete_proxy("dep-nothing")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL down: service ready: no successful call before the fault" in proc.stdout
    assert json.loads((tmp_path / "j.json").read_text())["deviated"] is True
