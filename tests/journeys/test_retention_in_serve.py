"""`prodshield serve` applies `retention:` by itself, on SQLite and PostgreSQL, and says how big
the store is on /metrics."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import Table, func, select

from prodshield.store import open_store
from prodshield.store import tables as t
from support.net import refused_port
from support.serve import start_with_token, stop_serve


def _count(url: str, table: Table) -> int:
    store = open_store(url)
    try:
        with store.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_serve_prunes_old_rows_on_its_own_and_reports_the_store_size(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    now = time.time()
    store = open_store(url)  # a store that has run for a while: 3 days of results, old outbox
    try:
        with store.begin() as conn:
            conn.execute(
                t.check_results.insert(),
                [
                    {
                        "check_name": "api",
                        "environment": "",
                        "ts": now - 3 * 86400 + i * 60.0,
                        "ok": i % 7 != 0,
                    }
                    for i in range(600)
                ],
            )
            conn.execute(
                t.outbox.insert(),
                [
                    {
                        "idempotency_key": f"k{i}",
                        "notifier": "gh",
                        "event_type": "test",
                        "payload": {},
                        "status": "sent",
                        "next_attempt_at": now - 3 * 86400,
                        "created_at": now - 3 * 86400,
                    }
                    for i in range(50)
                ],
            )
    finally:
        store.close()
    config = tmp_path / "shield.yaml"
    config.write_text(
        f"""
storage: "{url}"
retention: {{raw_results: 1d, outbox: 1d, every: 1s, batch: 50}}
checks:
  - {{name: api, type: tcp, host: 127.0.0.1, port: {refused_port()}, interval: 1h}}
"""
    )
    token = "retention-token-0123456789abcdef"
    served = start_with_token(config, token)
    proc, port = served.proc, served.port
    try:
        deadline = time.time() + 60
        while time.time() < deadline and _count(url, t.outbox) > 0:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.5)
        assert _count(url, t.outbox) == 0
        assert _count(url, t.check_results) <= 2  # the old results are gone, the new run stays
        store = open_store(url)
        try:
            with store.connect() as conn:
                rolled = conn.execute(select(func.sum(t.check_hourly.c.count))).scalar_one()
        finally:
            store.close()
        assert rolled >= 600  # rolled up into hourly aggregates before they were deleted
        metrics = ""
        while time.time() < deadline and "prodshield_store_bytes" not in metrics:
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(req, timeout=5) as r:
                metrics = r.read().decode()
            time.sleep(0.3)
        size = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("prodshield_store_bytes ")
        )
        assert size > 0
        assert 'prodshield_store_rows{table="check_results"}' in metrics
    finally:
        stop_serve(proc, timeout=20)
