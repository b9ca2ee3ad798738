"""Journey: today's 90-day bar and the hourly chart agree with the uptime figure beside them.

`serve` counted the uptime of the hours not rolled up for good from raw results (within 10 s of
the store), but drew today's bar and the hourly series from `check_hourly` only, rolled up every
minute and re-read by its cache a minute after that: a failure showed in the uptime next to a
bar still all green for up to two minutes. Here: a good result, rolled up by `status build`
(an aggregate for the current hour), serve starts, the target breaks and `monitor once` (another
process) stores a failure; within the documented interval (docs/web.md "Speed") the check's API
answer shows it in the 24 h uptime, today's bar and the current hour alike, as
`monitor status` counts it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from journeys.test_journey_serve_uptime_fresh import FRESH, TOKEN, _cli, _get, _Target
from support.serve import read_bound, serve_env, start_serve, stop_serve


def _shown(base: str) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """The check's 24 h uptime, today's bar and the current hour, from one API answer."""
    detail = json.loads(_get(base + "/api/v1/checks/shop"))
    (env,) = detail["environments"]
    return float(env["uptime"]["24h"]), env["daily"][-1], env["hourly"][-1]


def test_today_bar_and_hourly_show_a_failure_with_the_uptime(tmp_path: Path) -> None:
    target = _Target()
    target.failing = False
    (tmp_path / "shield.yaml").write_text(
        f"""
storage: "sqlite:///{tmp_path / "store.db"}"
serve: {{title: "Shop status", token: "{TOKEN}", host: 127.0.0.1}}
checks:
  - name: shop
    type: http
    url: "{target.url}/"
    interval: 1h
    timeout: 2s
    conditions: ["[STATUS] == 200"]
"""
    )
    proc = None
    try:
        _cli(tmp_path, "monitor", "once", "--format", "json")  # a good result
        _cli(tmp_path, "status", "build", "--out", str(tmp_path / "site"))  # rolled up
        proc = start_serve(tmp_path / "shield.yaml", port=0, cwd=tmp_path, env=serve_env())
        port, _ = read_bound(proc)
        base = f"http://127.0.0.1:{port}"
        uptime, today, hour = _shown(base)
        assert uptime == 100.0 and today["failures"] == 0 and hour["failures"] == 0
        target.failing = True
        _cli(tmp_path, "monitor", "once", "--format", "json", exit_code=1)  # a failure
        status = json.loads(_cli(tmp_path, "monitor", "status", "--format", "json").stdout)
        (row,) = status["checks"]
        cli = float(row["uptime_24h"])
        assert cli < 100.0
        deadline = time.monotonic() + FRESH + 10.0  # room for a busy machine
        while True:
            uptime, today, hour = _shown(base)
            if (uptime < 100.0 and today["failures"]) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert uptime == cli, f"the API says {uptime}%, monitor status {cli}%"
        assert today["failures"] >= 1, f"today's bar {today} beside an uptime of {uptime}%"
        assert today["uptime"] == uptime, (today, uptime)  # every result is from today
        assert (hour["count"], hour["failures"]) == (today["count"], today["failures"])
    finally:
        if proc is not None:
            stop_serve(proc, timeout=20)
        target.close()
