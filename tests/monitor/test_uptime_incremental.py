"""The raw part of the uptime figures, kept incrementally by ``serve``'s cache, always equals a
full recomputation (a cache that reads everything once): across an hour the rollup finishes,
after results are deleted or pruned by retention, and after another process (``monitor once``)
writes to the same SQLite file. Real stores, both backends where the fixture gives them."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import delete

from prodshield.config.capabilities import RetentionConfig
from prodshield.monitor.aggregates import RAW_AUDIT, RAW_TTL, AggregateCache, Key
from prodshield.store import Store, open_store
from prodshield.store import tables as t
from prodshield.store.retention import prune
from prodshield.web.rollup import rollup_pending
from support.cli import prodshield, shell_env

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
KEYS: list[Key] = [("api", ""), ("web", "production")]


def _insert(store: Store, since: float, until: float, step: float = 60.0) -> None:
    rows = []
    for n, (check, env) in enumerate(KEYS):
        ts = since + n
        while ts < until:
            rows.append(
                {
                    "check_name": check,
                    "environment": env,
                    "ts": ts,
                    "ok": int(ts) % 7 != n,
                    "degraded": int(ts) % 11 == 0,
                    "maintenance": int(ts) % 13 == 0,
                    "response_time_ms": 10.0 + int(ts) % 5,
                }
            )
            ts += step
    with store.begin() as conn:
        conn.execute(t.check_results.insert(), rows)


def _agree(store: Store, cache: AggregateCache, now: float) -> None:
    """The cache's figures, bars and hourly series are those of a cache reading all at ``now``."""
    full = AggregateCache(store, background=False, clock=lambda: now)
    assert cache.summaries_for(KEYS) == full.summaries_for(KEYS)
    for key in KEYS:
        assert cache.daily([key], 90) == full.daily([key], 90)
        assert cache.daily_degraded([key], 90) == full.daily_degraded([key], 90)
        assert cache.hourly([key], 48) == full.hourly([key], 48)


def test_incremental_counts_follow_an_hour_the_rollup_finishes(store: Store) -> None:
    clock = [NOW + 1800]
    cache = AggregateCache(store, background=False, clock=lambda: clock[0])
    _insert(store, NOW - 7200, NOW + 1800)
    rollup_pending(store, now=NOW + 1800)
    _agree(store, cache, clock[0])
    reads = cache.raw.full_reads
    for step in range(1, 8):  # every 10 minutes, across 09:00, with the rollup each minute
        start = clock[0]
        clock[0] += 600
        _insert(store, start, clock[0])
        assert cache.summaries_for(KEYS)  # serve's refresh between two rollups
        rollup_pending(store, now=clock[0])
        cache.refresh(force=True)
        _agree(store, cache, clock[0])
        if step == 4:  # hour 09:00: 08:00 is rolled up for good and left to the aggregates
            assert cache.raw.start == NOW + 3600
    assert cache.raw.full_reads == reads  # only new results were read
    assert cache.summaries_for(KEYS)[("api", "")].count_24h > 0


def test_incremental_counts_follow_deleted_and_pruned_results(store: Store) -> None:
    clock = [NOW]
    cache = AggregateCache(store, background=False, clock=lambda: clock[0])
    _insert(store, NOW - 10 * 86400, NOW - 10 * 86400 + 7200)  # no rollup yet: all raw
    _insert(store, NOW - 3600, NOW)
    _agree(store, cache, clock[0])
    before = cache.summaries_for(KEYS)
    # a range inside the raw hours deleted (not by retention): seen at the next count
    r = t.check_results
    with store.begin() as conn:
        conn.execute(delete(r).where(r.c.ts >= NOW - 1800, r.c.ts < NOW - 900))
    clock[0] += RAW_AUDIT
    _agree(store, cache, clock[0])
    assert cache.summaries_for(KEYS) != before
    # retention rolls the old days up and deletes them: the raw hours start after them
    prune(store, RetentionConfig.model_validate({"raw_results": "7d"}), now=clock[0])
    clock[0] += RAW_TTL
    cache.refresh(force=True)
    _agree(store, cache, clock[0])
    assert cache.raw.start is not None and cache.raw.start > NOW - 7 * 86400
    _insert(store, clock[0] - RAW_TTL, clock[0])
    clock[0] += RAW_TTL
    _agree(store, cache, clock[0])


class _Target:
    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_incremental_counts_see_results_another_process_writes(tmp_path: Path) -> None:
    """``monitor once`` writes to the SQLite file ``serve``'s cache reads."""
    import time

    target = _Target()
    db = tmp_path / "store.db"
    (tmp_path / "shield.yaml").write_text(
        f"""
storage: "sqlite:///{db}"
checks:
  - name: api
    type: http
    url: "{target.url}"
    interval: 1h
    timeout: 2s
    conditions: ["[STATUS] == 200"]
"""
    )
    store = open_store(f"sqlite:///{db}")
    try:
        env = shell_env(drop=("PRODSHIELD_", "GITHUB_"))
        done = prodshield(tmp_path, "monitor", "once", "--format", "json", env=env)
        assert done.returncode == 1, done.stdout + done.stderr  # the target answers 503
        clock = [time.time()]
        cache = AggregateCache(store, background=False, clock=lambda: clock[0])
        first = cache.summaries_for([("api", "")])[("api", "")]
        assert (first.count_24h, first.uptime_24h) == (1, 0.0)
        for _ in range(2):
            done = prodshield(tmp_path, "monitor", "once", "--format", "json", env=env)
            assert done.returncode == 1, done.stdout + done.stderr
        clock[0] = time.time() + RAW_TTL
        reads = cache.raw.full_reads
        got = cache.summaries_for([("api", "")])[("api", "")]
        full = AggregateCache(store, background=False, clock=lambda: clock[0])
        assert got == full.summaries_for([("api", "")])[("api", "")]
        assert got.count_24h == 3 and cache.raw.full_reads == reads
        status = prodshield(tmp_path, "monitor", "status", "--format", "json", env=env)
        (row,) = json.loads(status.stdout)["checks"]
        assert row["uptime_24h"] == got.uptime_24h
    finally:
        store.close()
        target.close()
