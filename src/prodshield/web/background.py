"""The capabilities as background services of ``prodshield serve``, in one process.

- ``MonitorService``: the check scheduler with incident logic (results, incidents and outbox
  events in one transaction per batch); also the run-now hook.
- ``OutboxService``: the notification delivery worker (a dead-letter retry is
  ``notify.outbox.retry_dead``, which its next poll picks up).
- ``LogService`` (``prodshield.logs.service``, the log capability's own): follows the configured
  log files, mines templates, runs the detectors, stores findings and templates; started here.
- ``AuditService`` and ``DigestService``: the periodic audit and the daily digest, on cron
  schedules (and once at start, so a fresh service has something to show).
- ``ScheduledExperiments`` (``prodshield.chaos.experiments.schedule``, chaos's own): the
  ``chaos.experiments`` game days on their cron schedules; started here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from prodshield.config import LoadedConfig
from prodshield.errors import ProdshieldError
from prodshield.store import Store
from prodshield.text import code_span, plural
from prodshield.web.services import Services

log = logging.getLogger("prodshield.serve")


class MonitorService:
    """The scheduler of the config's checks. A SIGHUP reload that adds, removes or changes checks
    (an interval, a URL, a condition) starts a new scheduler with the new targets; one that leaves
    them as they were only switches the incident settings (thresholds, alerts)."""

    name = "monitor"

    def __init__(self, loaded: LoadedConfig, store: Store) -> None:
        self.loaded = loaded
        self.store = store
        self.scheduler: Any = None
        self.started = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reloaded: asyncio.Event | None = None

    def reload(self, loaded: LoadedConfig) -> None:
        """A new config (SIGHUP): looked at on the scheduler's loop."""
        self.loaded = loaded
        loop, event = self._loop, self._reloaded
        if loop is not None and event is not None:
            loop.call_soon_threadsafe(event.set)

    async def run(self, stop: asyncio.Event) -> None:
        from prodshield.monitor.api import select_targets
        from prodshield.monitor.probe import Probe

        self._loop = asyncio.get_running_loop()
        self._reloaded = asyncio.Event()
        sweep: asyncio.Task[None] | None = None
        async with Probe(self.store, base_dir=self.loaded.base_dir) as probe:
            while not stop.is_set():
                loaded = self.loaded
                targets = select_targets(loaded.config, None, None)
                await asyncio.to_thread(self._resolve_removed, loaded)
                self.scheduler = self._scheduler(loaded, targets, probe)
                self.started = True
                if sweep is None:  # once per start, beside the first checks
                    sweep = asyncio.create_task(self._sweep(loaded))
                done = asyncio.Event()
                running = asyncio.create_task(self.scheduler.run(done))
                try:
                    await self._until_changed(stop, targets, running)
                finally:
                    done.set()
                    await running  # drains the runs in flight and writes their results
        if sweep is not None and not sweep.done():
            sweep.cancel()  # stopped before GitHub answered: the next start looks again
            await asyncio.gather(sweep, return_exceptions=True)

    async def _sweep(self, loaded: LoadedConfig) -> None:
        """The GitHub issues a lost store forgot: those of removed checks closed, those of
        configured checks adopted by the current scheduler's engine
        (``prodshield.monitor.adopt.startup_sweep``); one log line each (a warning)."""
        from prodshield.monitor.adopt import startup_sweep

        def hand(apply: Any) -> None:
            scheduler = self.scheduler
            if scheduler is not None and scheduler.incidents is not None:
                scheduler.incidents.adopt_later(apply)

        # warnings: what it did to GitHub at start-up is for the operator to see on stderr
        await startup_sweep(
            self.store, loaded.config, hand, lambda line: log.warning("monitor: %s", line)
        )

    def _resolve_removed(self, loaded: LoadedConfig) -> None:
        """Resolve the open incidents of checks this config no longer has (their notifiers
        hear it as a recovery); a store that fails now is tried again at the next reload."""
        from prodshield.monitor.removed import resolve_removed

        try:
            removed = resolve_removed(self.store, loaded.config)
        except Exception as exc:
            log.warning("monitor: incidents of removed checks not resolved: %s", exc)
            return
        for r in removed:
            where = f" [{r.environment}]" if r.environment else ""
            log.info(
                "monitor: incident #%s of %s%s resolved: %s",
                r.incident_id,
                r.check,
                where,
                r.reason,
            )

    def _scheduler(self, loaded: LoadedConfig, targets: list[Any], probe: Any) -> Any:
        from prodshield.monitor.api import cluster_for
        from prodshield.monitor.incidents import IncidentEngine
        from prodshield.monitor.scheduler import Scheduler

        config = loaded.config
        return Scheduler(
            targets,
            probe,
            self.store,
            concurrency=config.defaults.concurrency,
            incidents=IncidentEngine(config),
            cluster=cluster_for(loaded, self.store, targets),
            location=config.cluster.location,
        )

    async def _until_changed(
        self, stop: asyncio.Event, targets: list[Any], running: asyncio.Task[None]
    ) -> None:
        """Return when ``stop`` is set, the scheduler ended, or a reload changed the targets."""
        from prodshield.monitor.api import select_targets
        from prodshield.monitor.incidents import IncidentEngine

        assert self._reloaded is not None
        wanted = _signature(targets)
        while True:
            waits = {
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self._reloaded.wait()),
            }
            try:
                await asyncio.wait({*waits, running}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
            if stop.is_set() or running.done() or not self._reloaded.is_set():
                return
            self._reloaded.clear()
            config = self.loaded.config
            if _signature(select_targets(config, None, None)) != wanted:
                log.info("monitor: the checks changed: scheduling the new set")
                return
            self.scheduler.incidents = IncidentEngine(config)
            await asyncio.to_thread(self._resolve_removed, self.loaded)  # a service's SLO gone

    def lag(self) -> float | None:
        if self.scheduler is None:
            return None
        # the last five minutes of runs: /metrics shows how late the scheduler is now
        recent = max(100, int(self.scheduler.runs_per_s * 300))
        lag: float | None = self.scheduler.stats.lag_percentile(99, last=recent)
        return lag

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

    def heartbeat_signal(self, check: str, environment: str, signal: str) -> None:
        """A heartbeat's job just signalled: run its check now when that changes its state (a
        ``fail``, or a success while the check is down or waiting), on the scheduler's loop."""
        scheduler = self.scheduler
        if scheduler is None or signal == "start":
            return
        state = scheduler.book.states.get((check, environment))
        if signal == "success" and state is not None and state.last_ok:
            return  # up already: the next slot sees nothing new
        scheduler.run_now((check, environment))

    async def run_check(self, check: str, environment: str | None) -> list[dict[str, Any]]:
        from prodshield.monitor.api import run_once

        results = await asyncio.to_thread(run_once, self.loaded, self.store, check, environment)
        return [r.as_dict() for r in results]


def _signature(targets: list[Any]) -> list[tuple[Any, ...]]:
    """What scheduling depends on, per target: a change restarts the scheduler."""
    return [(t.key, t.interval, t.timeout, t.check.model_dump_json()) for t in targets]


class OutboxService:
    name = "outbox"

    def __init__(self, loaded: LoadedConfig, store: Store) -> None:
        self.loaded = loaded
        self.store = store

    async def run(self, stop: asyncio.Event) -> None:
        from prodshield.notify import OutboxWorker
        from prodshield.notify.subscribers import delivery_notifiers

        worker = OutboxWorker(self.store, delivery_notifiers(self.loaded.config), poll_interval=2.0)
        worker.start()
        await stop.wait()
        await worker.stop()


class AuditService:
    name = "audit"

    def __init__(self, loaded: LoadedConfig, store: Store) -> None:
        self.loaded = loaded
        self.store = store
        self.error: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        audit_cfg = self.loaded.config.audit
        if not (audit_cfg.paths or audit_cfg.tls):
            await stop.wait()
            return
        await _cron_loop(
            stop,
            audit_cfg.schedule or "0 * * * *",
            self._once,
            run_at_start=True,
            label="the scheduled audit",
        )

    def problems(self) -> dict[str, str]:
        """/readyz: the last scheduled audit could not run (a path that does not exist...)."""
        return {"audit": f"the scheduled audit could not run: {self.error}"} if self.error else {}

    def _once(self) -> None:
        from prodshield.audit.history import save_run
        from prodshield.audit.scan import audit
        from prodshield.notify.outbox import enqueue_in

        cfg = self.loaded.config.audit
        try:
            report = audit(config=cfg, base_dir=self.loaded.base_dir, environ={})
        except ProdshieldError as exc:
            self.error = str(exc)
            raise
        self.error = None
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
                        "title": f"Audit gate failed: {plural(len(worst), 'finding')} at or above "
                        f"{cfg.fail_on}",
                        "severity": "high",
                        "body": "\n".join(
                            f"- **{f.rule}** {code_span(f.title)} ({code_span(f.path or f.target or '')})"
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
            label="the daily digest",
        )

    def _once(self) -> None:
        from prodshield.logs.service import daily_digest

        daily_digest(self.loaded, self.store)


async def _cron_loop(
    stop: asyncio.Event,
    cron: str,
    job: Any,
    *,
    run_at_start: bool,
    start_delay: float = 5.0,
    label: str = "a scheduled job",
) -> None:
    from croniter import croniter

    if run_at_start:
        try:
            await asyncio.wait_for(stop.wait(), timeout=start_delay)
            return
        except TimeoutError:
            pass
        await _guarded(job, label)
    it = croniter(cron, datetime.now(UTC))
    while not stop.is_set():
        next_at = it.get_next(float)
        try:
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - time.time()))
            return
        except TimeoutError:
            await _guarded(job, label)


async def _guarded(job: Any, label: str) -> None:
    try:
        await asyncio.to_thread(job)
    except ProdshieldError as exc:  # what the user can fix, said in their words
        log.warning("%s failed: %s", label, exc)
    except Exception as exc:  # a failing periodic job is reported, never fatal to the service
        log.warning("%s failed: %s: %s", label, type(exc).__name__, exc)


def _chaos_schedule(loaded: LoadedConfig, store: Store) -> Any:
    """``chaos.experiments`` on their schedules, guarded by the monitoring's incidents and checks
    (handed to chaos here: capabilities do not import each other)."""
    from functools import partial

    from prodshield.chaos.experiments.schedule import ScheduledExperiments
    from prodshield.monitor.api import check_verdict
    from prodshield.monitor.changes import open_incidents

    return ScheduledExperiments(
        loaded.config.chaos.experiments,
        loaded.base_dir,
        store,
        open_incidents=partial(open_incidents, store),
        run_check=partial(check_verdict, loaded),
        proxy_api=loaded.config.chaos.api.url if loaded.config.chaos else None,
    )


def add_capabilities(loaded: LoadedConfig, store: Store, services: Services) -> None:
    """The service factory that plugs every capability into ``prodshield serve``."""
    from prodshield.logs.service import LogService

    monitor = MonitorService(loaded, store)
    outbox = OutboxService(loaded, store)
    logs = LogService(loaded, store, window_s=max(0.2, loaded.config.logs.window))
    audit = AuditService(loaded, store)
    services.problems += [monitor.problems, logs.problems, audit.problems]
    services.notes.append(logs.notes)
    services.gauges.append(logs.gauges)
    services.on_reload.append(logs.reload)
    services.on_reload.append(monitor.reload)
    services.background += [
        outbox,
        monitor,
        logs,
        audit,
        DigestService(loaded, store),
        _chaos_schedule(loaded, store),
    ]
    services.run_check = monitor.run_check
    services.heartbeat_signal = monitor.heartbeat_signal
    services.scheduler_lag = monitor.lag
    services.ready = lambda: monitor.started
