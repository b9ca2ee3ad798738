"""A user scans a Node service's log written by pino (or bunyan): levels are numbers (10 trace,
20 debug, 30 info, 40 warn, 50 error, 60 fatal). They were read as no level, so a file of errors
and fatals passed `logs scan` with "no findings"; a level written as a letter or an abbreviation
(`"lvl":"E"`, Serilog's `WRN`) passed through raw (`e`). Both are now read as their level, and a
level such as `"²"` (a digit that is not 0-9) is no traceback.

Through `prodshield logs parse` and `logs scan` as subprocesses on a real file.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env

T0 = 1796637600000  # 2026-12-07T10:00:00Z in ms


def test_pino_levels_and_abbreviations(tmp_path: Path) -> None:
    lines = [
        {"level": level, "time": T0 + i, "pid": 1, "hostname": "h", "msg": f"pino {level}"}
        for i, level in enumerate((10, 20, 30, 40, 50, 60))
    ]
    lines += [
        {"time": T0 + 10, "lvl": "E", "msg": "letter"},
        {"time": T0 + 11, "level": "WRN", "msg": "serilog"},
        {"time": T0 + 12, "level": "²", "msg": "superscript"},
    ]
    (tmp_path / "pino.log").write_text("".join(json.dumps(line) + "\n" for line in lines))
    parsed = prodshield(
        tmp_path,
        "logs",
        "parse",
        "pino.log",
        "--log-format",
        "json",
        "--output",
        "jsonl",
        env=wide_env(),
    )
    assert parsed.returncode == 0, parsed.stderr
    levels = [json.loads(line)["level"] for line in parsed.stdout.splitlines()]
    assert levels == [
        "debug",
        "debug",
        "info",
        "warning",
        "error",
        "fatal",
        "error",
        "warning",
        "²",
    ]

    errors = "".join(
        json.dumps({"level": 50 + 10 * (i % 2), "time": T0 + i, "msg": "db connection lost"}) + "\n"
        for i in range(10)
    )
    (tmp_path / "errors.log").write_text(errors)
    scan = prodshield(
        tmp_path, "logs", "scan", "errors.log", "--no-store", "--format", "json", env=wide_env()
    )
    assert scan.returncode == 1, scan.stderr  # a fatal is a critical finding: the gate fails
    kinds = {f["kind"]: f["count"] for f in json.loads(scan.stdout)["findings"]}
    assert kinds.get("fatal_error") == 5 and kinds.get("error_logged") == 5, kinds
