"""The status headline and service states from what is open (prodshield.monitor.overall), and the
Cost page's measured/estimated split (prodshield.web.cost)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from prodshield.monitor.overall import ServiceState, headline, service_status
from prodshield.monitor.read import ReadModel
from prodshield.store import open_store
from prodshield.store import tables as t
from prodshield.web.cost import MIN_GROWTH_WINDOW, cost_panel, span
from support.web_seed import loaded_config, seed


def _svc(status: str, incidents: int = 0) -> ServiceState:
    return ServiceState("svc", "production", status, incidents)


@pytest.mark.parametrize(
    ("members", "incidents", "expected"),
    [
        (["up", "up"], 0, "up"),
        (["up", "up"], 1, "degraded"),  # counting successes back: still an incident
        (["down", "down"], 1, "down"),
        (["down", "up"], 1, "degraded"),
        (["down", "unknown"], 1, "down"),
        (["down", "unknown"], 0, "degraded"),  # failing, no incident yet: not an outage
        (["down"], 0, "degraded"),
        (["unknown"], 0, "unknown"),
        (["unknown"], 1, "degraded"),
        (["maintenance"], 0, "maintenance"),
        (["up", "maintenance"], 0, "up"),
    ],
)
def test_service_status(members: list[str], incidents: int, expected: str) -> None:
    assert service_status(members, incidents) == expected


def test_headline_levels() -> None:
    up4 = [_svc("up")] * 4
    h = headline(up4, 0)
    assert (h.level, h.title, h.detail) == (
        "operational",
        "All systems operational",
        "4 of 4 services up",
    )
    # an open incident on a service whose checks pass again is never "operational"
    h = headline([_svc("degraded", 1)] + [_svc("up")] * 3, 1)
    assert (h.level, h.detail) == ("degraded", "1 degraded · 1 ongoing incident")
    # an open incident on a check no longer configured still counts
    assert headline(up4, 1).level == "degraded"
    h = headline([_svc("down", 1)] + [_svc("up")] * 3, 1)
    assert (h.level, h.title, h.detail) == (
        "partial_outage",
        "Partial outage",
        "1 of 4 services down · 1 ongoing incident",
    )
    assert headline([_svc("down", 1), _svc("down", 1), _svc("up"), _svc("up")], 2).level == (
        "major_outage"
    )
    assert headline([_svc("down", 1)], 1).title == "Major outage"
    assert headline([_svc("unknown")] * 2, 0).level == "unknown"


def test_status_overview_headline_counts_every_page(tmp_path: Path) -> None:
    """The headline covers every service, not only the page shown."""
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        seed(store)
        model = ReadModel(store, loaded_config(tmp_path).config)
        page2 = model.services(page=2, per_page=2)
        assert page2["headline"].level == "partial_outage"
        assert page2["headline"].open_incidents == 1
        staging = [s for s in model.services()["services"] if s["environment"] == "staging"]
        assert staging[0]["status"] == "down" and staging[0]["open_incidents"] == 1
    finally:
        store.close()


def test_cost_growth_needs_an_hour_of_results(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        loaded = loaded_config(tmp_path)
        model = ReadModel(store, loaded.config)
        now = time.time()
        with store.begin() as conn:
            conn.execute(
                t.check_results.insert(),
                [
                    {
                        "check_name": "website",
                        "environment": "production",
                        "ts": now - i,
                        "ok": True,
                    }
                    for i in range(60)
                ],
            )
        cost = cost_panel(store, model.targets, base_dir=tmp_path, now=now)
        assert cost.growth.bytes_per_day is None
        assert cost.growth.note.startswith("not enough data: results span 59s")
        assert cost.growth.results == 60
        # no workflow next to shield.yaml: no Actions minutes, no 5-minute warning
        assert cost.actions_workflows == [] and cost.actions_minutes_total == 0
        assert not [w for w in cost.interval_warnings if "Actions" in w.reason]
        # the cache check: interval 5s, timeout 10s, said to the second
        overlap = [w for w in cost.interval_warnings if w.check == "cache"]
        assert overlap[0].reason == "interval 5s is shorter than the timeout 10s: runs can overlap"
        with store.begin() as conn:
            conn.execute(
                t.check_results.insert().values(
                    check_name="website", environment="production", ts=now - 2 * 3600, ok=True
                )
            )
        cost = cost_panel(store, model.targets, base_dir=tmp_path, now=now)
        assert cost.growth.bytes_per_day is not None and cost.growth.bytes_per_day > 0
        assert "61 results over the last 2h" in cost.growth.note
        # a repository that runs `monitor once` from Actions gets the minutes and the warnings
        flows = tmp_path / ".github" / "workflows"
        flows.mkdir(parents=True)
        (flows / "production-monitoring.yml").write_text(
            "on: {schedule: [{cron: '*/5 * * * *'}]}\n"
            "jobs: {m: {steps: [{run: prodshield monitor once -c shield.yaml}]}}\n"
        )
        cost = cost_panel(store, model.targets, base_dir=tmp_path, now=now)
        assert cost.actions_minutes_total > 0
        website = [w for w in cost.interval_warnings if w.check == "website"]
        assert website[0].reason == (
            "from GitHub Actions it runs every 5m, so an incident needs 15m to open there, "
            "not 1m 30s"
        )
    finally:
        store.close()
    assert span(30) == "30s" and span(90) == "1m 30s" and span(MIN_GROWTH_WINDOW) == "1h"
