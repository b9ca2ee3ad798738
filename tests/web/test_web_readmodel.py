"""The aggregate read model, the hourly rollup behind it and the static status site."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from prodshield.monitor.aggregates import AggregateCache
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.text import UPTIME_DIGITS
from prodshield.web.rollup import WATERMARK, rollup_pending
from prodshield.web.status_site import build_site
from support.web_seed import CONFIG, loaded_config, seed

NOW = 1_800_000_000.0  # a fixed clock: 2027-01-15 08:00 UTC
HOUR = int(NOW) // 3600 * 3600


def _results(store: Store, rows: list[tuple[float, bool, float]]) -> None:
    with store.begin() as conn:
        for ts, ok, ms in rows:
            conn.execute(
                t.check_results.insert().values(
                    check_name="website",
                    environment="production",
                    ts=ts,
                    ok=ok,
                    response_time_ms=ms,
                    error_kind=None if ok else "timeout",
                )
            )


def test_rollup_pending_feeds_the_cache_incrementally(store: Store) -> None:
    clock = [NOW]
    cache = AggregateCache(store, ttl=0.0, clock=lambda: clock[0], background=False)
    _results(store, [(HOUR - 1800 + i, i % 4 != 0, 10.0 + i) for i in range(8)])
    assert rollup_pending(store, now=NOW) == 1
    assert store.kv_get(*WATERMARK) == NOW
    summary = cache.summaries()[("website", "production")]
    assert summary.count_24h == 8 and summary.uptime_24h == 75.0
    # new results in the current hour: the next rollup re-aggregates only from the watermark
    _results(store, [(NOW + 5, True, 20.0), (NOW + 6, False, 30.0)])
    clock[0] = NOW + 60
    assert rollup_pending(store, now=NOW + 60) == 2  # the late window reaches the previous hour
    summary = cache.summaries()[("website", "production")]
    assert summary.count_24h == 10 and summary.uptime_24h == 70.0
    h = t.check_hourly
    with store.connect() as conn:
        hours = conn.execute(select(h.c.hour, h.c.count, h.c.failures).order_by(h.c.hour)).all()
    assert [tuple(r) for r in hours] == [(HOUR - 3600, 8, 2), (HOUR, 2, 1)]


def test_cache_daily_buckets_follow_changed_hours(store: Store) -> None:
    clock = [NOW]
    cache = AggregateCache(store, ttl=0.0, clock=lambda: clock[0], background=False)
    with store.begin() as conn:
        conn.execute(
            t.check_hourly.insert(),
            [
                {
                    "check_name": "api",
                    "environment": "",
                    "hour": HOUR - 3600 - 86400 * d,
                    "count": 100,
                    "failures": d,
                    "sum_ms": 1000.0,
                }
                for d in range(10)
            ],
        )
    daily = cache.daily([("api", "")], days=10)
    assert [c for _, c, _, _ in daily] == [100] * 10
    assert [f for _, _, f, _ in daily] == list(range(9, -1, -1))
    # an hour is recomputed (e.g. by the rollup): the cache applies the difference
    with store.begin() as conn:
        conn.execute(
            t.check_hourly.update()
            .where(t.check_hourly.c.hour == HOUR - 3600)
            .values(count=150, failures=50)
        )
    clock[0] = NOW + 30
    today = cache.daily([("api", "")], days=1)
    assert today[0][1:3] == (150, 50)
    # a partial aggregate of the current hour is neither in the bars nor in the uptime: that
    # hour is counted from its raw results (none here)
    with store.begin() as conn:
        conn.execute(
            t.check_hourly.insert().values(
                check_name="api", environment="", hour=HOUR, count=7, failures=7, sum_ms=0.0
            )
        )
    clock[0] = NOW + 60
    assert cache.daily([("api", "")], days=1)[0][1:3] == (150, 50)
    assert cache.summaries()[("api", "")].uptime_7d == round(
        100 * (750 - (50 + 1 + 2 + 3 + 4 + 5 + 6)) / 750, UPTIME_DIGITS
    )


def test_status_site_build_writes_static_pages(store: Store, tmp_path: Path) -> None:
    seed(store)
    out = tmp_path / "site"
    report = build_site(loaded_config(tmp_path), store, out, per_page=2)
    assert report.services == 5 and report.pages == 3
    index = (out / "index.html").read_text()
    assert 'href="static/style.css"' in index and "/dashboard" not in index
    assert 'href="page-2.html"' in index
    assert (out / "page-3.html").exists() and (out / "static" / "app.js").exists()
    assert "<svg" in index and "Ongoing incidents" in index
    summary = json.loads((out / "status.json").read_text())
    assert summary["open_incidents"] == 1 and summary["services"] == 5
    # the headline covers every page's services and agrees with the open incident
    assert summary["level"] == "partial_outage" and summary["headline"] == "Partial outage"
    assert summary["detail"] == "1 of 5 services down · 1 ongoing incident"
    for page in ("index.html", "page-2.html", "page-3.html"):
        html = (out / page).read_text()
        assert 'data-level="partial_outage"' in html and "<h1>Partial outage</h1>" in html
        assert 'class="chart response"' in html or 'class="chart beats"' in html


def test_status_build_command(tmp_path: Path) -> None:
    from prodshield.cli.main import app

    (tmp_path / "shield.yaml").write_text(
        CONFIG.replace("sqlite:///unused.db", f"sqlite:///{tmp_path / 's.db'}")
    )
    result = CliRunner().invoke(
        app,
        ["status", "build", "-c", str(tmp_path / "shield.yaml"), "--out", str(tmp_path / "site")],
    )
    assert result.exit_code == 0, result.output
    assert "5 services on 1 page" in result.output
    assert (tmp_path / "site" / "index.html").read_text().count('class="service"') == 5


def test_response_cache_reuses_rebuilds_and_invalidates() -> None:
    from prodshield.web.microcache import ResponseCache

    clock = [0.0]
    builds: list[int] = []

    def build() -> bytes:
        builds.append(1)
        return str(len(builds)).encode()

    cache = ResponseCache(5.0, clock=lambda: clock[0])
    assert cache.get("k", build) == b"1"
    clock[0] = 4.9
    assert cache.get("k", build) == b"1"
    clock[0] = 5.1
    assert cache.get("k", build) == b"2"
    cache.invalidate()
    assert cache.get("k", build) == b"3"
    assert cache.get("other", build) == b"4"
    assert (cache.hits, cache.misses) == (1, 4)


def test_a_serving_app_loads_the_aggregates_before_the_first_request(
    store: Store, tmp_path: Path
) -> None:
    """With background services (``serve``), the cache is filled at start-up, not by a visitor."""
    import asyncio
    import time

    from starlette.testclient import TestClient

    from prodshield.web import create_app
    from prodshield.web.services import Services

    class Idle:
        name = "idle"

        async def run(self, stop: asyncio.Event) -> None:
            await stop.wait()

    _results(store, [(time.time() - 7200 + i, i % 2 == 0, 10.0) for i in range(4)])
    rollup_pending(store, now=time.time())
    cache = AggregateCache(store)
    app = create_app(
        loaded_config(tmp_path),
        store,
        token="t" * 32,
        services=Services(background=[Idle()]),
        cache=cache,
    )
    with TestClient(app, base_url="http://127.0.0.1"):
        deadline = time.monotonic() + 30  # a bound for a loaded machine, not a timing
        while cache.generation == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cache.generation == 1  # loaded once, with no request made
        assert cache.summaries()[("website", "production")].count_24h == 4
    # Without background services (a bare app, as in most tests) nothing is loaded up front.
    idle_cache = AggregateCache(store)
    with TestClient(create_app(loaded_config(tmp_path), store, token="t" * 32, cache=idle_cache)):
        time.sleep(0.2)
        assert idle_cache.generation == 0


def test_a_failing_background_service_is_restarted_and_reported(
    store: Store, tmp_path: Path, caplog: Any
) -> None:
    """A service whose run raises (a bug, an unexpected error) comes back after a backoff; its
    failure is logged and shown on /readyz, and a clean stop still ends it."""
    import asyncio
    import logging
    import time

    from starlette.testclient import TestClient

    from prodshield.web import create_app
    from prodshield.web.services import Services

    class Flaky:
        name = "flaky"

        def __init__(self) -> None:
            self.starts = 0
            self.stopped = False

        async def run(self, stop: asyncio.Event) -> None:
            self.starts += 1
            if self.starts <= 2:
                raise RuntimeError(f"boom {self.starts}")
            await stop.wait()
            self.stopped = True

    flaky = Flaky()
    app = create_app(
        loaded_config(tmp_path), store, token="t" * 32, services=Services(background=[flaky])
    )
    with caplog.at_level(logging.WARNING), TestClient(app, base_url="http://127.0.0.1") as c:
        deadline = time.monotonic() + 30  # backoffs of 1 s and 2 s, on a loaded machine
        while flaky.starts < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert flaky.starts == 3  # failed twice, restarted twice (after 1 s, then 2 s)
        ready = c.get("/readyz").json()
        assert ready["status"] == "degraded"
        assert "boom 2" in ready["problems"]["service:flaky"]
        assert "failure 2" in ready["problems"]["service:flaky"]
    assert flaky.stopped
    assert "background service flaky failed (RuntimeError: boom 1); restarting" in caplog.text


def test_a_check_without_aggregates_yet_is_summarised_from_its_raw_results(store: Store) -> None:
    """Before the first rollup a check's uptime comes from its results (maintenance left out,
    like the rollup); once aggregated, the aggregate counts the hours rolled up for good and the
    results after them still count, rolled up or not (both backends)."""
    clock = [NOW]
    cache = AggregateCache(store, ttl=0.0, clock=lambda: clock[0], background=False)
    key = ("website", "production")
    _results(store, [(NOW - 30 + i, i != 3, 10.0) for i in range(4)])  # 3 up, 1 down
    with store.begin() as conn:
        conn.execute(
            t.check_results.insert().values(
                check_name="website", environment="production", ts=NOW - 1, ok=False,
                response_time_ms=None, error_kind="timeout", maintenance=True,
            )
        )  # fmt: skip
    assert key not in cache.summaries()
    others = [(f"check-{i}", "production") for i in range(1200)]  # several statements
    raw = cache.summaries_for([*others, key, ("api", "production")])
    assert ("api", "production") not in raw and others[0] not in raw  # no results: no uptime
    summary = raw[key]
    assert summary.count_24h == 4 and summary.uptime_24h == 75.0
    assert summary.uptime_7d == summary.uptime_30d == summary.uptime_90d == 75.0
    assert summary.avg_ms_24h == 10.0
    assert rollup_pending(store, now=NOW + 60) >= 1
    clock[0] = NOW + 60
    _results(store, [(NOW + 61, False, 10.0)])  # not rolled up yet: counted from the results
    summary = cache.summaries_for([key])[key]
    assert (summary.count_24h, summary.uptime_24h) == (5, 60.0)
