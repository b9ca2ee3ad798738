"""Journey: ``logs scan`` on lines several rules recognise, as docs/logs.md (Detectors) says: one
line gives one finding, the most specific. A user rule takes its lines from the shipped packs
(the payment gateway's ``connection refused`` is not also a ``db_connection_failure``), a
specific shipped rule from a general one (``FATAL:  too many connections`` is
``db_too_many_connections``, not also a ``crash``), and ``error_logged`` takes none of them."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, shell_env

APP = (
    "2026-12-04 20:00:01,000 ERROR shop.pay: could not connect to payments gateway: connection refused\n"
    "2026-12-04 20:00:02,000 ERROR shop.pay: could not connect to payments gateway: connection refused\n"
    '2026-12-04 20:00:03,000 ERROR shop.db: FATAL:  too many connections for role "shop"\n'
    "2026-12-04 20:00:04,000 ERROR shop.db: could not connect to server: Connection refused\n"
    "2026-12-04 20:00:05,000 ERROR shop.worker: worker 3 was terminated by signal 11\n"
    "2026-12-04 20:00:06,000 ERROR shop.db: OperationalError: deadlock detected\n"
)


def test_one_line_gives_one_finding_the_most_specific(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(APP)
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "logs:\n  rules:\n"
        "    - {kind: payments_down, pattern: 'could not connect to payments gateway', severity: high}\n"
    )
    env = shell_env(drop=("PRODSHIELD_",))
    out = prodshield(tmp_path, "logs", "scan", "app.log", "--format", "json", "--no-store", env=env)
    assert out.returncode == 1, out.stderr
    counts = {f["kind"]: f["count"] for f in json.loads(out.stdout)["findings"]}
    assert counts == {
        "payments_down": 2,
        "db_too_many_connections": 1,
        "db_connection_failure": 1,
        "crash": 1,
        "deadlock": 1,  # not also a db_connection_failure for its OperationalError
    }
    assert sum(counts.values()) == APP.count("\n")  # six lines, six counts

    docs = (Path(__file__).parents[2] / "docs" / "logs.md").read_text()
    assert "One line gives one finding" in docs
