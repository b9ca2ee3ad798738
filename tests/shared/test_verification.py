"""prodshield.verification: the signals a deploy's verdict is made of, on a real SQLite store,
and `deploy verify --strict` failing on a warning."""

from __future__ import annotations

import json
import time
from pathlib import Path

from prodshield import deploys
from prodshield.config import parse_config
from prodshield.store import open_store
from prodshield.store import tables as t
from prodshield.verification import verify
from support.cli import prodshield, wide_env

CONFIG = """
storage: sqlite:///store.db
environments: {production: {}}
checks:
  - {name: api, type: http, url: "http://127.0.0.1:9/", environments: [production]}
  - {name: web, type: http, url: "http://127.0.0.1:9/", environments: [production]}
"""


def _results(store: object, name: str, start: float, values: list[float | None]) -> None:
    with store.begin() as conn:  # type: ignore[attr-defined]
        for i, ms in enumerate(values):
            conn.execute(
                t.check_results.insert().values(
                    check_name=name,
                    environment="production",
                    ts=start + i,
                    ok=ms is not None,
                    response_time_ms=ms,
                    maintenance=False,
                )
            )


def _store(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "shield.yaml").write_text(CONFIG)
    return open_store(f"sqlite:///{tmp_path / 'store.db'}")


def test_slower_after_the_deploy_warns_and_a_few_failures_among_many_do_not_fail(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    now = time.time()
    deployed = now - 300
    marker = deploys.mark(store, "v9", environment="production", at=deployed)
    _results(store, "api", deployed - 600, [100.0] * 20)
    _results(store, "api", deployed + 10, [400.0] * 20)  # p95 100 -> 400 ms: a warning
    _results(store, "web", deployed - 600, [50.0] * 19 + [None])  # 1 of 20 failed before
    _results(store, "web", deployed + 10, [50.0] * 39 + [None])  # 1 of 40 after: no worse
    config = parse_config(CONFIG, env={}).config
    verdict = verify(store, config, marker, window_s=600, now=now)
    store.close()
    assert verdict.verdict == "warn" and not verdict.failed
    monitor = [s for s in verdict.signals if s.area == "monitor"]
    assert [(s.verdict, s.subject) for s in monitor] == [("warn", "api [production]")]
    assert "400 ms after the deploy, 100 ms before (4.0x)" in monitor[0].message
    assert verdict.complete is False and verdict.checks == 2

    plain = prodshield(tmp_path, "deploy", "verify", "--format", "json", env=wide_env())
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["verdict"] == "warn"
    strict = prodshield(tmp_path, "deploy", "verify", "--strict", env=wide_env())
    assert strict.returncode == 1, strict.stdout


def test_more_failures_after_the_deploy_fail_and_results_outside_the_window_do_not_count(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    now = time.time()
    deployed = now - 3000
    marker = deploys.mark(store, "v10", at=deployed)
    _results(store, "api", deployed - 100, [80.0] * 10)
    _results(store, "api", deployed + 5, [80.0] * 7 + [None] * 3)  # 3 of 10 in the window
    _results(store, "api", deployed + 1200, [None] * 50)  # past a 10 min window: not counted
    config = parse_config(CONFIG, env={}).config
    verdict = verify(store, config, marker, window_s=600, now=now)
    store.close()
    assert verdict.failed and verdict.complete
    failed = [s for s in verdict.signals if s.verdict == "fail"]
    assert [s.message for s in failed] == [
        "3 of 10 results failed after the deploy (30.0%); 0 of 10 before (0.0%)"
    ]
