"""``prodshield logs parse`` and ``logs templates`` through a real subprocess."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

NGINX = [
    f'203.0.113.{i} - - [12/Mar/2024:10:15:{i:02d} +0000] "GET /api/orders/{i} HTTP/1.1" {200 if i % 5 else 503} {100 + i} "-" "curl/8" 0.0{i % 10}1'
    for i in range(30)
]


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "logs", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def test_parse_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "access.log.gz"
    path.write_bytes(gzip.compress(("\n".join(NGINX) + "\n").encode()))
    proc = _run("parse", str(path), "--output", "jsonl")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(rows) == 30
    first = rows[0]
    for key in ("line", "timestamp", "level", "template_id", "template", "params", "message"):
        assert key in first
    assert first["timestamp"] == "2024-03-12T10:15:00+00:00"
    assert rows[5]["level"] == "error" and rows[5]["fields"]["status"] == 503
    assert rows[-1]["template"] == "GET /api/orders/<*> HTTP/1.1", rows[-1]
    assert b"read 1 file, 30 lines" in proc.stderr


def test_templates_json_from_stdin_and_bad_format() -> None:
    proc = _run(
        "templates",
        "-",
        "--log-format",
        "nginx",
        "--format",
        "json",
        "--top",
        "1",
        stdin=("\n".join(NGINX) + "\n").encode(),
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["total"] == 1 and data["templates"][0]["count"] == 30
    assert data["templates"][0]["first_seen"].startswith("2024-03-12T10:15:00")
    bad = _run("templates", "-", "--log-format", "bogus", stdin=b"x\n")
    assert bad.returncode == 2 and b"unknown log format" in bad.stderr
    assert b"Traceback" not in bad.stderr


def test_missing_file_is_one_line_error(tmp_path: Path) -> None:
    proc = _run("templates", str(tmp_path / "none.log"))
    assert proc.returncode == 2  # a usage error, as `logs scan` says it
    assert proc.stderr.decode().strip() == f"error: {tmp_path / 'none.log'}: no such file"


def test_templates_and_scan_agree_on_a_glob_that_matches_no_file(tmp_path: Path) -> None:
    """`logs templates` exited 3 (an internal error) where `logs scan` exits 2."""
    (tmp_path / "x1.log").write_text("a line\n")  # not matched by the glob
    pattern = str(tmp_path / "x[2]*.log")
    for command in ("templates", "scan"):
        proc = _run(command, pattern)
        assert proc.returncode == 2, (command, proc.stderr)
        assert proc.stderr.decode().strip() == f"error: {pattern}: no file matches", proc.stderr
        assert proc.stdout == b""


def test_templates_save_keeps_ids_and_counts_across_runs(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    config.write_text(f"version: 1\nstorage: sqlite:///{tmp_path / 'state.db'}\n")
    first = tmp_path / "day1.log"
    second = tmp_path / "day2.log"
    first.write_text("\n".join(NGINX[:10]) + "\n")
    second.write_text("\n".join(NGINX[10:]) + "\n")
    runs = []
    for path in (first, second):
        proc = _run("templates", str(path), "--save", "--format", "json", "-c", str(config))
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout)["templates"])
    assert runs[0][0]["id"] == runs[1][0]["id"]
    assert runs[0][0]["count"] == 10 and runs[1][0]["count"] == 30


def test_an_unreadable_path_with_brackets_is_one_error_line(tmp_path: Path) -> None:
    """'[/x]' in a path was read as console markup: an internal error instead of the path."""
    missing = str(tmp_path / "[/x]nope.log")
    done = _run("templates", missing)
    err = done.stderr.decode()
    assert "internal error" not in err and f"error: {missing}" in err, err
