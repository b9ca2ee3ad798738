"""Journey: ``logs scan`` names what a line is about, as a user reads it (docs/logs.md, Detectors).
nginx's ``connect() failed (111: Connection refused) while connecting to upstream`` is an
``upstream_failure`` (the app server behind the proxy), not a ``db_connection_failure``; a refusal
is the database's when the line says so (a driver, a database's port); an application line logged
at ``FATAL`` is a ``fatal_error``, a ``crash`` only when its text says the process died; and
PostgreSQL's own FATAL lines (its level, read by the postgres format) give what they gave."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, shell_env

NGINX_REFUSED = (
    "2026/12/06 10:00:00 [error] 123#123: *45 connect() failed (111: Connection refused) while "
    'connecting to upstream, client: 10.0.0.1, server: shop, request: "GET / HTTP/1.1", upstream: '
    '"http://127.0.0.1:8000/", host: "shop"\n'
)
# one file per line: the finding's file says which line gave it
LINES = {
    "nginx_error.log": (NGINX_REFUSED, ["upstream_failure"]),
    "haproxy.log": (
        "Dec  6 10:00:03 lb1 haproxy[5]: Server app/app1 is DOWN, reason: Layer4 connection "
        'problem, info: "Connection refused", check duration: 0ms.\n',
        ["upstream_failure"],
    ),
    "libpq.log": (
        "2026-12-06 10:00:08,000 ERROR shop.orders: psycopg2.OperationalError: connection to "
        'server at "db" (10.0.0.5), port 5432 failed: Connection refused\n',
        ["db_connection_failure"],
    ),
    "redis.log": (
        "2026-12-06 10:00:09,000 ERROR shop.cache: redis.exceptions.ConnectionError: Error 111 "
        "connecting to 127.0.0.1:6379. Connection refused.\n",
        ["db_connection_failure"],
    ),
    "gateway.log": (  # no database in it: no rule's (error_logged reports the error line)
        "2026-12-06 10:00:10,000 ERROR shop.pay: payment gateway: connection refused\n",
        ["error_logged"],
    ),
    "fatal.log": (
        "2026-12-06 10:00:11,000 ERROR shop.boot: FATAL config missing: /etc/shop/app.yaml\n",
        ["fatal_error"],
    ),
    "fatal_raw.log": ("FATAL config missing\n", ["fatal_error"]),
    "fatal_died.log": (
        "2026-12-06 10:00:12,000 ERROR shop.worker: FATAL worker 3 segfault at 0 ip 0 sp 0\n",
        ["crash"],
    ),
    "systemd.log": (
        "Dec  6 10:00:13 web1 systemd[1]: shop.service: Main process exited, code=killed, "
        "status=9/KILL\n",
        ["crash"],
    ),
    "postgresql.log": (
        '2026-12-06 10:00:14.118 UTC [8812] shop@orders FATAL:  database "x" does not exist\n'
        "2026-12-06 10:00:15.118 UTC [8813] shop@orders FATAL:  the database system is starting up\n"
        "2026-12-06 10:00:16.118 UTC [8814] shop@orders FATAL:  remaining connection slots are "
        "reserved for non-replication superuser connections\n"
        "2026-12-06 10:00:17.118 UTC [1] LOG:  server process (PID 8815) was terminated by "
        "signal 11: Segmentation fault\n",
        ["crash", "db_connection_failure", "db_too_many_connections", "error_logged"],
    ),
}


def test_each_line_gets_the_kind_a_reader_gives_it(tmp_path: Path) -> None:
    for name, (text, _) in LINES.items():
        (tmp_path / name).write_text(text)
    env = shell_env(drop=("PRODSHIELD_",))
    out = prodshield(tmp_path, "logs", "scan", *LINES, "--format", "json", "--no-store", env=env)
    assert out.returncode == 1, out.stderr  # critical findings
    kinds: dict[str, list[str]] = {name: [] for name in LINES}
    for f in json.loads(out.stdout)["findings"]:
        kinds[f["source"]["file"]].append(f["kind"])
    assert {name: sorted(k) for name, k in kinds.items()} == {
        name: want for name, (_, want) in LINES.items()
    }
    findings = json.loads(out.stdout)["findings"]
    upstream = next(f for f in findings if f["source"]["file"] == "nginx_error.log")
    assert upstream["severity"] == "high" and "upstream" in upstream["message"]
    fatal = next(f for f in findings if f["source"]["file"] == "fatal.log")
    assert fatal["severity"] == "critical" and "crash" not in fatal["message"]

    docs = (Path(__file__).parents[2] / "docs" / "logs.md").read_text()
    assert "`upstream_failure`" in docs and "`fatal_error`" in docs
