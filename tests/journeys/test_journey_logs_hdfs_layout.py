"""Journey: Loghub's HDFS log (``081109 203615 148 INFO dfs.DataNode$PacketResponder: ...``,
Hadoop's ``yyMMdd HHmmss`` log4j layout) is read with its level and its time.

It was read as ``raw``: no level, no time, so ``logs scan --since 1h`` kept all 2,000 lines (the
window was ``[null, null]``) and an ERROR line was no ``error_logged``. The ``hdfs`` format is
detected from the first lines; the window now ends at the newest line and leaves the rest out.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

from support.cli import prodshield, shell_env

LOGHUB = Path("/work/shared/datasets/loghub-2k")
ERROR = (
    "081111 102018 26347 ERROR dfs.DataNode$DataXceiver: 10.250.9.207:50010:DataXceiver: "
    "java.io.IOException: Block blk_4343207286455274569 is valid, and cannot be written to.\n"
)


def _times(text: str) -> list[datetime]:
    return [datetime.strptime(line[:13], "%y%m%d %H%M%S") for line in text.splitlines()]


def test_hdfs_lines_have_level_and_time(tmp_path: Path) -> None:
    shutil.copy(LOGHUB / "HDFS" / "HDFS_2k.log", tmp_path / "hdfs.log")
    with (tmp_path / "hdfs.log").open("a") as fh:
        fh.write(ERROR)
    text = (tmp_path / "hdfs.log").read_text()
    env = shell_env(drop=("PRODSHIELD_",), TZ="UTC")

    parsed = prodshield(tmp_path, "logs", "parse", "hdfs.log", "--output", "jsonl", env=env)
    assert parsed.returncode == 0, parsed.stderr
    first = json.loads(parsed.stdout.splitlines()[0])
    assert first["timestamp"] == "2008-11-09T20:36:15+00:00", first
    assert first["level"] == "info" and first["message"].startswith("PacketResponder 1 for"), first
    assert first["fields"] == {"thread": "148", "logger": "dfs.DataNode$PacketResponder"}

    out = prodshield(
        tmp_path, "logs", "scan", "hdfs.log", "--since", "1h", "--format", "json", "--no-store",
        env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    scan = json.loads(out.stdout)
    newest = max(_times(text))
    inside = sum(1 for t in _times(text) if t >= newest - timedelta(hours=1))
    assert scan["window"][1] == "2008-11-11T10:20:18+00:00", scan["window"]
    assert scan["stats"]["events"] == inside and 0 < inside < 2001, (scan["stats"], inside)
    assert scan["stats"]["outside_window"] == 2001 - inside, scan["stats"]
    assert [(f["kind"], f["count"]) for f in scan["findings"]] == [("error_logged", 1)]
