"""The log service (``prodshield.logs.service``) on real files and a real store: one finding per
line, one row per continuing finding, templates with hourly counts, lag, silent sources."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from prodshield.config import parse_config
from prodshield.logs.service import LogService
from prodshield.store import Store
from prodshield.store import tables as t
from support.logs import Fragile

CONFIG = """\
storage: sqlite:///unused.db
logs:
  window: 0.3s
  sources:
    - {{name: app, path: app.log, format: python{extra}}}
    - {{name: web, path: access.log, format: nginx}}
"""

ACCESS = (
    '203.0.113.7 - - [04/Dec/2026:10:00:{s:02d} +0000] "POST /api/checkout/{n} HTTP/1.1" '
    '{status} 12 "-" "curl/8" {rt}\n'
)


def _loaded(tmp_path: Path, extra: str = "") -> object:
    text = CONFIG.format(extra=extra)
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    return parse_config(text, name=str(path), env={}, fs_path=path)


@contextmanager
def running(service: LogService) -> Iterator[None]:
    stop = asyncio.Event()
    thread = threading.Thread(target=service._loop_sync, args=(stop,))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive()


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def findings(store: Store) -> list[dict[str, object]]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t.log_findings))]


def test_one_finding_per_line_one_row_while_it_goes_on_and_templates(
    store: Store, tmp_path: Path
) -> None:
    app, access = tmp_path / "app.log", tmp_path / "access.log"
    app.write_text(
        "2026-12-04 10:00:00,001 INFO app: started\n"
        "2026-12-04 10:00:01,002 CRITICAL app: could not connect to server: Connection refused\n"
    )
    access.write_text(
        "".join(ACCESS.format(s=i, n=1000 + i, status=500, rt="0.010") for i in range(8))
    )
    service = LogService(_loaded(tmp_path), store, window_s=0.3, poll_s=0.05)
    with running(service):
        wait_for(lambda: any(f["kind"] == "db_connection_failure" for f in findings(store)))
        # the failure goes on over several windows: the same row grows
        for i in range(3):
            with app.open("a") as fh:
                fh.write(
                    f"2026-12-04 10:00:1{i},000 CRITICAL app: could not connect to server: "
                    "Connection refused\n"
                )
            time.sleep(0.5)
        wait_for(
            lambda: any(
                f["kind"] == "db_connection_failure" and f["count"] == 4 for f in findings(store)
            )
        )
        wait_for(lambda: any(f["kind"] == "http_5xx_burst" for f in findings(store)))
    rows = findings(store)
    kinds = [f["kind"] for f in rows]
    assert kinds.count("db_connection_failure") == 1, kinds
    assert "error_logged" not in kinds, kinds  # the CRITICAL line and the 500s have their finding
    burst = next(f for f in rows if f["kind"] == "http_5xx_burst")
    assert burst["source"] == {"endpoint": "POST /api/checkout/:id"}
    assert "POST /api/checkout/:id" in str(burst["message"])
    assert all(f["message"] for f in rows), rows
    with store.connect() as conn:
        templates = conn.execute(select(t.log_templates)).all()
        counts = conn.execute(select(t.log_template_counts)).all()
    assert any("could not connect" in r.template for r in templates)
    by_id = {r.template_id: 0 for r in counts}
    for r in counts:
        by_id[r.template_id] += int(r._mapping["count"])
    assert sum(by_id.values()) == 2 + 3 + 8
    assert store.kv_get("logs", "baseline") is not None


def test_lag_is_reported_and_a_configured_silence_is_a_finding(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "app.log").write_text("2026-12-04 10:00:00,001 INFO app: started\n")
    (tmp_path / "access.log").write_text("")
    service = LogService(_loaded(tmp_path, ", silent_after: 1s"), store, window_s=0.3, poll_s=0.05)
    with running(service):
        wait_for(lambda: any(f["kind"] == "source_silent" for f in findings(store)))
        gauges = {name: samples for name, _, _, samples in service.gauges()}
    silent = next(f for f in findings(store) if f["kind"] == "source_silent")
    assert "log source app has written nothing" in str(silent["message"])
    assert "prodshield_log_follower_bytes_behind" in gauges
    assert all(value == 0.0 for _, value in gauges["prodshield_log_follower_bytes_behind"])


def test_a_follower_behind_degrades_readiness_and_a_volume_budget_is_a_finding(
    store: Store, tmp_path: Path
) -> None:
    text = CONFIG.format(extra=", max_lines_per_hour: 1000").replace(
        "  window: 0.3s\n", "  window: 0.3s\n  max_lag_bytes: 1MB\n"
    )
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    loaded = parse_config(text, name=str(path), env={}, fs_path=path)
    line = "2026-12-04 10:00:00,001 INFO app: request handled in 12 ms by worker 7\n"
    app = tmp_path / "app.log"
    app.write_text(line * (10 * 1024 * 1024 // len(line)))  # 10 MiB: more than one read
    (tmp_path / "access.log").write_text("")
    service = LogService(loaded, store, window_s=0.3, poll_s=0.05)
    service._miner = service._load_miner()
    service._resolve()
    assert service._poll_all() is True  # still behind after one read
    lag = service.lag()[str(app)]
    assert lag["bytes"] > 1_000_000
    problem = service.problems()[f"logs:lag:{app}"]
    assert "bytes and" in problem and "behind" in problem
    gauges = {name: dict((v[0], x) for v, x in samples) for name, _, _, samples in service.gauges()}
    assert gauges["prodshield_log_follower_bytes_behind"][str(app)] == lag["bytes"]
    while service._poll_all():
        pass
    assert service.lag()[str(app)]["bytes"] == 0
    assert not any(k.startswith("logs:lag:") for k in service.problems())
    service._flush()
    budget = next(f for f in findings(store) if f["kind"] == "log_volume_budget")
    assert "log source app grew past its volume budget this hour" in str(budget["message"])
    for f in service.followed.values():
        f.follower.close()


def test_auto_format_detected_from_a_first_line_is_detected_again(
    store: Store, tmp_path: Path
) -> None:
    """A followed file whose first poll has one ambiguous line: the format is decided again as
    lines come, so the access lines that follow are parsed as access lines (a 5xx burst)."""
    text = "storage: sqlite:///unused.db\nlogs:\n  sources: [{name: web, path: web.log}]\n"
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    loaded = parse_config(text, name=str(path), env={}, fs_path=path)
    web = tmp_path / "web.log"
    web.write_text("starting\n")
    service = LogService(loaded, store, window_s=0.3, poll_s=0.05)
    service._miner = service._load_miner()
    service._resolve()
    service._poll_all()
    web.write_text(
        "starting\n" + "".join(ACCESS.format(s=i, n=i, status=503, rt="0.010") for i in range(8))
    )
    service._poll_all()
    service._flush()
    assert any(f["kind"] == "http_5xx_burst" for f in findings(store)), findings(store)
    for f in service.followed.values():
        f.follower.close()


def test_the_same_finding_in_two_files_is_one_row(store: Store, tmp_path: Path) -> None:
    line = "2026-12-04 10:00:0{}, CRITICAL app: could not connect to server: Connection refused\n"
    text = (
        "storage: sqlite:///unused.db\nlogs:\n  sources:\n"
        "    - {name: a, path: a.log, format: python}\n"
        "    - {name: b, path: b.log, format: python}\n"
    )
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    loaded = parse_config(text, name=str(path), env={}, fs_path=path)
    (tmp_path / "a.log").write_text(line.format(1).replace(",", ",001"))
    (tmp_path / "b.log").write_text(
        line.format(2).replace(",", ",001") + line.format(3).replace(",", ",001")
    )
    service = LogService(loaded, store, window_s=0.3, poll_s=0.05)
    service._miner = service._load_miner()
    service._resolve()
    service._poll_all()
    service._flush()
    rows = [f for f in findings(store) if f["kind"] == "db_connection_failure"]
    assert len(rows) == 1 and rows[0]["count"] == 3, rows
    with (tmp_path / "a.log").open("a") as fh:
        fh.write(line.format(4).replace(",", ",001"))
    service._poll_all()
    service._flush()
    rows = [f for f in findings(store) if f["kind"] == "db_connection_failure"]
    assert len(rows) == 1 and rows[0]["count"] == 4, rows
    for f in service.followed.values():
        f.follower.close()


def test_a_reload_brings_new_rules_into_the_running_service(store: Store, tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text("2026-12-04 10:00:00,001 INFO app: card declined\n")
    (tmp_path / "access.log").write_text("")
    service = LogService(_loaded(tmp_path), store, window_s=0.3, poll_s=0.05)
    with running(service):
        wait_for(lambda: store.kv_get("logs", "baseline"))
        text = CONFIG.format(extra="") + (
            "  rules:\n    - {kind: payment_declined, pattern: 'card declined', severity: high}\n"
        )
        (tmp_path / "shield.yaml").write_text(text)
        service.reload(
            parse_config(
                text, name=str(tmp_path / "shield.yaml"), env={}, fs_path=tmp_path / "shield.yaml"
            )
        )
        time.sleep(1.0)
        with (tmp_path / "app.log").open("a") as fh:
            fh.write("2026-12-04 10:00:05,001 INFO app: card declined\n")
        wait_for(lambda: any(f["kind"] == "payment_declined" for f in findings(store)))


def test_a_line_that_makes_a_detector_raise_is_skipped_not_a_crash_loop(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "app.log").write_text(
        "2026-12-04 10:00:00,001 INFO app: started worker 1\n"
        "2026-12-04 10:00:01,001 INFO app: POISON\n"
        "2026-12-04 10:00:02,001 CRITICAL app: could not connect to server: Connection refused\n"
    )
    (tmp_path / "access.log").write_text("")
    service = LogService(_loaded(tmp_path), store, window_s=0.3, poll_s=0.05)
    service._miner = service._load_miner()
    service._collector._specific.append(Fragile())
    service._resolve()
    service._poll_all()
    service._flush()
    assert service.skipped_lines == 1
    rows = [f for f in findings(store) if f["kind"] == "db_connection_failure"]
    assert len(rows) == 1 and rows[0]["count"] == 1, rows
    with store.connect() as conn:
        counted = sum(int(r._mapping["count"]) for r in conn.execute(select(t.log_template_counts)))
    assert counted == 2  # the lines around it, each once
    for f in service.followed.values():
        f.follower.close()


def test_a_followed_file_read_as_raw_is_said_once_in_the_log(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "storage: sqlite:///unused.db\nlogs:\n  sources: [{name: odd, path: odd.log}]\n"
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    loaded = parse_config(text, name=str(path), env={}, fs_path=path)
    odd = tmp_path / "odd.log"
    odd.write_text("".join(f"@@ frame {i} ## widget spun {i} times\n" for i in range(60)))
    service = LogService(loaded, store, window_s=0.3, poll_s=0.05)
    service._miner = service._load_miner()
    service._resolve()
    with caplog.at_level(logging.WARNING, logger="prodshield"):
        service._poll_all()
        with odd.open("a") as fh:
            fh.write("".join(f"@@ frame {i} ## again\n" for i in range(60)))
        service._poll_all()
    said = [r.getMessage() for r in caplog.records if "no known layout" in r.getMessage()]
    assert said == [
        f"log source {odd}: no known layout: read as raw, no time or level; "
        "set format: in shield.yaml"
    ], said
    for f in service.followed.values():
        f.follower.close()


def test_files_a_glob_matched_are_let_go_once_gone_and_read(store: Store, tmp_path: Path) -> None:
    """A log rotated to ever-new names under a glob: each file gone (deleted, read to its end)
    stops being followed, with its descriptor, its /metrics series and its offset row; serve
    kept them all for as long as it ran (descriptors and series grew by one per file)."""
    text = "storage: sqlite:///unused.db\nlogs:\n  sources:\n    - {name: app, path: 'logs/*.log', format: raw}\n"
    path = tmp_path / "shield.yaml"
    path.write_text(text)
    loaded = parse_config(text, name=str(path), env={}, fs_path=path)
    (tmp_path / "logs").mkdir()
    service = LogService(loaded, store, window_s=0.3, poll_s=0.05)
    service._miner = service._load_miner()
    for n in range(30):
        current = tmp_path / "logs" / f"app-{n:04d}.log"
        current.write_text(f"line one of {n}\nline two of {n}\n")
        service._resolve()
        service._poll_all()
        service._flush()
        if n >= 2:
            (tmp_path / "logs" / f"app-{n - 2:04d}.log").unlink()
    service._resolve()
    assert sorted(service.followed) == [
        str(tmp_path / "logs" / f"app-{n:04d}.log") for n in (28, 29)
    ]
    assert service.files_let_go == 28
    series = service.gauges()[0][3]
    assert len(series) == 2, series
    with store.connect() as conn:
        assert len(conn.execute(select(t.log_offsets)).all()) == 2
    # the lines of every file were read before it was let go
    with store.connect() as conn:
        counted = sum(conn.execute(select(t.log_templates.c["count"])).scalars())
    assert counted == 60
    for f in service.followed.values():
        f.follower.close()
