"""Journey: the ``logs.rules`` example of docs/logs.md (Rules), copied from the page into
shield.yaml, fires in ``logs scan``, ``logs digest`` and ``serve``: eight declines of eight
different orders within eight minutes are one ``payment_declined`` finding (the ``detail`` group
lists the orders, it does not split the count), and a rule under its threshold does not hide its
lines from ``error_logged`` (adding a rule never makes the scan miss what it reported before)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.net import wait_until
from support.serve import read_bound, start_serve, stop_serve

DOCS = Path(__file__).parents[2] / "docs" / "logs.md"
TOKEN = "journey-token-0123456789abcdef"


def _documented_rules() -> str:
    """The ``logs:`` block of the Rules section, as a user copies it."""
    section = DOCS.read_text().split("\n## Rules\n", 1)[1]
    block = re.search(r"```yaml\n(logs:\n.*?)```", section, re.S)
    assert block is not None, "docs/logs.md: the Rules section has no yaml example"
    return block.group(1)


def _declines(minutes: list[int], hour: str = "2026-12-07 04") -> str:
    return "".join(
        f"{hour}:{m:02d}:00,000 ERROR payments: card declined for order {101 + i}\n"
        for i, m in enumerate(minutes)
    )


def _env() -> dict[str, str]:
    return shell_env(drop=("PRODSHIELD_",), COLUMNS="200", NO_COLOR="1")


def _kinds(findings: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in findings:
        out[f["kind"]] = out.get(f["kind"], 0) + f["count"]
    return out


def test_the_documented_rule_fires_in_scan_and_digest(tmp_path: Path) -> None:
    rules = _documented_rules()
    assert "threshold: 5" in rules and "window: 10m" in rules and "(?P<detail>" in rules
    (tmp_path / "shield.yaml").write_text("storage: sqlite:///store.db\n" + rules)
    (tmp_path / "pay.log").write_text(_declines(list(range(41, 49))))

    scan = prodshield(
        tmp_path, "logs", "scan", "pay.log", "--no-store", "--format", "json", env=_env()
    )
    assert scan.returncode == 1, scan.stderr  # a high finding
    findings = json.loads(scan.stdout)["findings"]
    declined = [f for f in findings if f["kind"] == "payment_declined"]
    assert len(declined) == 1, findings  # one finding, not one per order
    assert declined[0]["count"] == 8 and declined[0]["message"] == "8 card payments declined"
    assert declined[0]["details"]["peak_in_window"] == 8
    assert list(declined[0]["details"]["detail_values"]) == [str(101 + i) for i in range(8)]
    # one line, one finding: the four held under the threshold are the burst's too, not
    # also error_logged lines (tests/journeys/test_journey_logs_rule_burst_counts_once.py)
    assert _kinds(findings) == {"payment_declined": 8}, findings

    table = prodshield(tmp_path, "logs", "scan", "pay.log", "--no-store", env=_env())
    assert "payment_declined" in table.stdout and "no findings" not in table.stdout

    digest = prodshield(
        tmp_path, "logs", "digest", "pay.log", "--no-store", "--format", "json", env=_env()
    )
    assert digest.returncode == 0, digest.stderr
    critical = json.loads(digest.stdout)["critical"]
    assert _kinds(critical).get("payment_declined") == 8, critical


def test_a_rule_under_its_threshold_hides_nothing(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text("storage: sqlite:///store.db\n" + _documented_rules())
    # three declines 20 minutes apart: never 5 within 10 minutes
    (tmp_path / "pay.log").write_text(_declines([0, 20, 40]))
    without = tmp_path / "bare"
    without.mkdir()
    (without / "pay.log").write_text(_declines([0, 20, 40]))

    before = prodshield(
        without, "logs", "scan", "pay.log", "--no-store", "--format", "json", env=_env()
    )
    after = prodshield(
        tmp_path, "logs", "scan", "pay.log", "--no-store", "--format", "json", env=_env()
    )
    assert before.returncode == after.returncode == 0, (before.stderr, after.stderr)
    assert _kinds(json.loads(before.stdout)["findings"]) == {"error_logged": 3}
    assert _kinds(json.loads(after.stdout)["findings"]) == {"error_logged": 3}


def test_group_by_counts_per_value_and_a_wrong_group_is_a_located_error(tmp_path: Path) -> None:
    rules = _documented_rules().replace(
        "      threshold: 5", "      group_by: detail\n      threshold: 5"
    )
    assert "group_by: detail" in rules
    (tmp_path / "shield.yaml").write_text("storage: sqlite:///store.db\n" + rules)
    # order 101 declined 5 times, 8 other orders once each
    lines = "".join(
        f"2026-12-07 04:{m:02d}:00,000 ERROR payments: card declined for order {order}\n"
        for m, order in enumerate([101, 102, 101, 103, 101, 104, 101, 105, 101, 106])
    )
    (tmp_path / "pay.log").write_text(lines)
    scan = prodshield(
        tmp_path, "logs", "scan", "pay.log", "--no-store", "--format", "json", env=_env()
    )
    declined = [f for f in json.loads(scan.stdout)["findings"] if f["kind"] == "payment_declined"]
    assert [(f["source"].get("detail"), f["count"]) for f in declined] == [("101", 5)], declined

    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n" + rules.replace("group_by: detail", "group_by: order")
    )
    bad = prodshield(tmp_path, "logs", "scan", "pay.log", "--no-store", env=_env())
    assert bad.returncode == 2, bad.stderr
    assert "logs.rules[0]" in bad.stderr and "'order' is not a named group" in bad.stderr
    assert "Traceback" not in bad.stderr


def _get(port: int, path: str) -> Any:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read().decode())


def test_the_documented_rule_fires_in_serve(tmp_path: Path) -> None:
    (tmp_path / "pay.log").write_text(_declines(list(range(41, 49))))
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        + _documented_rules().replace(
            "logs:\n",
            "logs:\n  window: 1s\n  sources:\n    - {name: pay, path: pay.log, format: python}\n",
            1,
        )
    )
    serve = start_serve(
        tmp_path / "shield.yaml",
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        port, _ = read_bound(serve)
        declined = wait_until(
            lambda: next(
                (
                    f
                    for f in _get(port, "/api/v1/findings")["logs"]
                    if f["kind"] == "payment_declined" and f["count"] == 8
                ),
                None,
            ),
            "the payment_declined finding",
            90,
            interval=0.3,
        )
        assert declined is not None and declined["message"] == "8 card payments declined"
    finally:
        stop_serve(serve, timeout=60)
