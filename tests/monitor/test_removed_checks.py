"""Which open incidents shield.yaml no longer backs, and why (``monitor.removed.reason_gone``):
the journey (tests/journeys/test_journey_removed_check_resolves.py) proves the resolution
end to end; these name each way a target leaves the config."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.monitor import slo
from prodshield.monitor.incidents import MANUAL
from prodshield.monitor.removed import reason_gone, resolve_removed
from prodshield.store import Store
from prodshield.store import tables as t

CONFIG = """
environments:
  prod: {vars: {host: a.example}}
  staging: {vars: {host: b.example}}
services:
  shop: {slo: {objective: 99.9, window: 30d}}
  blog: {}
checks:
  - {name: web, type: http, url: 'https://{host}/', environments: [prod]}
  - {name: paused, type: http, url: 'https://x.example/', enabled: false}
  - {name: cart, type: http, url: 'https://x.example/', service: shop,
     slo: {objective: 99.9, window: 30d}}
  - {name: plain, type: http, url: 'https://x.example/'}
  - {name: post, type: http, url: 'https://x.example/', service: blog}
"""


def test_each_way_a_target_leaves_the_config_has_its_reason() -> None:
    config = parse_config(CONFIG, env={}).config
    assert reason_gone(config, "web", "prod", "down") is None
    assert reason_gone(config, "gone", "prod", "down") == "check removed from shield.yaml"
    assert reason_gone(config, "paused", "", "down") == "check disabled in shield.yaml"
    assert reason_gone(config, "web", "staging", "down") == (
        "environment staging removed from the check in shield.yaml"
    )
    assert reason_gone(config, "cart", "", slo.KIND) is None
    assert reason_gone(config, "plain", "", slo.KIND) == "SLO removed from shield.yaml"
    assert reason_gone(config, "service:shop", "", slo.KIND) is None
    assert reason_gone(config, "service:blog", "", slo.KIND) == (
        "service SLO removed from shield.yaml"
    )
    assert reason_gone(config, "service:gone", "", slo.KIND) == "service removed from shield.yaml"
    assert reason_gone(config, "anything", "", MANUAL) is None  # about no check


def test_only_incidents_of_removed_targets_are_resolved(tmp_path: Path) -> None:
    config = parse_config(CONFIG, env={}).config
    store = Store(f"sqlite:///{tmp_path}/s.db")
    store.upgrade()
    i = t.incidents
    with store.begin() as conn:
        for check, env, kind in [("web", "prod", "down"), ("gone", "", "down"), ("x", "", MANUAL)]:
            conn.execute(
                i.insert().values(
                    check_name=check, environment=env, kind=kind, status="open", opened_at=1.0
                )
            )
    done = resolve_removed(store, config, now=100.0)
    assert [(r.check, r.reason) for r in done] == [("gone", "check removed from shield.yaml")]
    assert resolve_removed(store, config, now=200.0) == []  # once
    with store.connect() as conn:
        rows = conn.execute(select(i.c.check_name, i.c.status, i.c.resolved_by)).all()
    assert sorted(tuple(r) for r in rows) == [
        ("gone", "resolved", "config"),
        ("web", "open", None),
        ("x", "open", None),
    ]
    store.close()
