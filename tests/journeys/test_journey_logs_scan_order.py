"""Journey: `logs scan` on Loghub's Apache and Linux logs lists the worst findings first (the
Linux brute-forcers, high, before Apache's `error_logged`, medium), then the most recently seen,
as the dashboard does, on a narrow terminal (no category column) as on a wide one."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

from support.cli import prodshield, shell_env

LOGHUB = Path("/work/shared/datasets/loghub-2k")


def _severities(out: str) -> list[str]:
    """The severity column, row by row (a wrapped message's lines have none)."""
    lines = out.splitlines()
    header = next(line for line in lines if " severity " in line)
    at = header.index(" severity ") + 1
    below = lines[lines.index(header) + 2 :]
    return [line[at:].split()[0] for line in below if line[at : at + 1].strip()]


def test_scan_lists_worst_first_at_any_width(tmp_path: Path) -> None:
    for name in ("Apache/Apache_2k.log", "Linux/Linux_2k.log"):
        shutil.copy(LOGHUB / name, tmp_path)
    env = shell_env(drop=("PRODSHIELD_",), NO_COLOR="1")
    files = ("Apache_2k.log", "Linux_2k.log")
    found = json.loads(
        prodshield(
            tmp_path, "logs", "scan", *files, "--no-store", "--format", "json", env=env
        ).stdout
    )["findings"]
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    assert {f["severity"] for f in found} >= {"high", "medium"}

    def seen(f: dict[str, str]) -> float:
        return datetime.fromisoformat(f["last_seen"]).timestamp() if f["last_seen"] else -1e18

    keys = [(rank[f["severity"]], -seen(f)) for f in found]
    assert keys == sorted(keys), [(f["kind"], f["severity"], f["last_seen"]) for f in found]
    for columns in ("80", "140"):
        out = prodshield(
            tmp_path, "logs", "scan", *files, "--no-store", env={**env, "COLUMNS": columns}
        )
        severities = _severities(out.stdout)
        assert severities and severities == sorted(severities, key=rank.__getitem__), out.stdout
        assert severities[0] == "high", out.stdout
