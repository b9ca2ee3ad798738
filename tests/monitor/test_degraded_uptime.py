"""A degraded result (the target answered, only a quality condition failed: a certificate close to
expiry, a slow answer) is a failure for the charts but not downtime: every uptime figure (raw
results, hourly aggregates, the read cache, monitor status's stats, the report) counts it as up,
and a down result still counts as down."""

from __future__ import annotations

import time

from prodshield.conditions.evaluate import ConditionOutcome
from prodshield.config.capabilities import RetentionConfig
from prodshield.monitor.aggregates import AggregateCache
from prodshield.monitor.api import record
from prodshield.monitor.report import build_report
from prodshield.monitor.result import CheckError, CheckResult
from prodshield.monitor.stats import check_stats
from prodshield.store import Store, prune

CERT = "[CERTIFICATE_EXPIRATION] > 14d"


def _result(check: str, ts: float, *, down: bool) -> CheckResult:
    if down:
        return CheckResult(check, "", ts, False, CheckError("refused", "refused"), None)
    return CheckResult(
        check,
        "",
        ts,
        False,
        CheckError("condition", "failed " + CERT),
        5.0,
        conditions=[ConditionOutcome(CERT, False, "10d")],
    )


def test_degraded_results_are_not_downtime(store: Store) -> None:
    now = time.time()
    old = now - 10 * 86400  # pruned to hourly aggregates
    results = [
        _result(name, ts, down=name == "web")
        for name in ("cert", "web")
        for ts in (old, old + 60, now - 120, now - 60)
    ]
    assert [r.degraded for r in results[:2]] == [True, True] and not results[-1].degraded
    record(store, results)

    fresh = AggregateCache(store, background=False).summaries_for([("cert", ""), ("web", "")])
    assert fresh[("cert", "")].uptime_30d == 100.0 and fresh[("web", "")].uptime_30d == 0.0

    prune(store, RetentionConfig.model_validate({"raw_results": "7d"}), now=now)
    cache = AggregateCache(store, background=False, clock=lambda: now)
    cache.refresh(force=True)
    summaries = cache.summaries()
    assert summaries[("cert", "")].uptime_30d == 100.0
    assert summaries[("web", "")].uptime_30d == 0.0
    # the charts still see every failure: the two rolled up, the two of the last minutes raw
    assert sum(f for _, _, f, _ in cache.daily([("cert", "")], 30)) == 4
    assert sum(cache.daily_degraded([("cert", "")], 30)) == 4

    stats = check_stats(store, now=now)
    assert stats[("cert", "")].windows["30d"].uptime == 100.0
    assert stats[("cert", "")].windows["30d"].failures == 4
    assert stats[("web", "")].windows["30d"].uptime == 0.0

    report = {c.check: c for c in build_report(store, since_s=30 * 86400, now=now + 1).checks}
    assert report["cert"].uptime_pct == 100.0 and report["cert"].failures == 4
    assert report["web"].uptime_pct == 0.0
