"""`logs scan` of a clean file says so in words, with how many lines it read, not an empty table."""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield, wide_env


def test_scan_without_findings_says_no_findings(tmp_path: Path) -> None:
    access = tmp_path / "access.log"
    access.write_text(
        "".join(
            f'10.0.0.{i} - - [06/Dec/2026:05:00:{i:02d} +0000] "GET /page/{i} HTTP/1.1" 200 512\n'
            for i in range(3)
        )
    )
    app = tmp_path / "app.log"
    app.write_text("service started\nready to accept connections\n")
    for path, lines in ((access, 3), (app, 2)):
        done = prodshield(tmp_path, "logs", "scan", str(path), "--no-store", env=wide_env())
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"no findings ({lines} lines scanned)\n"
        assert "0 findings" in done.stderr and "Traceback" not in done.stderr
