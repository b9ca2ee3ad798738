"""Journey: ``logs scan`` on lines several detectors recognise, as docs/logs.md (Detectors) says:
a user rule and a shipped rule both count a line, ``FATAL:  too many connections`` is both
``db_too_many_connections`` and ``crash`` (whose message says what it counted), and
``error_logged`` takes none of them."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, shell_env

APP = (
    "2026-12-04 20:00:01,000 ERROR shop.pay: could not connect to payments gateway: connection refused\n"
    "2026-12-04 20:00:02,000 ERROR shop.pay: could not connect to payments gateway: connection refused\n"
    '2026-12-04 20:00:03,000 ERROR shop.db: FATAL:  too many connections for role "shop"\n'
)


def test_lines_several_detectors_recognise(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(APP)
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "logs:\n  rules:\n"
        "    - {kind: payments_down, pattern: 'could not connect to payments gateway', severity: high}\n"
    )
    env = shell_env(drop=("PRODSHIELD_",))
    out = prodshield(tmp_path, "logs", "scan", "app.log", "--format", "json", "--no-store", env=env)
    assert out.returncode == 1, out.stderr
    found = {f["kind"]: f for f in json.loads(out.stdout)["findings"]}
    assert found["payments_down"]["count"] == 2
    assert found["db_connection_failure"]["count"] == 2
    assert found["db_too_many_connections"]["count"] == 1
    assert found["crash"]["message"] == "1 line: a crash or a fatal error"
    assert "error_logged" not in found

    docs = (Path(__file__).parents[2] / "docs" / "logs.md").read_text()
    assert "One line gives one finding" not in docs
    assert "one line can be in several findings" in docs
