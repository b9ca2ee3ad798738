"""Journey: a source that cannot be decoded (``x.gz`` that is no gzip) is not "no findings".
Every logs command that reads files exits 3 as docs/logs.md says when no source could be read,
saying why on stderr; one bad archive beside a good file is one error line and the good file's
findings; an archive cut short keeps the lines read before the cut."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from support.cli import prodshield, shell_env

LINE = "2026-12-07 04:10:00,000 ERROR app: payment service unavailable\n"
REASON = "bad.gz: Compressed file ended before the end-of-stream marker was reached"


def _env() -> dict[str, str]:
    return shell_env(drop=("PRODSHIELD_",), COLUMNS="120", NO_COLOR="1")


@pytest.mark.parametrize(
    "args",
    [
        ("parse",),
        ("templates",),
        ("templates", "--format", "json"),
        ("scan", "--no-store"),
        ("scan", "--no-store", "--format", "json"),
        ("digest", "--no-store"),
    ],
)
def test_no_readable_source_exits_3_and_says_why(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    out = prodshield(tmp_path, "logs", args[0], "bad.gz", *args[1:], env=_env())
    assert out.returncode == 3, (out.returncode, out.stdout, out.stderr)
    assert "no log source could be read" in out.stderr and REASON in out.stderr
    assert "no findings" not in out.stdout and "Traceback" not in out.stderr
    if args[0] in ("scan", "digest"):
        assert out.stderr.count("\n") == 1 and out.stdout == ""  # one line, and why


def test_a_bad_archive_beside_a_good_file_and_an_archive_cut_short(tmp_path: Path) -> None:
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (tmp_path / "app.log").write_text(LINE)
    both = prodshield(
        tmp_path, "logs", "scan", "bad.gz", "app.log", "--no-store", "--format", "json", env=_env()
    )
    assert both.returncode == 0, both.stderr
    assert f"error: {REASON}" in both.stderr
    data = json.loads(both.stdout)
    assert [f["kind"] for f in data["findings"]] == ["error_logged"]
    assert data["stats"]["files"] == 1 and data["stats"]["unreadable"] == [REASON]

    # a gzip cut short: the lines before the cut are read, the file counts as read
    whole = gzip.compress((LINE * 2000).encode())
    (tmp_path / "cut.gz").write_bytes(whole[: len(whole) - 20])
    cut = prodshield(
        tmp_path, "logs", "scan", "cut.gz", "--no-store", "--format", "json", env=_env()
    )
    assert cut.returncode == 0, cut.stderr
    stats = json.loads(cut.stdout)["stats"]
    assert stats["files"] == 1 and stats["lines"] > 0 and len(stats["unreadable"]) == 1
    assert "error: cut.gz:" in cut.stderr
