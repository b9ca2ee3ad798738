"""A user scans an access log in which an endpoint with few requests fails every time.

Through ``prodshield logs scan --format json`` as a subprocess on a real file. Under
``error_rate_min_requests`` (20) an endpoint's 5xx answers are an ``http_5xx`` finding; its
severity follows the failures (docs/logs.md, Detectors): every request failed, at least
``http_5xx_burst`` (5) of them: high; at least 5 failed and over ``error_rate`` of its requests:
medium; fewer failures: low. The failures are minutes apart, so none is a burst.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env


def _access_log(path: Path) -> None:
    events = []  # (minute, path, status)
    events += [(2 * i, f"/api/orders/{1000 + i}", 500) for i in range(8)]  # 8 of 8
    events += [(2 * i + 1, "/api/cart", 503 if i < 6 else 200) for i in range(10)]  # 6 of 10
    events += [(3 * i, "/api/search", 500) for i in range(2)]  # 2 of 2
    lines = [
        f'192.0.2.1 - - [06/Dec/2026:10:{minute:02d}:00 +0000] "GET {p} HTTP/1.1" {status} 12 "-" '
        f'"Mozilla/5.0" 0.020'
        for minute, p, status in sorted(events)
    ]
    path.write_text("\n".join(lines) + "\n")


def test_few_requests_that_all_fail_are_not_low(tmp_path: Path) -> None:
    _access_log(tmp_path / "access.log")
    js = prodshield(tmp_path, "logs", "scan", "access.log", "--format", "json", env=wide_env())
    assert js.returncode in (0, 1), js.stderr
    found = {
        f["source"]["endpoint"]: (f["kind"], f["severity"], f["count"])
        for f in json.loads(js.stdout)["findings"]
        if f["kind"].startswith(("http_5xx", "error_rate"))
    }
    assert found == {
        "GET /api/orders/:id": ("http_5xx", "high", 8),
        "GET /api/cart": ("http_5xx", "medium", 6),
        "GET /api/search": ("http_5xx", "low", 2),
    }
