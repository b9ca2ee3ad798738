"""Chart series and their SVG: a check started a minute ago shows each of its results, on a time
axis that starts at its first result, with units and times to the second."""

from __future__ import annotations

import re
import time
from pathlib import Path

from prodshield.monitor.read import ReadModel
from prodshield.monitor.series import LatencyPoint, hourly_points
from prodshield.store import open_store
from prodshield.store import tables as t
from prodshield.web.charts import heartbeat_bar, response_chart
from support.web_seed import loaded_config


def test_a_chart_right_after_start_shows_each_result(store_url: str, tmp_path: Path) -> None:
    """On both stores: the series are plain SQL (FLOOR, a window function, OR'd index ranges)."""
    store = open_store(store_url)
    try:
        model = ReadModel(store, loaded_config(tmp_path).config)
        now = time.time()
        with store.begin() as conn:
            conn.execute(
                t.check_results.insert(),
                [
                    {
                        "check_name": "website",
                        "environment": "production",
                        "ts": now - 30 * i,
                        "ok": i != 1,
                        "response_time_ms": None if i == 1 else 40.0 + i,
                        "error_kind": "timeout" if i == 1 else None,
                    }
                    for i in range(4)
                ],
            )
        (points,) = model.latency_points([[("website", "production")]], hours=24, now=now)
        assert [p.count for p in points] == [1, 1, 1, 1]
        assert [p.avg_ms for p in points] == [43.0, 42.0, None, 40.0]
        assert points[2].failures == 1 and all(p.raw for p in points)
        svg = str(response_chart(points, until=now, label="website"))
        assert svg.count('<circle class="pt"') == 3
        assert svg.count('class="fail-mark"') == 1
        # the axis spans the 90 s of results (ticks to the second), not 24 empty hours
        ticks = re.findall(r'class="tick x [a-z]+"[^>]*>([^<]+)<', svg)
        assert len(ticks) == 3 and all(re.fullmatch(r"\d\d:\d\d:\d\d( UTC)?", x) for x in ticks)
        assert re.search(r"<title>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: 40 ms</title>", svg)
        assert ">0 ms<" in svg and "no results" not in svg
        beats = model.beats([("website", "production")], 20)[("website", "production")]
        assert [b.ok for b in beats] == [True, True, False, True]
        bar = str(heartbeat_bar(beats, slots=20, label="website"))
        assert bar.count('class="beat none"') == 16 and bar.count('class="beat down"') == 1
        assert "failed: timeout" in bar
    finally:
        store.close()


def test_hourly_points_only_before_the_raw_window_and_empty_chart_says_so() -> None:
    hour = 1_700_000_000 // 3600 * 3600
    rows = [(hour - 3 * 3600, 120, 0, 120 * 40.0), (hour - 3600, 0, 0, 0.0), (hour, 10, 1, 500.0)]
    points = hourly_points(rows, before=hour)
    assert [(p.ts, p.avg_ms, p.raw) for p in points] == [(hour - 3 * 3600 + 1800, 40.0, False)]
    empty = str(response_chart([], until=hour, label="x"))
    assert "no results with a response time yet" in empty
    one = [LatencyPoint(ts=hour - 5, avg_ms=3.25, max_ms=3.25, count=1, failures=0, raw=True)]
    assert "3.2 ms" in str(response_chart(one, until=hour)) or "3.3 ms" in str(
        response_chart(one, until=hour)
    )


def test_degraded_points_and_beats_are_amber_and_down_ones_red(
    store_url: str, tmp_path: Path
) -> None:
    """On both stores: a degraded result (it answered; only a quality condition failed) is an
    amber point and bar, a result that is down a red one; an hour or day of aggregates is red
    only when more than 1 % of it was down."""
    store = open_store(store_url)
    try:
        model = ReadModel(store, loaded_config(tmp_path).config)
        now = time.time()
        with store.begin() as conn:
            conn.execute(
                t.check_results.insert(),
                [
                    {
                        "check_name": "website",
                        "environment": "production",
                        "ts": now - 30 * i,
                        "ok": i == 0,
                        "response_time_ms": 40.0 + i,
                        "error_kind": None if i == 0 else "condition",
                        "degraded": i == 1,
                    }
                    for i in range(3)
                ],
            )
        (points,) = model.latency_points([[("website", "production")]], hours=24, now=now)
        assert [(p.failures, p.degraded) for p in points] == [(1, 0), (1, 1), (0, 0)]
        svg = str(response_chart(points, until=now, label="website"))
        assert re.findall(r'<circle class="([^"]+)"', svg) == ["pt bad", "pt degraded", "pt"]
        assert "41 ms, 1 degraded</title>" in svg and "42 ms, 1 failed</title>" in svg
        beats = model.beats([("website", "production")], 20)[("website", "production")]
        bar = str(heartbeat_bar(beats, slots=20, label="website"))
        assert re.findall(r'class="beat (down|degraded|up)"', bar) == ["down", "degraded", "up"]
        assert "degraded, 41 ms" in bar
    finally:
        store.close()

    hour = 1_700_000_000 // 3600 * 3600
    rows = [(hour - 3 * 3600, 100, 5, 4000.0), (hour - 2 * 3600, 100, 5, 4000.0)]
    points = hourly_points(rows, before=hour, degraded=[5, 3])
    svg = str(response_chart(points, until=hour))
    # 5 % failed, all degraded: amber; 2 % down: red
    assert re.findall(r'<circle class="([^"]+)"', svg) == ["pt degraded", "pt bad"]
    assert "5 degraded (hourly)" in svg and "2 failed, 3 degraded (hourly)" in svg
