"""Journey: `config check` refuses a retention or threshold that would quietly do harm.

`retention.raw_results: 0s` (a typo for 30d, or "keep nothing") was accepted: `serve` then pruned
every raw check result at each pass (the check pages' recent results and 3-hour charts went
blank). A zero or negative retention of findings, counts, journals or the outbox,
and a `logs.slow_query_ms` / `slow_request_ms` of 0 or less (every query "slow"), were accepted
too. Each is now one `file:line:column: key: message` error, exit 2.
"""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield, wide_env

CONFIG = """\
version: 1
retention:
  raw_results: 0s
  log_findings: 0s
  outbox: 30d
logs:
  slow_query_ms: -5
  slow_request_ms: 0
"""


def test_harmful_bounds_are_located_errors(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(CONFIG)
    done = prodshield(tmp_path, "config", "check", env=wide_env())
    assert done.returncode == 2, (done.stdout, done.stderr)
    errors = [line for line in done.stderr.splitlines() if line.startswith("shield.yaml:")]
    assert [e.split(": ", 2)[:2] for e in errors] == [
        ["shield.yaml:3:3", "retention.raw_results"],
        ["shield.yaml:4:3", "retention.log_findings"],
        ["shield.yaml:7:3", "logs.slow_query_ms"],
        ["shield.yaml:8:3", "logs.slow_request_ms"],
    ], done.stderr
    assert "greater than 0" in errors[0], errors[0]

    (tmp_path / "shield.yaml").write_text(
        CONFIG.replace("0s", "2d")
        .replace("-5", "250")
        .replace("slow_request_ms: 0", "slow_request_ms: 900")
    )
    assert prodshield(tmp_path, "config", "check", env=wide_env()).returncode == 0
