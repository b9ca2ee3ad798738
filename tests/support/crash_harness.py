"""The crash loop: ``prodshield serve`` killed with SIGKILL at random points, again and again.

While the service runs it checks a target that goes down and up on a timer (incidents open and
close, GitHub issues are created, commented and closed through the outbox), follows a log file
that a writer keeps appending to (with critical lines the detectors turn into findings and
notifications), and delivers notifications to the GitHub stand-in. Between restarts nothing is
reset. A second phase kills ``prodshield db upgrade`` on fresh stores while it migrates.

After the last restart the service catches up, then the store and the stand-in are audited:

- log lines: the offset store says every written line was consumed, and the critical findings
  count every critical line exactly once (a line read twice would count twice, one lost would not
  count);
- notifications: no outbox row left unsent, no event marker twice in GitHub (a duplicate issue or
  comment), no subject with two issues;
- incidents: at most one open incident per check; the database passes its integrity check;
- migrations: every killed upgrade is finished by the next one and leaves a usable store.

Used by ``tests/web/test_crash_loop.py`` (a few kills, in CI) and ``benchmarks/crashloop.py`` (50+).
"""

from __future__ import annotations

import http.server
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.net import http_server
from support.serve import answers
from support.standins.github import GitHubStandin
from support.standins.periodic_target import answer_health

TOKEN = "ghp_" + "C" * 36
REPO = "acme/crash"
CRITICAL = "FATAL could not connect to server: Connection refused"
PERIOD_S = 5.0  # the target is down for PERIOD_S, then up for PERIOD_S
STEADY = threading.Event()  # set: the target stays up (the catch-up phase)


@dataclass
class CrashReport:
    kills: int = 0
    migration_kills: int = 0
    lines_written: int = 0
    lines_consumed: int = 0
    critical_written: int = 0
    critical_counted: int = 0
    incidents: int = 0
    open_incidents_max: int = 0
    issues: int = 0
    outbox_rows: int = 0
    outbox_unsent: int = 0
    duplicate_events: int = 0
    duplicate_subjects: int = 0
    integrity: str = ""
    migrations_ok: int = 0
    elapsed_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Target(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        answer_health(self, down=not STEADY.is_set() and int(time.time() / PERIOD_S) % 2 == 1)


@contextmanager
def flapping_target() -> Iterator[str]:
    with http_server(_Target) as port:
        yield f"http://127.0.0.1:{port}"


class _Writer(threading.Thread):
    """Appends log lines (one critical line in ten) until stopped; counts what it wrote."""

    def __init__(self, path: Path, rate: float) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.rate = rate
        self.lines = 0
        self.critical = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            while not self.halt.is_set():
                for _ in range(10):
                    self.lines += 1
                    if self.lines % 10 == 0:
                        self.critical += 1
                        fh.write(f"2026-11-26 10:00:00 ERROR app {CRITICAL} seq={self.lines}\n")
                    else:
                        fh.write(f"2026-11-26 10:00:00 INFO app GET /orders/{self.lines} 200\n")
                fh.flush()
                time.sleep(10 / self.rate)


def _config(workdir: Path, db: Path, target: str, api: str, port: int) -> Path:
    cfg = workdir / "shield.yaml"
    cfg.write_text(f"""
storage: "sqlite:///{db}"
defaults: {{interval: 1s, timeout: 1s, failure_threshold: 2, success_threshold: 2}}
environments:
  production: {{vars: {{base_url: "{target}"}}}}
checks:
  - name: api
    type: http
    url: "{{base_url}}/health"
    environments: [production]
    conditions: ["[STATUS] == 200"]
notifiers:
  gh: {{type: github, repo: {REPO}, token: "${{GITHUB_TOKEN}}", api_url: "{api}", backoff: 0.2}}
logs:
  window: 1s
  sources:
    - {{name: app, path: "{workdir / "app.log"}", format: raw}}
serve: {{host: 127.0.0.1, port: {port}}}
""")
    return cfg


def _spawn(args: list[str], cwd: Path, out: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``prodshield ARGS``; its stdout goes to ``out`` (else nowhere)."""
    with open(out or os.devnull, "wb") as stdout:
        return subprocess.Popen(
            [sys.executable, "-m", "prodshield", *args],
            cwd=cwd,
            env={**os.environ, "GITHUB_TOKEN": TOKEN, "PRODSHIELD_CONFIG": ""},
            stdout=stdout,
            stderr=subprocess.PIPE,
        )


SERVING = re.compile(r"^prodshield serving http://[^/]+:(\d+)/", re.MULTILINE)


def _bound_port(out: Path, proc: subprocess.Popen[bytes], timeout: float) -> int:
    """The port the serve writing ``out`` bound, once its first line says so (it is given port
    0: a port chosen here and bound later could be taken in between); 0 when it exits or
    ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = SERVING.search(out.read_text(errors="replace"))
        if found:
            return int(found.group(1))
        time.sleep(0.1)
    return 0


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    if proc.stderr is not None:
        proc.stderr.close()


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(sql).fetchall()


def _first_incident(db: Path, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Let the first run live until the flapping target has opened an incident (or ``timeout``
    seconds pass, or it exits): the later runs are killed at random moments, and on a loaded
    machine none of them may live through two failed checks in a row, leaving a loop that proved
    nothing (a loaded run here failed that way: "no incident was opened")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if _query(db, "SELECT COUNT(*) FROM incidents")[0][0]:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.2)


def run_crash_loop(
    workdir: Path,
    *,
    kills: int,
    migration_kills: int,
    seed: int = 1,
    min_up_s: float = 0.2,
    max_up_s: float = 5.0,
    log_rate: float = 200.0,
    catch_up_s: float = 120.0,
) -> CrashReport:
    rng = random.Random(seed)
    report = CrashReport()
    started = time.monotonic()
    db = workdir / "state.db"
    with flapping_target() as target, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        cfg = _config(workdir, db, target, gh.url, 0)
        writer = _Writer(workdir / "app.log", log_rate)
        writer.start()
        try:
            for k in range(kills):
                out = workdir / f"serve-{k}.out"
                proc = _spawn(["serve", "-c", str(cfg)], workdir, out)
                if k % 4 == 3:  # now and then while it starts (store open, migrations, imports)
                    time.sleep(rng.uniform(0.0, 1.5))
                else:  # otherwise at a random moment of its work, however slow the start-up
                    port = _bound_port(out, proc, 60)
                    if port:
                        answers(port, proc, path="/healthz", timeout=60, interval=0.1)
                    if k == 0:
                        _first_incident(db, proc, 90)
                    time.sleep(rng.uniform(min_up_s, max_up_s))
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                    report.problems.append(f"serve exited by itself ({proc.returncode}): {err}")
                    break
                _kill(proc)
                report.kills += 1
        finally:
            writer.halt.set()
            writer.join(10)
        report.lines_written, report.critical_written = writer.lines, writer.critical

        # the last run catches up: the target stays up, so the open incident resolves; every line
        # consumed, every notification delivered
        STEADY.set()
        proc = _spawn(["serve", "-c", str(cfg)], workdir)
        deadline = time.monotonic() + catch_up_s
        try:
            while time.monotonic() < deadline:
                time.sleep(0.5)
                try:
                    consumed = _query(db, "SELECT COALESCE(SUM(lines), 0) FROM log_offsets")
                    unsent = _query(db, "SELECT COUNT(*) FROM outbox WHERE status != 'sent'")
                    still_open = _query(db, "SELECT COUNT(*) FROM incidents WHERE status = 'open'")
                except sqlite3.Error:
                    continue
                if consumed[0][0] == writer.lines and unsent[0][0] == 0 and not still_open[0][0]:
                    break
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            finally:
                _kill(proc)

        STEADY.clear()
        _audit(report, db, gh)
    report.migrations_ok = _migration_kills(workdir, migration_kills, rng, report)
    report.migration_kills = migration_kills
    report.elapsed_s = time.monotonic() - started
    return report


def _scalar(db: Path, sql: str) -> int:
    return int(_query(db, sql)[0][0])


def _audit(report: CrashReport, db: Path, gh: GitHubStandin) -> None:
    report.lines_consumed = _scalar(db, "SELECT COALESCE(SUM(lines), 0) FROM log_offsets")
    report.critical_counted = _scalar(
        db,
        "SELECT COALESCE(SUM(count), 0) FROM log_findings WHERE kind = 'db_connection_failure'",
    )
    report.incidents = _scalar(db, "SELECT COUNT(*) FROM incidents")
    report.open_incidents_max = _scalar(
        db,
        "SELECT COALESCE(MAX(n), 0) FROM (SELECT COUNT(*) AS n FROM incidents "
        "WHERE status = 'open' GROUP BY check_name, environment)",
    )
    report.outbox_rows = _scalar(db, "SELECT COUNT(*) FROM outbox")
    report.outbox_unsent = _scalar(db, "SELECT COUNT(*) FROM outbox WHERE status != 'sent'")
    report.integrity = str(_query(db, "PRAGMA integrity_check")[0][0])

    issues = gh.issues(REPO)
    report.issues = len(issues)
    events: Counter[str] = Counter()
    subjects: Counter[str] = Counter()
    for issue in issues:
        body = issue.get("body") or ""
        subjects.update(re.findall(r"<!-- prodshield:subject=(\S+) sig=", body))
        events.update(re.findall(r"<!-- prodshield:event=(\S+) sig=", body))
        for comment in gh.comments(REPO, int(issue["number"])):
            events.update(re.findall(r"<!-- prodshield:event=(\S+) sig=", comment["body"] or ""))
    report.duplicate_events = sum(n - 1 for n in events.values() if n > 1)
    # A subject is one check in one environment: each of its incidents may open its own issue
    # once the previous one is closed. A duplicate is more issues than incidents, or two open.
    incidents_of: Counter[str] = Counter(
        {
            f"incident:{check}:{env}": int(n)
            for check, env, n in _query(
                db,
                "SELECT check_name, environment, COUNT(*) FROM incidents "
                "GROUP BY check_name, environment",
            )
        }
    )
    open_subjects: Counter[str] = Counter()
    for issue in issues:
        if issue.get("state") == "open":
            open_subjects.update(
                re.findall(r"<!-- prodshield:subject=(\S+) sig=", issue.get("body") or "")
            )
    report.duplicate_subjects = sum(
        max(0, n - max(1, incidents_of.get(subject, 0))) for subject, n in subjects.items()
    ) + sum(n - 1 for n in open_subjects.values() if n > 1)

    if report.lines_consumed != report.lines_written:
        report.problems.append(
            f"log lines: {report.lines_written} written, {report.lines_consumed} consumed"
        )
    if report.critical_counted != report.critical_written:
        report.problems.append(
            f"critical lines: {report.critical_written} written, "
            f"{report.critical_counted} counted in findings"
        )
    if report.outbox_unsent:
        report.problems.append(f"{report.outbox_unsent} notification(s) never delivered")
    if report.duplicate_events or report.duplicate_subjects:
        report.problems.append(
            f"duplicates in GitHub: {report.duplicate_events} event(s), "
            f"{report.duplicate_subjects} subject(s)"
        )
    if report.open_incidents_max > 1:
        report.problems.append("two open incidents for one check")
    if report.integrity != "ok":
        report.problems.append(f"integrity check: {report.integrity}")
    if report.incidents == 0 or report.issues == 0:
        report.problems.append("no incident was opened: the loop proved nothing")


def _migration_kills(workdir: Path, count: int, rng: random.Random, report: CrashReport) -> int:
    """Kill ``db upgrade`` on a fresh store at a random moment, then finish it; count successes."""
    ok = 0
    for i in range(count):
        db = workdir / f"migrate-{i}.db"
        cfg = workdir / f"migrate-{i}.yaml"
        cfg.write_text(f'storage: "sqlite:///{db}"\n')
        proc = _spawn(["db", "upgrade", "-c", str(cfg)], workdir)
        time.sleep(rng.uniform(0.2, 1.2))  # start-up is ~0.3-1 s: some kills land mid-migration
        _kill(proc)
        done = subprocess.run(
            [sys.executable, "-m", "prodshield", "db", "upgrade", "-c", str(cfg)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        status = subprocess.run(
            [sys.executable, "-m", "prodshield", "db", "status", "-c", str(cfg)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        integrity = _query(db, "PRAGMA integrity_check")[0][0]
        current = "schema up to date" in status.stdout
        if done.returncode == 0 and status.returncode == 0 and current and integrity == "ok":
            ok += 1
        else:
            report.problems.append(
                f"migration kill {i}: upgrade rc={done.returncode} {done.stderr.strip()[-300:]}; "
                f"status rc={status.returncode} {status.stdout.strip()[-300:]}; {integrity}"
            )
    return ok
