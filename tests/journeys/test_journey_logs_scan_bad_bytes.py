"""Journey: `logs scan` on access logs with bad bytes finds what it finds and says what it skipped.

A production access log is hostile input: a request line in Latin-1 (a scanner sending raw
bytes), a block of binary garbage after a crash, a runaway line. Before, one byte that was not
UTF-8 in an nginx log ended `logs scan` (and `logs digest`, and serve's daily digest) with
`internal error: ComputeError: invalid utf8`, and the line pipeline's counts of binary, cut and
repaired lines were never printed. Now the scan completes, the brute force in the same file is
found, and the summary line names each kind of bad line, as `logs parse` does.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env


def _line(i: int, path: str = "/api/items", status: int = 200, ip: str = "10.0.0.7") -> bytes:
    return (
        f'{ip} - - [06/Dec/2026:04:{i // 60 % 60:02d}:{i % 60:02d} +0000] "GET {path} HTTP/1.1" '
        f'{status} 512 "-" "curl/8.5"\n'
    ).encode()


def test_scan_survives_bad_bytes_and_counts_them(tmp_path: Path) -> None:
    body = b"".join(_line(i) for i in range(300))
    body += b'203.0.113.9 - - [06/Dec/2026:04:05:00 +0000] "GET /caf\xe9 HTTP/1.1" 404 0 "-" "x"\n'
    body += b"".join(
        _line(i, "/login", 401, "198.51.100.23") for i in range(400, 430)
    )  # a brute force
    body += b"\x00\x01\x02\xff\xfe binary garbage \x00\n"
    body += b"A" * (2 * 1024 * 1024) + b"\n"
    body += b"".join(_line(i) for i in range(500, 520))
    (tmp_path / "access.log").write_bytes(body)

    table = prodshield(tmp_path, "logs", "scan", "access.log", env=wide_env())
    assert table.returncode in (0, 1), table.stderr
    assert "internal error" not in table.stderr and "Traceback" not in table.stderr
    summary = table.stderr.strip().splitlines()[-1]
    assert "1 line with invalid UTF-8 replaced" in summary, summary
    assert "1 binary line skipped" in summary, summary
    assert "1 over-long line cut" in summary, summary
    assert "brute_force" in table.stdout

    as_json = prodshield(tmp_path, "logs", "scan", "access.log", "--format", "json")
    assert as_json.returncode in (0, 1), as_json.stderr
    stats = json.loads(as_json.stdout)["stats"]
    assert (stats["invalid_utf8"], stats["binary"], stats["cut"]) == (1, 1, 1)

    digest = prodshield(tmp_path, "logs", "digest", "access.log", "--format", "markdown")
    assert digest.returncode == 0, digest.stderr
    assert "198.51.100.23" in digest.stdout
