"""A user scans a rotated access log (``access.log.1`` + ``access.log``, newest named first as
``access.log*`` expands) and two services' logs written side by side, on the line pipeline
(``--since``, ``--from``, layouts, shield.yaml sources): the windowed detectors see the events
in time order across the files, as one file holding the same lines gives them. Before, each file
was read whole after the other, and one file's 5xx answers spread over hours were counted as if
within 60 s ("5xx burst on GET /login: 20 within 60 s").

Through ``prodshield logs scan --format json`` as a subprocess on real files.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.cli import prodshield, wide_env

START = datetime(2026, 12, 5, tzinfo=UTC)


def _lines(offset_s: int = 0) -> list[str]:
    """600 requests, one every 40 s over 6 h 40 min; every tenth a 500 on GET /login (400 s
    apart: never two within 60 s)."""
    out = []
    for i in range(600):
        at = (START + timedelta(seconds=40 * i + offset_s)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        path, status = ("/login", 500) if i % 10 == 0 else (f"/api/items?id={i % 7}", 200)
        out.append(
            f'203.0.113.{i % 50} - - [{at}] "GET {path} HTTP/1.1" {status} 512 "-" "Mozilla/5.0"'
        )
    return out


def _login(tmp_path: Path, *args: str) -> tuple[str, dict[str, object]]:
    run = prodshield(
        tmp_path, "logs", "scan", *args, "--no-store", "--format", "json", env=wide_env()
    )
    assert run.returncode in (0, 1), run.stderr
    (found,) = [
        f for f in json.loads(run.stdout)["findings"] if f["source"].get("endpoint") == "GET /login"
    ]
    return found["kind"], found["details"]


def test_rotated_files_read_as_one(tmp_path: Path) -> None:
    lines = _lines()
    (tmp_path / "all.log").write_text("\n".join(lines) + "\n")
    (tmp_path / "access.log.1").write_text("\n".join(lines[:300]) + "\n")
    (tmp_path / "access.log").write_text("\n".join(lines[300:]) + "\n")
    one = _login(tmp_path, "all.log", "--since", "100d")
    assert one[0] == "error_rate" and one[1]["peak_in_window"] == 1, one
    for window in (("--since", "100d"), ("--from", "2026-12-01")):
        assert _login(tmp_path, "access.log", "access.log.1", *window) == one, window


def test_files_written_side_by_side_interleave(tmp_path: Path) -> None:
    # two servers behind one balancer: the same endpoint, 20 s apart, so at most 2 within 60 s
    (tmp_path / "web1.log").write_text("\n".join(_lines()) + "\n")
    (tmp_path / "web2.log").write_text("\n".join(_lines(offset_s=20)) + "\n")
    kind, details = _login(tmp_path, "web1.log", "web2.log", "--since", "100d")
    assert (kind, details["errors"], details["peak_in_window"]) == ("error_rate", 120, 2)
