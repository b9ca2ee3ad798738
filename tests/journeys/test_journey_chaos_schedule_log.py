"""serve's log for a scheduled experiment whose file is missing is one readable line, not a
Python dict (seen: ``scheduled experiment broken-file: failed: {'problems': ['missing.json: no
such file']}``)."""

from __future__ import annotations

from pathlib import Path

from support.serve import read_until, start_serve, stop_serve, write_config


def test_a_missing_experiment_file_logs_one_readable_line(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        0,
        "chaos:\n  experiments:\n"
        '    - {name: broken-file, file: missing.json, schedule: "* * * * * *"}\n',
    )
    serve = start_serve(config, cwd=tmp_path)
    try:
        found, _ = read_until(
            serve, r"^.*scheduled experiment broken-file: .*$", stream="stderr", timeout=60
        )
    finally:
        stop_serve(serve)
    line = found.group(0)
    assert line.endswith(
        f"scheduled experiment broken-file: failed: {tmp_path}/missing.json: no such file"
    )
    assert "{" not in line and "[" not in line
