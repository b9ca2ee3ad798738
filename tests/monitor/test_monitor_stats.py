"""Targets from config (environments, {var}, overrides) and statistics from raw rows and hourly
aggregates."""

from __future__ import annotations

import time

import pytest

from prodshield.config.capabilities import RetentionConfig
from prodshield.config.schema import ShieldConfig
from prodshield.errors import NotFound
from prodshield.monitor.api import record, select_targets
from prodshield.monitor.expand import expand_checks
from prodshield.monitor.result import CheckError, CheckResult
from prodshield.monitor.stats import check_stats
from prodshield.store import Store, prune

CONFIG = {
    "defaults": {"interval": "60s", "timeout": "10s"},
    "environments": {
        "production": {"vars": {"base_url": "https://api.example.com", "token": "p"}},
        "staging": {
            "vars": {"base_url": "https://staging.example.com", "token": "s"},
            "interval": "2m",
            "timeout": "3s",
        },
    },
    "checks": [
        {
            "name": "api",
            "type": "http",
            "url": "{base_url}/health",
            "headers": {"Authorization": "Bearer {token}"},
            "body": '{"literal": "{braces}"}',
            "environments": ["production", "staging"],
            "interval": "30s",
            "conditions": ["[STATUS] == 200"],
        },
        {"name": "db", "type": "tcp", "host": "127.0.0.1", "port": 5432},
        {"name": "off", "type": "tcp", "host": "127.0.0.1", "port": 1, "enabled": False},
    ],
}


def test_expand_checks() -> None:
    targets = {t.label: t for t in expand_checks(ShieldConfig.model_validate(CONFIG))}
    assert sorted(targets) == ["api@production", "api@staging", "db"]
    prod, staging, db = targets["api@production"], targets["api@staging"], targets["db"]
    assert prod.check.url == "https://api.example.com/health"
    assert staging.check.url == "https://staging.example.com/health"
    assert staging.check.headers == {"Authorization": "Bearer s"}
    assert prod.check.body == '{"literal": "{braces}"}'  # unknown names inside JSON stay as text
    assert (prod.interval, prod.timeout) == (30.0, 10.0)  # the check's interval, default timeout
    assert (staging.interval, staging.timeout) == (120.0, 3.0)  # the environment overrides
    assert (db.environment, db.interval) == ("", 60.0)
    assert [str(c.text) for c in prod.conditions] == ["[STATUS] == 200"]
    assert [str(c.text) for c in db.conditions] == ["[CONNECTED] == true"]  # the tcp default


def test_select_targets() -> None:
    config = ShieldConfig.model_validate(CONFIG)
    assert [t.label for t in select_targets(config, env="staging")] == ["api@staging"]
    assert [t.label for t in select_targets(config, check="db")] == ["db"]
    with pytest.raises(NotFound, match="no check named 'nope'"):
        select_targets(config, check="nope")
    with pytest.raises(NotFound, match="no environment named 'qa'"):
        select_targets(config, env="qa")
    with pytest.raises(NotFound, match=r"check 'db' runs in none of --env staging \(it has no"):
        select_targets(config, check="db", env="staging")


def _result(ts: float, ok: bool, ms: float, check: str = "api", env: str = "prod") -> CheckResult:
    return CheckResult(
        check=check,
        environment=env,
        ts=ts,
        ok=ok,
        error=None if ok else CheckError("timeout", "slow"),
        response_time_ms=ms,
    )


def test_uptime_and_percentiles_from_raw_rows(store: Store) -> None:
    now = time.time()
    results = [_result(now - 600 - i, i % 10 != 0, float(i + 1)) for i in range(100)]  # last hour
    results += [_result(now - 3 * 86400 - i, False, 500.0) for i in range(100)]  # 3 days ago
    record(store, results)
    stats = check_stats(store, now=now)[("api", "prod")]
    hour, day, week = stats.windows["1h"], stats.windows["24h"], stats.windows["7d"]
    assert (hour.count, hour.failures) == (100, 10)
    assert hour.uptime == pytest.approx(90.0)
    assert (hour.p50_ms, hour.p95_ms, hour.p99_ms) == (50.0, 95.0, 99.0)
    assert day.count == 100
    assert (week.count, week.failures) == (200, 110)
    assert week.uptime == pytest.approx(45.0)
    assert week.error_kinds == {"timeout": 110}
    assert not week.approximate


def test_state_counts_consecutive_results(store: Store) -> None:
    from prodshield.monitor.state import StateBook

    now = time.time()
    record(
        store, [_result(now - 3, True, 1), _result(now - 2, False, 1), _result(now - 1, False, 1)]
    )
    book = StateBook()
    book.load(store)
    st = book.states[("api", "prod")]
    assert (st.status, st.consecutive_failures, st.consecutive_successes) == ("down", 2, 0)
    assert st.last_error_kind == "timeout"


def test_hourly_aggregates_answer_after_pruning(store: Store) -> None:
    now = time.time()
    old = [_result(now - 20 * 86400 - i * 60, i % 4 != 0, 10.0) for i in range(40)]
    recent = [_result(now - 100 - i, True, 20.0) for i in range(10)]
    record(store, old + recent)
    prune(store, RetentionConfig.model_validate({"raw_results": "7d"}), now=now)
    stats = check_stats(store, now=now)[("api", "prod")]
    month = stats.windows["30d"]
    assert (month.count, month.failures) == (50, 10)
    assert month.approximate
    assert month.p50_ms is not None and 10.0 <= month.p50_ms <= 20.0
    assert stats.windows["7d"].count == 10
