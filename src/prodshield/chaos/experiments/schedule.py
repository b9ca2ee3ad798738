"""Scheduled experiments: ``prodshield serve`` runs ``chaos.experiments`` on their cron schedules.

Each run goes through the same guardrails as ``chaos run -c``: it does not start while an incident
is open in its environment (the refusal is stored as a ``skipped`` journal; with ``force`` it runs
and its journal's ``forced`` names the incidents), it
is stored as ``running`` from its start (the dashboard and incidents that open meanwhile know),
``abort_on_checks`` abort and roll back, and its journal replaces the row when it ends. An
experiment file that cannot be read or is invalid is stored as a ``failed`` journal with its
problems, so a broken game day is red on the dashboard instead of silent. One run at a time; a
run due while another is going waits for it; missed times are not caught up. The schedules are
read when ``serve`` starts (a SIGHUP reload does not change them: restart ``serve``).

The open incidents and the checks come from the monitoring, handed in by ``serve`` (chaos does
not import monitor).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prodshield.chaos.experiments.errors import InvalidExperiment
from prodshield.chaos.experiments.guard import OpenIncidents, describe_incidents, refusal
from prodshield.chaos.experiments.journal import (
    SKIPPED,
    finish_journal,
    jsonable,
    save_journal,
    start_journal,
)
from prodshield.chaos.experiments.providers import CheckRunner
from prodshield.text import one_line

log = logging.getLogger("prodshield.chaos")


def next_run(schedule: str, tz: str, after: float) -> float:
    """The first time ``schedule`` (cron, in ``tz``) fires after ``after`` (epoch seconds)."""
    from croniter import croniter

    start = datetime.fromtimestamp(after, ZoneInfo(tz))
    return float(croniter(schedule, start).get_next(float))


async def _stopped_before(stop: asyncio.Event, at: float) -> bool:
    """Wait until the wall clock reaches ``at``; True when ``stop`` is set first. Never returns
    early: the loop's timers run on the monotonic clock, which the wall clock may lag (seen: a
    run for :45 started at 44.9995, shown as 17:31:44), so the rest is waited again."""
    while (left := at - time.time()) > 0:
        try:
            await asyncio.wait_for(stop.wait(), timeout=left)
            return True
        except TimeoutError:
            pass
    return stop.is_set()


class ScheduledExperiments:
    """The background service of ``serve`` that runs the scheduled experiments."""

    name = "chaos"

    def __init__(
        self,
        specs: Sequence[Any],
        base_dir: Path,
        store: Any,
        *,
        open_incidents: OpenIncidents | None = None,
        run_check: CheckRunner | None = None,
        proxy_api: str | None = None,
    ) -> None:
        self.specs = [s for s in specs if s.enabled]
        self.base_dir = Path(base_dir)
        self.store = store
        self.open_incidents = open_incidents
        self.run_check = run_check
        self.proxy_api = proxy_api
        self.cancel = threading.Event()
        self.next_at: dict[str, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        if not self.specs:
            await stop.wait()
            return
        now = time.time()
        self.next_at = {s.name: next_run(s.schedule, s.tz, now) for s in self.specs}
        by_name = {s.name: s for s in self.specs}
        while not stop.is_set():
            name = min(self.next_at, key=lambda n: self.next_at[n])
            if await _stopped_before(stop, self.next_at[name]):
                return
            run = asyncio.ensure_future(asyncio.to_thread(self.run_one, by_name[name]))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not run.done():  # serve is stopping: interrupt the run, let it roll back
                self.cancel.set()
                await run
            stopping.cancel()
            try:
                run.result()
            except Exception as exc:  # a failing run is stored and logged, never fatal
                log.warning("scheduled experiment %s: %s: %s", name, type(exc).__name__, exc)
            self.next_at[name] = next_run(by_name[name].schedule, by_name[name].tz, time.time())

    def run_one(self, spec: Any) -> int:
        """Run one scheduled experiment now, through the guardrails; returns its journal's row."""
        from prodshield.chaos.experiments import (
            RunOptions,
            load_experiment,
            run_experiment,
            validate_experiment,
        )

        source = f"schedule {spec.name}"
        started = time.time()
        path = self.base_dir / spec.file
        try:
            experiment = load_experiment(str(path))
            validate_experiment(experiment)
        except InvalidExperiment as exc:
            return self._record(spec, "failed", {"problems": exc.problems[:20]}, started)
        forced = ""
        if self.open_incidents is not None:
            incidents = self.open_incidents(spec.env)
            if incidents and not spec.force:
                return self._record(
                    spec, SKIPPED, {"skipped": refusal(incidents, spec.env)}, started
                )
            if incidents:
                forced = f"ran with open incidents (force): {describe_incidents(incidents)}"
        row = start_journal(self.store, experiment, started, source=source, environment=spec.env)
        abort_on = []
        for text in spec.abort_on_checks:
            check, _, env = str(text).partition("@")
            abort_on.append((check, env or spec.env))
        options = RunOptions(
            config_vars=dict(spec.vars),
            handle_signals=False,
            run_check=self.run_check,
            proxy_api=self.proxy_api,
            abort_on=abort_on,
            guard_frequency=float(spec.guard_frequency),
            cancel=self.cancel,
        )
        try:
            journal: dict[str, Any] = run_experiment(experiment, options)
        except InvalidExperiment as exc:
            journal = {"experiment": experiment, "status": "failed", "problems": exc.problems}
        except Exception as exc:
            journal = {"experiment": experiment, "status": "aborted", "error": str(exc)[:500]}
        if forced:
            journal["forced"] = forced
        finish_journal(self.store, row, journal, time.time(), source=source, environment=spec.env)
        return row

    def _record(self, spec: Any, status: str, extra: dict[str, Any], started: float) -> int:
        """A run that did not start: stored with why (``prodshield.not_started``), so the
        dashboard says it failed to start, not that it ran (it injected nothing, so it is no
        incident's evidence)."""
        why = extra.get("skipped") or "; ".join(str(p) for p in extra.get("problems") or [])
        journal = jsonable(
            {
                "experiment": {"title": spec.name},
                "status": status,
                "deviated": False,
                **extra,
                "prodshield": {
                    "source": f"schedule {spec.name}",
                    "environment": spec.env,
                    "toxics": [],
                    "not_started": str(why or status)[:500],
                },
            }
        )
        log.warning("scheduled experiment %s: %s: %s", spec.name, status, one_line(str(why)))
        return save_journal(self.store, journal, started, time.time())
