"""Journey: game days inside `serve`. shield.yaml schedules three experiments every 3 seconds (cron
with a seconds field, in a time zone) against a real loopback site whose production is down:
staging's passes (green), production's forced one has its steady state not met (red), and the
guarded production one is skipped while production's incident is open. Their journals appear in
the API (`/api/v1/chaos/journals`, one with its whole journal) and on the dashboard's chaos page
in Chromium: the schedules with their next run, the failed run red, the skipped one saying why."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.chaos_experiments import api_check_passes
from support.net import http_server, wait_until
from support.serve import get, read_bound
from support.standins.production_down import ProductionDown

TOKEN = "journey-token-chaos-0123456789"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def target() -> Iterator[str]:
    with http_server(ProductionDown) as port:
        yield f"http://127.0.0.1:{port}"


def _wait(predicate: Any, what: str, timeout: float = 90.0) -> Any:
    return wait_until(predicate, what, timeout, interval=0.5)


def _experiment(env: str) -> dict[str, Any]:
    return {
        "title": f"game day in {env}",
        "description": "the api check is the steady state",
        "steady-state-hypothesis": api_check_passes(env),
        "method": [
            {"type": "action", "name": "noop", "provider": {"type": "process", "path": "true"}}
        ],
    }


def test_scheduled_experiments_in_serve(tmp_path: Path, target: str) -> None:
    (tmp_path / "experiments").mkdir()
    for env in ("staging", "production"):
        (tmp_path / "experiments" / f"{env}.json").write_text(json.dumps(_experiment(env)))
    every = "* * * * * */3"
    (tmp_path / "shield.yaml").write_text(
        f"""
storage: "sqlite:///{tmp_path / "state.db"}"
serve: {{port: 0, token: "{TOKEN}"}}
defaults: {{interval: 2s, timeout: 5s, failure_threshold: 1}}
environments:
  production: {{vars: {{base_url: "{target}/prod"}}}}
  staging: {{vars: {{base_url: "{target}/stage"}}}}
checks:
  - name: api
    type: http
    url: "{{base_url}}/health"
    environments: [production, staging]
    conditions: ["[STATUS] == 200"]
chaos:
  experiments:
    - {{name: staging-game-day, file: experiments/staging.json, schedule: "{every}",
        tz: Europe/Paris, env: staging}}
    - {{name: production-forced, file: experiments/production.json, schedule: "{every}",
        env: production, force: true}}
    - {{name: production-guarded, file: experiments/production.json, schedule: "{every}",
        env: production}}
"""
    )
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("PRODSHIELD_")}
    serve = subprocess.Popen(
        [sys.executable, "-m", "prodshield", "serve", "-c", str(tmp_path / "shield.yaml")],
        cwd=tmp_path, env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        port, _ = read_bound(serve)

        def by_source() -> dict[str, list[dict[str, Any]]] | None:
            found: dict[str, list[dict[str, Any]]] = {}
            for j in get(port, "/api/v1/chaos/journals?limit=100", token=TOKEN)["journals"]:
                found.setdefault(j["source"], []).append(j)
            ended = {k: [j for j in v if j["status"] != "running"] for k, v in found.items()}
            wanted = ("staging-game-day", "production-forced")
            if all(ended.get(f"schedule {n}") for n in wanted) and any(
                j["status"] == "skipped" for j in found.get("schedule production-guarded", [])
            ):
                return ended
            return None

        runs = _wait(by_source, "a journal from each schedule")
        staging = runs["schedule staging-game-day"][0]
        assert staging["status"] == "completed" and staging["ok"], staging
        assert staging["environment"] == "staging" and staging["title"] == "game day in staging"
        forced = runs["schedule production-forced"][0]
        assert forced["ok"] is False, forced  # production is down: not met before the method
        assert forced["reason"] == "steady state not met before the method"
        skipped = next(j for j in runs["schedule production-guarded"] if j["status"] == "skipped")
        assert (
            "refusing to inject faults while 1 incident is open in production"
            in (skipped["reason"])
        )
        assert "api (production)" in skipped["reason"]

        listing = get(port, "/api/v1/chaos/journals", token=TOKEN)
        schedules = {s["name"]: s for s in listing["schedules"]}
        assert set(schedules) == {"staging-game-day", "production-forced", "production-guarded"}
        assert schedules["staging-game-day"]["tz"] == "Europe/Paris"
        assert schedules["staging-game-day"]["next_run"] > time.time() - 5

        whole = get(port, f"/api/v1/chaos/journals/{staging['id']}", token=TOKEN)
        assert whole["journal"]["steady_states"]["before"]["steady_state_met"] is True
        assert whole["journal"]["run"][0]["activity"]["name"] == "noop"

        _dashboard_shows_the_runs(port, forced["id"])
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            _out, err = serve.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            serve.kill()
            _out, err = serve.communicate()
    assert serve.returncode == 0, err[-2000:]
    assert "Traceback" not in err, err[-3000:]


def _dashboard_shows_the_runs(port: int, failed_id: int) -> None:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox"], timeout=30000
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15000)
            page.goto(base + "/dashboard/chaos")
            page.fill("#token", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/dashboard/chaos")
            names = page.locator("#chaos-schedules tr.schedule td:first-child").all_inner_texts()
            assert sorted(names) == ["production-forced", "production-guarded", "staging-game-day"]
            failed = page.locator(f'tr.journal[data-id="{failed_id}"]')
            assert "steady state not met" in failed.inner_text()
            pill = failed.locator(".pill")
            assert "s-down" in (pill.get_attribute("class") or "")
            red = pill.evaluate("e => getComputedStyle(e).backgroundColor")
            green = page.locator('tr.journal[data-ok="yes"] .pill').first.evaluate(
                "e => getComputedStyle(e).backgroundColor"
            )
            assert red != green, (red, green)
            skipped = page.locator('tr.journal[data-status="skipped"]').first
            assert "refusing to inject faults" in skipped.inner_text()
        finally:
            browser.close()
