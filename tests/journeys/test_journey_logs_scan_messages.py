"""A user runs ``prodshield logs scan`` on an access log and reads what each finding is about.

Through the CLI as a subprocess on a real file: a slow_request finding names its endpoint (method
and path, ids masked) as the 5xx finding does, in the table and in JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env


def _access_log(path: Path) -> None:
    lines = [
        f'192.0.2.1 - - [06/Dec/2026:10:02:{i:02d} +0000] "GET /api/orders/{1000 + i} HTTP/1.1" '
        f'{500 if i < 2 else 200} 12 "-" "Mozilla/5.0" {2.5 if i < 3 else 0.01}'
        for i in range(40)
    ]
    lines.append(
        '192.0.2.2 - - [06/Dec/2026:10:03:00 +0000] "POST /api/checkout HTTP/1.1" 200 12 "-" '
        '"Mozilla/5.0" 1.5'
    )
    path.write_text("\n".join(lines) + "\n")


def test_a_slow_request_finding_names_its_endpoint(tmp_path: Path) -> None:
    _access_log(tmp_path / "access.log")
    table = prodshield(tmp_path, "logs", "scan", "access.log", env=wide_env())
    assert table.returncode == 0, table.stderr
    assert "slow requests on GET /api/orders/:id: 3 of 40 requests over 1000 ms" in table.stdout
    assert "slow requests on POST /api/checkout: 1 of 1 request over 1000 ms" in table.stdout

    js = prodshield(tmp_path, "logs", "scan", "access.log", "--format", "json", env=wide_env())
    assert js.returncode == 0, js.stderr
    slow = {
        f["source"]["endpoint"]: f["message"]
        for f in json.loads(js.stdout)["findings"]
        if f["kind"] == "slow_request"
    }
    assert slow == {
        "GET /api/orders/:id": "slow requests on GET /api/orders/:id: 3 of 40 requests over 1000 ms",
        "POST /api/checkout": "slow requests on POST /api/checkout: 1 of 1 request over 1000 ms",
    }


def test_a_failed_login_without_an_address_says_whose_it_was(tmp_path: Path) -> None:
    """PostgreSQL's failed password names the user, not the client's address: the message says
    'for shop', not 'from ?', and a user name written like a format field stays text."""
    (tmp_path / "postgresql.log").write_text(
        '2026-12-06 10:00:01.123 UTC [811] shop@orders FATAL:  password authentication failed for user "shop"\n'
        '2026-12-06 10:00:02.123 UTC [812] x@orders FATAL:  password authentication failed for user "{ip.__class__}"\n'
    )
    js = prodshield(
        tmp_path, "logs", "scan", "postgresql.log", "--format", "json", "--no-store", env=wide_env()
    )
    assert js.returncode == 0, js.stderr
    (auth,) = [f for f in json.loads(js.stdout)["findings"] if f["kind"] == "auth_failure"]
    assert auth["message"] == "2 failed logins for shop, {ip.__class__}"
