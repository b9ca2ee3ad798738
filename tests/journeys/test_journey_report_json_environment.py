"""Journey: `monitor report --format json` gave `"environment": ""` for a check without
environments, where `monitor status --format json`, `monitor once --format json` and the API give
null. The report now says null too, for the check, its incidents and the slowest list (CLI as a
subprocess on the store `monitor once` wrote)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from support.alerting import cli


def test_report_json_gives_null_for_a_check_without_environments(tmp_path: Path) -> None:
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(8)
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))  # bound, not listening: an incident
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "environments: {production: {}}\n"
        "checks:\n"
        f"  - {{name: up, type: tcp, host: 127.0.0.1, port: {listening.getsockname()[1]}}}\n"
        f"  - {{name: down, type: tcp, host: 127.0.0.1, port: {refused.getsockname()[1]},"
        " failure_threshold: 1}\n"
        f"  - {{name: staged, type: tcp, host: 127.0.0.1, port: {listening.getsockname()[1]},"
        " environments: [production]}\n"
    )
    try:
        once = cli(tmp_path, "monitor", "once")
    finally:
        listening.close()
        refused.close()
    assert "incident #1 opened" in once.stdout, once.stdout + once.stderr
    status = json.loads(cli(tmp_path, "monitor", "status", "--format", "json").stdout)
    report = cli(tmp_path, "monitor", "report", "--format", "json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    envs = {c["check"]: c["environment"] for c in data["checks"]}
    assert envs == {"up": None, "down": None, "staged": "production"}, data["checks"]
    assert [i["environment"] for i in data["incidents"]] == [None], data["incidents"]
    assert all(c["environment"] in (None, "production") for c in data["slowest"]), data
    assert '"environment": ""' not in report.stdout
    # the same word as monitor status gives for the same check
    rows = status if isinstance(status, list) else next(iter(status.values()))
    assert any(r.get("environment", "x") is None for r in rows), status
