"""A user gives `logs scan` / `logs digest` a window that ends before it starts (`--from
2026-12-07 --until 2026-12-06`, a typo in a CI step). It held no line, and the gate passed with
exit 0 and `no findings (12 lines scanned)`; it is now one `error:` line and exit 2 before any
work, as a bad `--since` is.

Through the CLI as a subprocess on a real file.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env


def test_inverted_window_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(
        "".join(f"2026-12-06 10:00:{i:02d},000 ERROR shop: payment failed\n" for i in range(12))
    )
    for command in ("scan", "digest"):
        for window in (
            ("--from", "2026-12-07", "--until", "2026-12-06"),
            ("--from", "2026-12-06T10:00+00:00", "--until", "2026-12-06T09:00+00:00"),
        ):
            run = prodshield(
                tmp_path, "logs", command, "app.log", "--no-store", *window, env=wide_env()
            )
            assert run.returncode == 2, (command, window, run.stdout, run.stderr)
            (line,) = run.stderr.strip().splitlines()
            assert line.startswith("error: --from ") and "is after --until" in line, line
            assert not run.stdout.strip(), run.stdout
    # one instant (from == until) is a window: the lines at it are read
    same = prodshield(
        tmp_path,
        "logs",
        "scan",
        "app.log",
        "--no-store",
        "--from",
        "2026-12-06T10:00:03",
        "--until",
        "2026-12-06T10:00:03",
        "--format",
        "json",
        env=wide_env(),
    )
    assert same.returncode in (0, 1), same.stderr
    assert json.loads(same.stdout)["stats"]["events"] == 1, same.stdout[-400:]
