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
from prodshield.verification import headline, markdown, verify
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


def test_what_happened_after_the_window_is_not_the_deploys_doing(tmp_path: Path) -> None:
    """Verifying an older deploy (`--deploy 1`) after a later one broke things: the later outage,
    its incident and its failed audit are not blamed on the first deploy."""
    store = _store(tmp_path)
    now = time.time()
    deployed = now - 3 * 3600
    marker = deploys.mark(store, "v1", environment="production", at=deployed)
    _results(store, "api", deployed - 300, [80.0] * 5)
    _results(store, "api", deployed + 5, [80.0] * 5)
    later = now - 3600  # a later change, two hours after this deploy's 10 minutes
    _results(store, "api", later, [None] * 5)
    with store.begin() as conn:
        conn.execute(
            t.check_state.insert().values(
                check_name="api",
                environment="production",
                status="down",
                updated_at=now,
                first_failure_ts=later,
                last_change_ts=later,
            )
        )
        conn.execute(
            t.incidents.insert().values(
                check_name="api", environment="production", status="open", opened_at=later
            )
        )
        conn.execute(
            t.audit_runs.insert().values(started_at=later, finished_at=later + 5, passed=False)
        )
    config = parse_config(CONFIG, env={}).config
    old = verify(store, config, marker, window_s=600, now=now)
    # the same outage inside the window fails the deploy
    recent = deploys.mark(store, "v2", environment="production", at=later - 60)
    new = verify(store, config, recent, window_s=600, now=now)
    store.close()
    assert old.verdict == "pass", old.signals
    assert new.failed
    assert {(s.area, s.verdict) for s in new.signals} >= {
        ("monitor", "fail"),
        ("incidents", "fail"),
        ("audit", "fail"),
    }, new.signals


def test_no_check_in_scope_is_said_and_the_markdown_headline_shows_the_version_as_code(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    marker = deploys.mark(
        store, "x[see](https://evil.example)|1", service="blog", environment="production"
    )
    config = parse_config(CONFIG, env={}).config
    verdict = verify(store, config, marker, window_s=600)
    store.close()
    assert verdict.verdict == "pass" and verdict.checks == 0
    assert any(
        s.verdict == "info" and s.message.startswith("no check applies to this deploy")
        for s in verdict.signals
    ), verdict.signals
    text = markdown(verdict)
    # a code span outside the table: its pipe stays as typed (no backslash shown)
    assert "deploy #1 `x[see](https://evil.example)|1` (`blog` in `production`) at " in text, text
    assert headline(verdict).startswith(
        "deploy #1 x[see](https://evil.example)|1 (blog in production) at "
    )


def test_a_check_without_environments_counts_for_a_deploy_to_an_environment(
    tmp_path: Path,
) -> None:
    """GitHub deployments always name an environment (`production`); a shield.yaml whose checks
    name none must not pass every such deploy for want of a check in scope."""
    plain = "storage: sqlite:///store.db\nchecks:\n  - {name: api, type: http, url: 'http://127.0.0.1:9/'}\n"
    (tmp_path / "shield.yaml").write_text(plain)
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    now = time.time()
    marker = deploys.mark(store, "v1", environment="production", at=now - 120)
    with store.begin() as conn:
        for i in range(4):
            conn.execute(
                t.check_results.insert().values(
                    check_name="api", environment="", ts=now - 100 + i, ok=False, maintenance=False
                )
            )
    verdict = verify(store, parse_config(plain, env={}).config, marker, window_s=600, now=now)
    store.close()
    assert verdict.checks == 1 and verdict.failed, verdict.signals


def test_a_check_failing_since_the_deploy_but_not_down_yet_warns(tmp_path: Path) -> None:
    """Two failed runs right after the deploy are too few for a failure rate and below the
    check's failure_threshold: said as a warning, not a silent pass."""
    store = _store(tmp_path)
    now = time.time()
    deployed = now - 60
    marker = deploys.mark(store, "v4", environment="production", at=deployed)
    _results(store, "api", deployed - 600, [80.0] * 5)
    _results(store, "api", deployed + 5, [None, None])
    with store.begin() as conn:
        conn.execute(
            t.check_state.insert().values(
                check_name="api",
                environment="production",
                status="failing",
                consecutive_failures=2,
                updated_at=now,
                first_failure_ts=deployed + 5,
            )
        )
    verdict = verify(store, parse_config(CONFIG, env={}).config, marker, window_s=600, now=now)
    store.close()
    assert verdict.verdict == "warn", verdict.signals
    assert [(s.verdict, s.subject, s.message) for s in verdict.signals if s.area == "monitor"] == [
        (
            "warn",
            "api [production]",
            "failing since the deploy (2 failed results in a row, not down yet)",
        )
    ]


def test_the_headline_counts_the_results_of_the_checks_that_failed_only(tmp_path: Path) -> None:
    """A review: 'FAIL: 2 of 4 checks failed (11 of 23 results failed)' counted the failures of a
    check only warned about; the headline's results are now those of the failed checks."""
    store = _store(tmp_path)
    now = time.time()
    deployed = now - 3000
    marker = deploys.mark(store, "v11", environment="production", at=deployed)
    _results(store, "api", deployed - 100, [80.0] * 10)
    _results(store, "api", deployed + 5, [80.0] * 6 + [None] * 4)  # 4 of 10: fails
    _results(store, "web", deployed - 100, [50.0] * 10)
    _results(store, "web", deployed + 5, [900.0] * 10)  # slower only: a warning
    with store.begin() as conn:  # and a few failures of web, not enough to fail it
        conn.execute(
            t.check_results.insert().values(
                check_name="web",
                environment="production",
                ts=deployed + 30,
                ok=False,
                response_time_ms=None,
                maintenance=False,
            )
        )
    config = parse_config(CONFIG, env={}).config
    verdict = verify(store, config, marker, window_s=600, now=now)
    store.close()
    assert verdict.failed
    assert {s.check for s in verdict.signals if s.verdict == "fail"} == {"api [production]"}
    assert any(s.verdict == "warn" and s.check == "web [production]" for s in verdict.signals)
    assert verdict.results == (21, 5)  # every check's, as the JSON's results_after says
    assert "1 of 2 checks failed (4 of 10 results failed)" in headline(verdict), headline(verdict)
