"""`logs templates` without FILE reads shield.yaml's `logs.sources`, as `logs scan` and `logs digest`
do (it stopped at "missing argument"): each source's files in its format or layout, and the same
error as `logs scan` when there is neither a FILE nor a configured source."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env

APP = (
    "2026-12-04 20:00:01,000 INFO shop: started worker 1\n"
    "2026-12-04 20:00:02,000 CRITICAL shop: could not connect to server: Connection refused\n"
    "2026-12-04 20:00:03,000 WARNING shop: card declined for order 4411\n"
    "2026-12-04 20:00:04,000 WARNING shop: card declined for order 4412\n"
)
ACCESS = (
    'ts=2026-12-04T20:00:01 ip=10.0.0.1 st=200 req="GET /api/items/1001"\n'
    'ts=2026-12-04T20:00:02 ip=10.0.0.2 st=200 req="GET /api/items/1002"\n'
    'ts=2026-12-04T20:00:03 ip=10.0.0.3 st=500 req="POST /api/checkout"\n'
)
CONFIG = (
    "storage: sqlite:///store.db\n"
    "logs:\n  sources:\n"
    "    - {name: app, path: logs/app.log, format: python}\n"
    "    - {name: web, path: logs/access.log,"
    " log_format: 'ts=$time_iso8601 ip=$remote_addr st=$status req=\"$request\"'}\n"
)


def _env() -> dict[str, str]:
    return wide_env()


def test_templates_without_file_reads_the_configured_sources(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text(APP)
    (tmp_path / "logs" / "access.log").write_text(ACCESS)
    (tmp_path / "shield.yaml").write_text(CONFIG)
    out = prodshield(tmp_path, "logs", "templates", "--format", "json", env=_env())
    assert out.returncode == 0, out.stderr
    found = {t["template"]: t["count"] for t in json.loads(out.stdout)["templates"]}
    # the python source's messages, and the access log read in its layout (its request only)
    assert found["card declined for order <*>"] == 2, found
    assert found["started worker <*>"] == 1, found
    assert found["GET /api/items/<*>"] == 2 and found["POST /api/checkout"] == 1, found
    assert "read 2 files, 7 lines, 7 events" in out.stderr
    table = prodshield(tmp_path, "logs", "templates", env=_env())
    assert table.returncode == 0, table.stderr
    assert "card declined for order <*>" in table.stdout and "5 templates, 7 events" in table.stdout
    # --save resumes from and saves to the configured store, as with FILE
    saved = prodshield(tmp_path, "logs", "templates", "--save", env=_env())
    assert saved.returncode == 0, saved.stderr
    assert (tmp_path / "store.db").is_file()


def test_templates_without_file_or_source_says_what_scan_says(tmp_path: Path) -> None:
    def both() -> tuple[str, str]:
        scan = prodshield(tmp_path, "logs", "scan", env=_env())
        templates = prodshield(tmp_path, "logs", "templates", env=_env())
        assert scan.returncode == templates.returncode == 2, (scan, templates)
        assert "missing argument" not in templates.stderr.lower()
        assert templates.stderr == scan.stderr
        return scan.stderr, templates.stderr

    assert "no config" in both()[0]  # no shield.yaml
    (tmp_path / "shield.yaml").write_text("storage: sqlite:///store.db\n")
    assert "no FILES given and shield.yaml has no logs.sources" in both()[0]
    (tmp_path / "shield.yaml").write_text("logs:\n  sources:\n    - {name: app, path: nope.log}\n")
    assert "no log file found for logs.sources (app: nope.log)" in both()[0]


def test_templates_help_names_the_default(tmp_path: Path) -> None:
    out = prodshield(tmp_path, "logs", "templates", "--help", env=_env())
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert "logs.sources" in text and "Default: logs.sources in shield.yaml" in text
