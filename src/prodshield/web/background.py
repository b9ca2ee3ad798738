"""The capabilities as background services of ``prodshield serve``, in one process.

- ``MonitorService``: the check scheduler with incident logic (results, incidents and outbox
  events in one transaction per batch); also the run-now hook.
- ``OutboxService``: the notification delivery worker; also the dead-letter retry hook.
- ``LogService``: follows the configured log files across rotation (offsets in the store, saved
  after the lines are handled), runs the detectors in windows, stores findings and notifies critical
  ones once per kind and source per hour.
- ``AuditService`` and ``DigestService``: the periodic audit and the daily digest, on cron
  schedules (and once at start, so a fresh service has something to show).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prodshield.config import LoadedConfig
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.web.services import Services

log = logging.getLogger("prodshield.serve")


class MonitorService:
    name = "monitor"

    def __init__(self, loaded: LoadedConfig, store: Store) -> None:
        self.loaded = loaded
        self.store = store
        self.scheduler: Any = None
        self.started = False

    async def run(self, stop: asyncio.Event) -> None:
        from prodshield.monitor.api import cluster_for, select_targets
        from prodshield.monitor.incidents import IncidentEngine
        from prodshield.monitor.probe import Probe
        from prodshield.monitor.scheduler import Scheduler

        config = self.loaded.config
        targets = select_targets(config, None, None)
        async with Probe(self.store, base_dir=self.loaded.base_dir) as probe:
            self.scheduler = Scheduler(
                targets,
                probe,
                self.store,
                concurrency=config.defaults.concurrency,
                incidents=IncidentEngine(config),
                cluster=cluster_for(self.loaded, self.store, targets),
                location=config.cluster.location,
            )
            self.started = True
            await self.scheduler.run(stop)

    def lag(self) -> float | None:
        if self.scheduler is None:
            return None
        # the last five minutes of runs: /metrics shows how late the scheduler is now
        recent = max(100, int(self.scheduler.runs_per_s * 300))
        return self.scheduler.stats.lag_percentile(99, last=recent)

    def problems(self) -> dict[str, str]:
        error = self.scheduler.stats.last_write_error if self.scheduler is not None else None
        out = {"monitor": f"results not stored: {error}"} if error else {}
        cluster = self.scheduler.cluster if self.scheduler is not None else None
        if cluster is not None and cluster.short:
            (check, env), have = min(cluster.short.items())
            wanted = cluster.located[(check, env)]
            more = f" (and {len(cluster.short) - 1} more checks)" if len(cluster.short) > 1 else ""
            out["monitor:locations"] = (
                f"{check}{'@' + env if env else ''} runs from {have} of {wanted} locations{more}"
            )
        return out

    async def run_check(self, check: str, environment: str | None) -> list[dict[str, Any]]:
        from prodshield.monitor.api import run_once

        results = await asyncio.to_thread(run_once, self.loaded, self.store, check, environment)
        return [r.as_dict() for r in results]


class OutboxService:
    name = "outbox"

    def __init__(self, loaded: LoadedConfig, store: Store) -> None:
        self.loaded = loaded
        self.store = store

    async def run(self, stop: asyncio.Event) -> None:
        from prodshield.notify import OutboxWorker

        worker = OutboxWorker(self.store, self.loaded.config.notifiers, poll_interval=2.0)
        worker.start()
        await stop.wait()
        await worker.stop()

    async def retry(self, row_id: int) -> bool:
        from prodshield.notify.outbox import retry_dead

        try:
            await asyncio.to_thread(retry_dead, self.store, row_id)
        except Exception:
            return False
        return True


class LogService:
    """Follows log sources; every window the detectors' findings go to the store."""

    name = "logs"

    def __init__(
        self, loaded: LoadedConfig, store: Store, *, window_s: float = 30.0, poll_s: float = 1.0
    ) -> None:
        self.loaded = loaded
        self.store = store
        self.window_s = window_s
        self.poll_s = poll_s
        self.notified: dict[str, float] = {}
        self.source_errors: dict[str, str] = {}  # path -> what went wrong (cleared on recovery)

    def _paths(self) -> list[tuple[Any, str]]:
        from prodshield.logs.sources.configured import configured_files

        return [
            (f.source, f.path)
            for f in configured_files(
                self.loaded.config.logs, self.loaded.base_dir, follow_only=True
            )
            if not f.path.endswith((".gz", ".bz2", ".xz", ".zst"))
        ]

    async def run(self, stop: asyncio.Event) -> None:
        await asyncio.to_thread(self._loop_sync, stop)

    def problems(self) -> dict[str, str]:
        return {f"logs:{path}": message for path, message in list(self.source_errors.items())}

    def _loop_sync(self, stop: asyncio.Event) -> None:
        from prodshield.logs.detectors import DetectorSettings
        from prodshield.logs.scan import _Collector
        from prodshield.logs.sources.follow import FileFollower
        from prodshield.logs.templates import TemplateMiner

        cfg = self.loaded.config.logs
        settings = DetectorSettings(
            slow_query_ms=cfg.slow_query_ms, slow_request_ms=cfg.slow_request_ms
        )
        followers = {p: (src, FileFollower(self.store, p, source=p)) for src, p in self._paths()}
        formats: dict[str, Any] = {}
        miner = TemplateMiner()
        collector = _Collector(settings)
        window_end = time.monotonic() + self.window_s
        try:
            while not stop.is_set():
                for path, (src, follower) in followers.items():
                    try:
                        lines = follower.poll(commit=False)
                    except OSError as exc:  # deleted or unreadable: keep going, report it
                        message = exc.strerror or str(exc)
                        if self.source_errors.get(path) != message:
                            log.warning("log source %s: %s", path, message)
                        self.source_errors[path] = message
                        continue
                    if not os.path.exists(path):
                        message = "deleted while followed (waiting for it to come back)"
                        if self.source_errors.get(path) != message:
                            log.warning("log source %s: %s", path, message)
                        self.source_errors[path] = message
                    elif self.source_errors.pop(path, None) is not None:
                        log.warning("log source %s: readable again", path)
                    if lines:
                        self._feed(path, src, lines, formats, miner, collector)
                if time.monotonic() >= window_end:
                    try:
                        self._flush(collector, [f for _, f in followers.values()])
                    except Exception as exc:  # the store refuses writes (disk full, database down)
                        message = f"cannot store findings and offsets: {type(exc).__name__}"
                        if self.source_errors.get("store") != message:
                            log.warning("logs: %s: %s", message, str(exc).splitlines()[0][:200])
                        self.source_errors["store"] = message
                        # keep the window's findings: the next flush stores them with the offsets
                    else:
                        if self.source_errors.pop("store", None) is not None:
                            log.warning("logs: findings are stored again")
                        collector = _Collector(settings)
                    window_end = time.monotonic() + self.window_s
                stop_wait = min(self.poll_s, max(0.0, window_end - time.monotonic()))
                time.sleep(stop_wait)
        finally:
            self._flush(collector, [f for _, f in followers.values()])
            for _, follower in followers.values():
                follower.close()

    def _feed(
        self,
        path: str,
        src: Any,
        lines: list[str],
        formats: dict[str, Any],
        miner: Any,
        collector: Any,
    ) -> None:
        from prodshield.logs.api import mine, parse_lines, resolve_format

        fmt = formats.get(path)
        if fmt is None:
            fmt = formats[path] = resolve_format(src.format, lines[:50])
        for event in mine(parse_lines(lines, path, fmt), miner):
            collector.observe(event)

    def _flush(self, collector: Any, followers: list[Any]) -> None:
        """The window's findings, their notifications and the followers' offsets in one
        transaction: a crash before it reads the lines again, a crash after it never does."""
        findings = collector.findings()
        if not findings:
            with self.store.begin() as conn:
                for follower in followers:
                    follower.commit(conn)
            return
        now = time.time()
        rows = []
        for f in findings:
            rows.append(
                {
                    "fingerprint": f.fingerprint,
                    "category": f.category,
                    "kind": f.kind,
                    "severity": f.severity,
                    "count": f.count,
                    "first_seen": f.first_seen.timestamp() if f.first_seen else now,
                    "last_seen": f.last_seen.timestamp() if f.last_seen else now,
                    "source": _jsonable(f.source),
                    "samples": f.samples,
                    "details": _jsonable(f.details),
                    "created_at": now,
                }
            )
        with self.store.begin() as conn:
            conn.execute(t.log_findings.insert(), rows)
            self._notify(conn, findings, now)
            for follower in followers:
                follower.commit(conn)

    def _notify(self, conn: Any, findings: list[Any], now: float) -> None:
        """Critical findings notify once per kind and source per hour, at most 20 per window."""
        from prodshield.monitor.incidents import enqueue_in

        notifiers = self.loaded.config.logs.alerts
        if notifiers is None:
            notifiers = list(self.loaded.config.notifiers)
        if not notifiers:
            return
        hour = int(now // 3600)
        sent = 0
        for f in findings:
            if not (
                f.severity == "critical" or (f.category == "critical" and f.severity == "high")
            ):
                continue
            key = f"log:{f.kind}:{f.fingerprint}:{hour}"
            if key in self.notified or sent >= 20:
                continue
            self.notified[key] = now
            sent += 1
            where = ", ".join(f"{k}={v}" for k, v in f.source.items() if v)
            enqueue_in(
                conn,
                notifiers,
                {
                    "key": key,
                    "type": "log.critical",
                    "subject": f"log:{f.kind}:{f.fingerprint}",
                    "title": f"{f.kind} in the logs ({f.count}x)",
                    "severity": "critical" if f.severity == "critical" else "high",
                    "body": f"**{f.kind}** x{f.count} ({where})\n\n"
                    + "\n".join(f"    {s}" for s in f.samples),
                    "fields": {"kind": f.kind, "count": str(f.count), "source": where},
                    "url": None,
                    "labels": ["logs"],
                },
                now,
            )


class AuditService:
    name = "audit"

    def __init__(self, loaded: LoadedConfig, store: Store) -> None:
        self.loaded = loaded
        self.store = store

    async def run(self, stop: asyncio.Event) -> None:
        audit_cfg = self.loaded.config.audit
        if not (audit_cfg.paths or audit_cfg.tls):
            await stop.wait()
            return
        await _cron_loop(stop, audit_cfg.schedule or "0 * * * *", self._once, run_at_start=True)

    def _once(self) -> None:
        from prodshield.audit.history import save_run
        from prodshield.audit.scan import audit
        from prodshield.monitor.incidents import enqueue_in

        cfg = self.loaded.config.audit
        report = audit(config=cfg, base_dir=self.loaded.base_dir, environ={})
        save_run(self.store, report, cfg.fail_on)
        if report.failed(cfg.fail_on) and self.loaded.config.notifiers:
            worst = report.at_or_above(cfg.fail_on)
            day = datetime.now(UTC).strftime("%Y-%m-%d")
            with self.store.begin() as conn:
                enqueue_in(
                    conn,
                    list(self.loaded.config.notifiers),
                    {
                        "key": f"audit:{day}:{len(worst)}",
                        "type": "audit.failed",
                        "subject": f"audit:{day}",
                        "title": f"Audit gate failed: {len(worst)} findings at or above {cfg.fail_on}",
                        "severity": "high",
                        "body": "\n".join(
                            f"- **{f.rule}** {f.title} ({f.path or f.target or ''})"
                            for f in worst[:30]
                        ),
                        "fields": {"findings": str(len(worst))},
                        "url": None,
                        "labels": ["audit"],
                    },
                )


class DigestService:
    name = "digest"

    def __init__(self, loaded: LoadedConfig, store: Store) -> None:
        self.loaded = loaded
        self.store = store

    async def run(self, stop: asyncio.Event) -> None:
        if not self.loaded.config.logs.sources:
            await stop.wait()
            return
        await _cron_loop(
            stop,
            self.loaded.config.logs.digest_cron,
            self._once,
            run_at_start=True,
            start_delay=20.0,
        )

    def _once(self) -> None:
        from prodshield.cli.logs_intel import run_scan
        from prodshield.logs.detectors import DetectorSettings
        from prodshield.logs.digest import build_digest, render_markdown
        from prodshield.logs.sources.configured import configured_files

        paths = [
            Path(f.path)
            for f in configured_files(self.loaded.config.logs, self.loaded.base_dir)
            if os.path.isfile(f.path)
        ]
        if not paths:
            return
        cfg = self.loaded.config.logs
        settings = DetectorSettings(
            slow_query_ms=cfg.slow_query_ms, slow_request_ms=cfg.slow_request_ms
        )
        result = run_scan(paths, "auto", "24h", None, settings)
        digest = build_digest(result, title="Daily log digest")
        data = digest.to_dict()
        data["markdown"] = render_markdown(digest)
        self.store.kv_set(
            "logs",
            "digest",
            {
                "generated_at": data["generated_at"],
                "summary": data["summary"],
                "markdown": data["markdown"],
            },
        )


async def _cron_loop(
    stop: asyncio.Event, cron: str, job: Any, *, run_at_start: bool, start_delay: float = 5.0
) -> None:
    from croniter import croniter

    if run_at_start:
        try:
            await asyncio.wait_for(stop.wait(), timeout=start_delay)
            return
        except TimeoutError:
            pass
        await _guarded(job)
    it = croniter(cron, datetime.now(UTC))
    while not stop.is_set():
        next_at = it.get_next(float)
        try:
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - time.time()))
            return
        except TimeoutError:
            await _guarded(job)


async def _guarded(job: Any) -> None:
    try:
        await asyncio.to_thread(job)
    except Exception as exc:  # a failing periodic job is reported, never fatal to the service
        log.warning("%s failed: %s: %s", getattr(job, "__qualname__", job), type(exc).__name__, exc)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def add_capabilities(loaded: LoadedConfig, store: Store, services: Services) -> None:
    """The service factory that plugs every capability into ``prodshield serve``."""
    monitor = MonitorService(loaded, store)
    outbox = OutboxService(loaded, store)
    logs = LogService(loaded, store, window_s=max(0.2, loaded.config.logs.window))
    services.problems += [monitor.problems, logs.problems]
    services.background += [
        outbox,
        monitor,
        logs,
        AuditService(loaded, store),
        DigestService(loaded, store),
    ]
    services.run_check = monitor.run_check
    services.retry_notification = outbox.retry
    services.scheduler_lag = monitor.lag
    services.ready = lambda: monitor.started
