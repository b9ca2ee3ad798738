"""``logs scan``/``logs digest`` store their findings through the log capability's writer (the
one ``serve`` uses), with the service and environment of their source; ``db merge`` copies them
(and deploys, audit runs) into another store once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from prodshield.store import open_store
from prodshield.store import tables as t

BURST = "".join(
    f'203.0.113.9 - - [04/Dec/2026:06:20:{s:02d} +0000] "POST /api/checkout HTTP/1.1" 502 0 "-" "shop"\n'
    for s in range(12)
)
APP = "2026-12-04 06:20:00,000 CRITICAL db: could not connect to server: Connection refused\n"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODSHIELD_")}
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env={**env, "NO_COLOR": "1", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=180,
    )


def _findings(url: str) -> list[dict[str, Any]]:
    with open_store(url) as store, store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t.log_findings))]


def test_scan_stores_its_findings_once_with_their_service(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "access.log").write_text(BURST)
    (tmp_path / "logs" / "app.log").write_text(APP)
    (tmp_path / "shield.yaml").write_text(
        "version: 1\n"
        "storage: sqlite:///state.db\n"
        "environments: {production: {}}\n"
        "logs:\n"
        "  sources:\n"
        "    - {name: edge, service: shop, environment: production, path: logs/access.log}\n"
        "    - {name: orders, path: logs/app.log}\n"
    )
    url = f"sqlite:///{tmp_path / 'state.db'}"
    for _ in range(2):  # the same run again updates its rows, never doubles their counts
        done = _cli(tmp_path, "logs", "scan", "--format", "json")
        assert done.returncode == 1, done.stderr  # a critical finding
        assert "not stored" not in done.stderr
    rows = {r["kind"]: r for r in _findings(url)}
    burst = rows["http_5xx_burst"]
    assert burst["count"] == 12 and "/api/checkout" in burst["message"]
    assert len([r for r in _findings(url) if r["kind"] == "http_5xx_burst"]) == 1
    # two services were read: the endpoint's finding names no file, so no service is claimed
    assert "service" not in burst["details"]
    db = rows["db_connection_failure"]
    assert db["details"]["service"] == "orders" and "environment" not in db["details"]
    with open_store(url) as store:
        last = store.kv_get("logs", "last_scan")
    assert last["files"] == 2 and last["services"] == ["orders"]

    # one file of one source: every finding is that source's service and environment
    done = _cli(tmp_path, "logs", "digest", "logs/access.log", "--output", "d.md")
    assert done.returncode == 0, done.stderr
    newest = max(
        (r for r in _findings(url) if r["kind"] == "http_5xx_burst"),
        key=lambda r: r["updated_at"],
    )
    assert newest["details"]["service"] == "shop"
    assert newest["details"]["environment"] == "production"


def test_no_store_prints_the_findings_and_writes_nothing(tmp_path: Path) -> None:
    """``--no-store``: the same output and exit code, and no store is opened (no file made)."""
    (tmp_path / "access.log").write_text(BURST)
    (tmp_path / "app.log").write_text(APP)
    (tmp_path / "shield.yaml").write_text("version: 1\nstorage: sqlite:///state.db\n")
    done = _cli(tmp_path, "logs", "scan", "access.log", "app.log", "--format", "json", "--no-store")
    assert done.returncode == 1, done.stderr  # the critical finding still fails the run
    assert '"http_5xx_burst"' in done.stdout and '"db_connection_failure"' in done.stdout
    done = _cli(tmp_path, "logs", "digest", "access.log", "--no-store", "--output", "d.md")
    assert done.returncode == 0, done.stderr
    assert "/api/checkout" in (tmp_path / "d.md").read_text()
    assert not (tmp_path / "state.db").exists()
    # without the flag the same run stores them
    done = _cli(tmp_path, "logs", "scan", "access.log", "--format", "json")
    assert done.returncode == 0, done.stderr
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert [r["kind"] for r in _findings(url)] == ["http_5xx_burst"]


def test_a_store_that_refuses_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    (tmp_path / "access.log").write_text(BURST)
    (tmp_path / "shield.yaml").write_text(
        "version: 1\nstorage: postgresql://prodshield@127.0.0.1:1/prodshield\n"
    )
    done = _cli(tmp_path, "logs", "scan", "access.log", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert '"http_5xx_burst"' in done.stdout
    (warning,) = [line for line in done.stderr.splitlines() if "not stored" in line]
    assert warning.startswith("warning: findings not stored:")


def test_db_merge_copies_each_record_once(tmp_path: Path) -> None:
    (tmp_path / "access.log").write_text(BURST)
    (tmp_path / "settings.py").write_text("DEBUG = True\n")
    (tmp_path / "other.yaml").write_text("version: 1\nstorage: sqlite:///other.db\n")
    (tmp_path / "shield.yaml").write_text("version: 1\nstorage: sqlite:///mine.db\n")
    for args in (
        ("deploy", "mark", "--version", "v42", "--env", "production"),
        ("logs", "scan", "access.log"),
        ("audit", "settings.py"),
    ):
        done = _cli(tmp_path, *args, "-c", "other.yaml")
        assert done.returncode in (0, 1), (args, done.stderr)
    first = _cli(tmp_path, "db", "merge", "other.db", "missing.db")
    assert first.returncode == 0, first.stderr
    assert "other.db: merged 1 deploy marker, 1 audit run" in first.stdout, first.stdout
    assert "1 log finding, the last log scan" in first.stdout
    assert "missing.db: no such store yet; skipped" in first.stdout
    again = _cli(tmp_path, "db", "merge", "other.db")
    assert "merged 0 deploy markers, 0 audit runs (0 findings), 0 log findings" in again.stdout
    mine = f"sqlite:///{tmp_path / 'mine.db'}"
    with open_store(mine) as store, store.connect() as conn:
        assert [r.version for r in conn.execute(select(t.deploys))] == ["v42"]
        (run,) = conn.execute(select(t.audit_runs)).all()
        paths = {r.path for r in conn.execute(select(t.audit_findings))}
        assert "settings.py" in {Path(p).name for p in paths if p}
        assert all(r.run_id == run.id for r in conn.execute(select(t.audit_findings.c.run_id)))
    assert len(_findings(mine)) == 1


def test_a_finding_without_timestamps_is_written_again_only_when_it_changes(
    tmp_path: Path,
) -> None:
    """Lines without a timestamp: a window where the finding did not grow leaves its row as it
    was (last seen stays when it was last seen); a window where it grew moves last seen."""
    from prodshield.logs.findings import LogFinding
    from prodshield.logs.record import store_findings

    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    finding = LogFinding("security", "auth_failure", "medium", source={"ip": "203.0.113.9"})
    finding.add(None, "Failed password for root from 203.0.113.9")
    finding.message = "1 failed login from 203.0.113.9"
    rows: dict[str, Any] = {}

    def stored() -> tuple[int, float, float]:
        with store.begin() as conn:
            row = conn.execute(
                select(
                    t.log_findings.c["count"],
                    t.log_findings.c.last_seen,
                    t.log_findings.c.updated_at,
                )
            ).one()
        return int(row[0]), float(row[1]), float(row[2])

    with store.begin() as conn:
        assert len(store_findings(conn, [finding], rows, 1000.0)) == 1
    assert stored() == (1, 1000.0, 1000.0)
    with store.begin() as conn:
        assert store_findings(conn, [finding], rows, 1030.0) == []
    assert stored() == (1, 1000.0, 1000.0)
    finding.add(None, "Failed password for root from 203.0.113.9")
    with store.begin() as conn:
        assert len(store_findings(conn, [finding], rows, 1060.0)) == 1
    assert stored() == (2, 1060.0, 1060.0)
    store.close()


def test_a_window_s_new_rows_are_the_ones_its_next_window_grows(store: Any) -> None:
    """Thousands of new findings in one window (every brute-forcer's IP) are inserted without
    asking for their ids; the next window adds to each finding's own row (its id looked up then,
    for the rows that grew only), on both backends, with rows of an earlier window beside them."""
    from prodshield.logs.findings import LogFinding
    from prodshield.logs.record import store_findings

    def finding(i: int) -> LogFinding:
        f = LogFinding(
            "security", "auth_failure", "medium", source={"ip": f"198.51.{i // 250}.{i % 250}"}
        )
        f.add(None, f"Failed password for root from 198.51.{i // 250}.{i % 250}", n=i + 1)
        f.message = f"{i + 1} failed logins"
        return f

    rows: dict[str, Any] = {}
    early = [finding(i) for i in range(3)]
    with store.begin() as conn:
        store_findings(conn, early, rows, 1000.0)
    findings = early + [finding(i) for i in range(3, 1203)]
    with store.begin() as conn:  # 1,200 new rows, 3 known ones
        store_findings(conn, findings, rows, 1030.0)
    for f in findings[::7]:
        f.add(None, None, n=1000)
    with store.begin() as conn:
        store_findings(conn, findings, rows, 1060.0)
    with store.connect() as conn:
        stored = {
            r.source["ip"]: (r.id, int(r._mapping["count"]))
            for r in conn.execute(select(t.log_findings))
        }
    assert len(stored) == len(findings) == len({i for i, _ in stored.values()})
    for f in findings:
        assert stored[f.source["ip"]][1] == f.count, f.source
    grown = {f.fingerprint for f in findings[::7]}
    for f in findings:
        row = rows[f.fingerprint]
        if f.fingerprint in grown:
            assert row.id == stored[f.source["ip"]][0]
        else:  # never updated: its id was never needed
            assert (row.id, row.created) == (0, 1000.0 if f in early else 1030.0)
