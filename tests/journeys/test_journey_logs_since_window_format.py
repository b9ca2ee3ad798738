"""Journey: `logs scan --since` sets its window from the newest line of each file read in the
format the scan reads that file in. app.log opens with a few very long lines (a dumped request
body) and goes on as an nginx access log: the scan reads it as nginx (its first lines, read as
the scan reads them), so the window ends at its newest request, and Loghub's OpenSSH log of a
year before, next to it, is left out and said to be (it was the reverse: the window came from
auth.log, and a year of it was scanned as "the last 24 h")."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from support.cli import prodshield, shell_env

LOGHUB = Path("/work/shared/datasets/loghub-2k")


def test_since_window_from_the_format_the_scan_reads(tmp_path: Path) -> None:
    shutil.copy(LOGHUB / "OpenSSH" / "OpenSSH_2k.log", tmp_path / "auth.log")
    head = "".join(f"dump {i} " + "x" * 70_000 + "\n" for i in range(3))
    requests = "".join(
        f'10.0.0.{i % 9} - - [06/Dec/2026:10:{i % 60:02d}:00 +0000] "GET /x/{i} HTTP/1.1" 200 12'
        ' "-" "curl/8"\n'
        for i in range(2000)
    )
    (tmp_path / "app.log").write_text(head + requests)
    out = prodshield(
        tmp_path, "logs", "scan", "app.log", "auth.log", "--since", "24h", "--format", "json",
        "--no-store", env=shell_env(drop=("PRODSHIELD_",)),
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    scan = json.loads(out.stdout)
    assert scan["window"] == ["2026-12-06T10:00:00+00:00", "2026-12-06T10:59:00+00:00"], scan
    assert scan["stats"]["outside_window"] == 2000, scan["stats"]  # all of auth.log
