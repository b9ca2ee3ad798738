"""Journey: `logs scan`'s table once showed `error_logged  medium` with "critical" in its category
column, a contradiction beside the severity; the column is now "signal" and says "failure" for the
critical category, while `--format json` keeps its `category` key and value (CLI as a subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env

APACHE = "".join(
    f"[Sun Dec 04 04:47:{s:02d} 2005] [error] mod_jk child workerEnv in error state {s % 7}\n"
    f"[Sun Dec 04 04:49:{s:02d} 2005] [error] [client 10.0.0.{s}] Directory index forbidden "
    "by rule: /var/www/html/\n"
    for s in range(10)
)


def test_scan_table_says_signal_not_a_second_severity(tmp_path: Path) -> None:
    (tmp_path / "error_log").write_text(APACHE)
    data = prodshield(tmp_path, "logs", "scan", "error_log", "--no-store", "--format", "json")
    found = json.loads(data.stdout)["findings"]
    assert found and {(f["category"], f["severity"]) for f in found} == {("critical", "medium")}

    table = prodshield(tmp_path, "logs", "scan", "error_log", "--no-store", env=wide_env())
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    header = next(line for line in lines if " kind " in line)
    assert header.split()[:3] == ["signal", "kind", "severity"], table.stdout
    rows = [line.split() for line in lines if "error_logged" in line]
    assert rows and all(row[:3] == ["failure", "error_logged", "medium"] for row in rows), rows
    assert "critical" not in table.stdout.lower(), table.stdout
