"""Journey: when the window leaves a file's events out, `logs digest` and `logs scan` say so.

`--since 24h` (the digest's default) is the last 24 hours before the newest line of all the files.
With an auth log from last month beside today's app log, the digest said `12 events: 0 critical,
...` and nothing else: the month-old file's brute force had vanished without a word (the JSON's
`stats.outside_window` alone counted it). The digest's summary line and scan's stderr summary now
end with `; N events outside the window left out (--since, --from)`.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env


def _files(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(
        "".join(f"2026-12-06 10:00:{i:02d},000 INFO shop: worker {i} started\n" for i in range(12))
    )
    (tmp_path / "auth.log").write_text(
        "".join(
            f"2026-11-01 07:51:{i:02d},000 WARNING sshd: Failed password for root from "
            f"203.0.113.9 port {50000 + i} ssh2\n"
            for i in range(30)
        )
    )


def test_the_digest_and_scan_say_what_the_window_left_out(tmp_path: Path) -> None:
    _files(tmp_path)
    env = wide_env()
    digest = prodshield(tmp_path, "logs", "digest", "app.log", "auth.log", "--no-store", env=env)
    assert digest.returncode == 0, digest.stderr
    head = digest.stdout.splitlines()[2]
    assert head.startswith("_12 events: "), head
    assert "30 events outside the window left out (--since, --from)" in head, head

    as_json = prodshield(
        tmp_path, "logs", "digest", "app.log", "auth.log", "--no-store", "--format", "json"
    )
    assert "30 events outside the window" in json.loads(as_json.stdout)["summary"]

    scan = prodshield(
        tmp_path, "logs", "scan", "app.log", "auth.log", "--since", "24h", "--no-store", env=env
    )
    assert scan.returncode == 0, scan.stderr
    assert (
        scan.stderr.strip()
        .splitlines()[-1]
        .endswith("; 30 events outside the window left out (--since, --from)")
    ), scan.stderr

    whole = prodshield(tmp_path, "logs", "scan", "app.log", "auth.log", "--no-store", env=env)
    assert "outside the window" not in whole.stderr, whole.stderr
