"""Dependencies failing under a running `prodshield serve`: the GitHub API down, a followed log file
deleted, the disk of the SQLite store full. The service keeps running, says what is wrong on
/readyz (and in its own log), and catches up when the dependency is back."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from support.crash_harness import CRITICAL, STEADY, flapping_target
from support.serve import bound_in_log, start_serve
from support.services import IN_CI
from support.standins.github import GitHubStandin

TOKEN = "ghp_" + "D" * 36
REPO = "acme/degraded"


@contextmanager
def small_disk(path: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of ``size`` at ``path`` (root only; the CI machine runs tests as root)."""
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        message = f"cannot mount a tmpfs: {done.stderr.strip()}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _readyz(port: int) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return dict(json.loads(r.read()))
    except urllib.error.HTTPError as exc:
        return {"status": f"http {exc.code}", "body": exc.read().decode(errors="replace")}
    except OSError as exc:
        return {"status": f"unreachable: {exc}"}


def _wait(what: str, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(proc: subprocess.Popen[str], log: Any) -> str:
    """SIGTERM the service, wait for it, return what it logged (the caller checks the code)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    return Path(log.name).read_text()


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return -1


@pytest.fixture
def steady_target() -> Iterator[None]:
    """The harness's target stays up (no incident: the only notification is the log's)."""
    STEADY.set()
    try:
        yield
    finally:
        STEADY.clear()


def test_serve_reports_failing_dependencies_and_catches_up(
    tmp_path: Path, steady_target: None
) -> None:
    with (
        small_disk(tmp_path / "disk", "32m") as disk,
        flapping_target() as target,
        GitHubStandin.in_thread(tokens=(TOKEN,)) as gh,
    ):
        gh.repo(REPO)
        db = disk / "state.db"
        log_file = tmp_path / "app.log"
        log_file.write_text("2026-11-26 10:00:00 INFO app started\n")
        cfg = tmp_path / "shield.yaml"
        cfg.write_text(f"""
storage: "sqlite:///{db}"
defaults: {{interval: 1s, timeout: 1s}}
environments:
  production: {{vars: {{base_url: "{target}"}}}}
checks:
  - {{name: api, type: http, url: "{{base_url}}/health", environments: [production]}}
notifiers:
  gh: {{type: github, repo: {REPO}, token: "${{GITHUB_TOKEN}}", api_url: "{gh.url}", backoff: 0.2}}
logs:
  window: 1s
  sources: [{{name: app, path: "{log_file}", format: raw}}]
serve: {{host: 127.0.0.1, port: 0}}
""")
        # GitHub is down before anything happens
        for method in ("GET", "POST", "PATCH"):
            gh.fail(method, r"^/repos/", 502, body={"message": "Server Error"}, times=10_000)
        err = open(tmp_path / "serve.log", "w")  # noqa: SIM115 (closed below)
        proc = start_serve(
            cfg,
            env={**os.environ, "GITHUB_TOKEN": TOKEN},
            stdout=err,
            stderr=subprocess.STDOUT,
        )
        try:
            port = bound_in_log(tmp_path / "serve.log", proc)
            _wait("the service", lambda: _readyz(port).get("status") in ("ready", "degraded"))

            # 1. GitHub API down: a critical log line's notification waits, /readyz says so
            with log_file.open("a") as fh:
                fh.write(f"2026-11-26 10:00:01 ERROR app {CRITICAL}\n")
            _wait(
                "/readyz to report the notifier",
                lambda: "notify:gh" in _readyz(port).get("problems", {}),
            )
            assert "502" in _readyz(port)["problems"]["notify:gh"]
            gh.script.clear()  # GitHub is back
            _wait("the notification to be delivered", lambda: len(gh.issues(REPO)) == 1)
            _wait(
                "the notifier problem to clear",
                lambda: "notify:gh" not in _readyz(port).get("problems", {}),
            )

            # 2. the followed log file is deleted, then comes back
            log_file.unlink()
            _wait(
                "/readyz to report the log source",
                lambda: any(k.startswith("logs:") for k in _readyz(port).get("problems", {})),
            )
            log_file.write_text(
                "".join(f"2026-11-26 10:01:{i:02d} INFO app line {i}\n" for i in range(20))
            )
            _wait(
                "the log problem to clear",
                lambda: not any(k.startswith("logs:") for k in _readyz(port).get("problems", {})),
            )

            # 3. the store's disk fills up: results cannot be written, the service goes on
            before = _count(db, "SELECT COUNT(*) FROM check_results")
            filler = disk / "filler"
            # fill what is left (the store may already have filled it: then open fails too)
            with contextlib.suppress(OSError), filler.open("wb") as fh:
                while True:
                    fh.write(b"\0" * 65536)
                    fh.flush()
            _wait(
                "/readyz to report the full disk",
                lambda: "monitor" in _readyz(port).get("problems", {}),
            )
            problem = _readyz(port)["problems"]["monitor"]
            assert "full" in problem.lower(), problem
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                assert r.status == 200
            assert proc.poll() is None
            time.sleep(3)  # results pile up in memory meanwhile
            filler.unlink(missing_ok=True)
            _wait(
                "the monitor problem to clear",
                lambda: "monitor" not in _readyz(port).get("problems", {}),
            )
            _wait(
                "the results kept in memory to be written",
                lambda: _count(db, "SELECT COUNT(*) FROM check_results") >= before + 4,
            )
            # the log follower stores on its own 1 s window: it may recover a moment after the
            # monitor (a loaded machine saw /readyz between the two)
            _wait("every problem to clear", lambda: _readyz(port)["status"] == "ready")
        finally:
            own_log = _stop(proc, err)
        assert proc.returncode == 0
        # the service said what went wrong, and when it recovered, in its own log
        assert "cannot store results" in own_log and "stored again" in own_log, own_log[-2000:]
        assert "deleted while followed" in own_log, own_log[-2000:]
        assert "Traceback" not in own_log, own_log[-3000:]
        assert len(gh.issues(REPO)) == 1  # delivered once, not once per retry


def test_serve_rides_out_a_postgresql_restart_under_load(
    tmp_path: Path, pg_url: str, steady_target: None
) -> None:
    """The store's PostgreSQL goes away (every connection cut, new ones refused) for a few
    seconds while 30 checks a second run: /readyz says the store is unavailable, the service
    keeps checking, and the results of the outage are written once the database is back."""
    import psycopg

    from support.chaos_proxy import ProxyThread

    proxy = ProxyThread()
    try:
        host, pport = proxy.create("pg", "127.0.0.1:5432")
        url = pg_url.replace("127.0.0.1:5432", f"{host}:{pport}")
        with flapping_target() as target:
            checks = "\n".join(
                f'  - {{name: c{i}, type: http, url: "{target}/c{i}"}}' for i in range(30)
            )
            cfg = tmp_path / "shield.yaml"
            cfg.write_text(f"""
storage: "{url}"
defaults: {{interval: 1s, timeout: 1s}}
checks:
{checks}
serve: {{host: 127.0.0.1, port: 0}}
""")
            out = open(tmp_path / "serve.log", "w")  # noqa: SIM115 (closed below)
            proc = start_serve(
                cfg,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

            def results(since: float = 0.0) -> int:
                with psycopg.connect(pg_url, autocommit=True) as conn:
                    row = conn.execute(
                        "SELECT COUNT(*) FROM check_results WHERE ts >= %s", (since,)
                    ).fetchone()
                    return int(row[0]) if row else 0

            try:
                port = bound_in_log(tmp_path / "serve.log", proc)
                _wait("the service", lambda: _readyz(port).get("status") == "ready")
                _wait("results", lambda: results() >= 60)
                down_at = time.time()
                status, _ = proxy.json("POST", "/proxies/pg", {"enabled": False})
                assert status == 200
                seen: set[str] = set()

                def unavailable() -> bool:
                    return any("store unavailable" in s for s in seen)

                # an outage of 5 s at least (its results are counted below); serve may take
                # longer to notice it on a loaded machine (a bound, not a timing)
                while time.time() < down_at + 5 or (
                    not unavailable() and time.time() < down_at + 60
                ):
                    seen.add(str(_readyz(port).get("body", _readyz(port).get("status"))))
                    time.sleep(0.3)
                up_at = time.time()
                assert unavailable(), seen
                assert proc.poll() is None
                status, _ = proxy.json("POST", "/proxies/pg", {"enabled": True})
                assert status == 200
                _wait("readiness after the restart", lambda: _readyz(port).get("status") == "ready")
                # the checks that ran while the database was away are stored now
                _wait(
                    "the outage's results",
                    lambda: results(down_at + 0.5) - results(up_at) >= 3 * 30,
                )
            finally:
                own_log = _stop(proc, out)
            assert proc.returncode == 0
            assert "cannot store results" in own_log and "stored again" in own_log, own_log[-2000:]
            assert "Traceback" not in own_log, own_log[-3000:]
    finally:
        proxy.close()
