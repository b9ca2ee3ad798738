"""The monitor's public API, used by the CLI, ``prodshield serve`` and the tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from prodshield.config import LoadedConfig
from prodshield.config.schema import ShieldConfig
from prodshield.errors import NotFound
from prodshield.monitor.cluster import Cluster, heartbeat_for
from prodshield.monitor.expand import expand_checks
from prodshield.monitor.incidents import IncidentEngine, PhaseChange
from prodshield.monitor.probe import Probe
from prodshield.monitor.recorder import write_batch
from prodshield.monitor.removed import resolve_removed
from prodshield.monitor.result import CheckResult
from prodshield.monitor.run import run_target
from prodshield.monitor.scheduler import Scheduler, SchedulerStats, tune_gc
from prodshield.monitor.state import StateBook
from prodshield.monitor.target import Target
from prodshield.notify.subscribers import delivery_notifiers
from prodshield.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")


def _quiet_closed_transports(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A TLS connection aborted at its timeout can make the loop report a write to the closed
    transport; that is expected for a probe (the result already says ``timeout``), not an error
    worth a traceback on stderr."""
    exc = context.get("exception")
    if isinstance(exc, RuntimeError | ConnectionError) and "SSL" in str(context.get("message", "")):
        return
    loop.default_exception_handler(context)


async def _with_handler(coro: Coroutine[Any, Any, T]) -> T:
    asyncio.get_running_loop().set_exception_handler(_quiet_closed_transports)
    return await coro


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed (cheaper per connection), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_with_handler(coro))
    return uvloop.run(_with_handler(coro))


Names = str | Sequence[str] | None
"""One name, several (``--check a --check b``), or None for all."""


def _names(value: Names) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(dict.fromkeys(value))


def _unknown(what: str, name: str, configured: Sequence[str]) -> str:
    """``no check named 'webb'; did you mean 'web'? (checks: db, web)``: the configured names
    (the first 20), and the closest one when it is close (or starts with ``name``)."""
    import difflib

    line = f"no {what} named {name!r}"
    close = difflib.get_close_matches(name, configured, n=1, cutoff=0.6) or [
        n
        for n in sorted(configured)
        if name and n.startswith(name)  # "prod" for "production"
    ]
    if close:
        line += f"; did you mean {close[0]!r}?"
    names = sorted(configured)
    shown = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
    return f"{line} ({what}s: {shown or 'none configured'})"


def select_targets(config: ShieldConfig, check: Names = None, env: Names = None) -> list[Target]:
    """The targets of ``config``, narrowed to the given checks and/or environments (each
    repeatable: every named check in every named environment)."""
    checks, envs = _names(check), _names(env)
    known = {c.name for c in config.checks}
    for name in checks:
        if name not in known:
            raise NotFound(_unknown("check", name, [c.name for c in config.checks]))
    for name in envs:
        if name not in config.environments:
            raise NotFound(_unknown("environment", name, list(config.environments)))
    targets = [
        t
        for t in expand_checks(config)
        if (not checks or t.name in checks) and (not envs or t.environment in envs)
    ]
    if envs:  # a check named that runs in none of the environments named is not left out quietly
        ran = {t.name for t in targets}
        for name in checks:
            if name not in ran:
                raise NotFound(_outside(name, envs, expand_checks(config)))
    if not targets and (checks or envs):
        raise NotFound("no check matches" + "".join(f" --env {e}" for e in envs))
    return targets


def _outside(name: str, envs: Sequence[str], every: Sequence[Target]) -> str:
    """``check 'db' runs in none of --env production (its environments: staging)``."""
    own = sorted({t.environment or "" for t in every if t.name == name})
    named = " ".join(f"--env {e}" for e in envs)
    if not any(own):
        return f"check {name!r} runs in none of {named} (it has no environments)"
    return f"check {name!r} runs in none of {named} (its environments: {', '.join(own)})"


async def run_targets(
    targets: Sequence[Target], probe: Probe, *, concurrency: int = 1000
) -> list[CheckResult]:
    """Run every target once, at most ``concurrency`` at a time; results in target order."""
    gate = asyncio.Semaphore(max(1, concurrency))
    probe.prepare(targets)

    async def one(target: Target) -> CheckResult:
        async with gate:
            return await run_target(target, probe)

    restore_gc = tune_gc() if len(targets) > 100 else None
    try:
        return list(await asyncio.gather(*(one(t) for t in targets)))
    finally:
        if restore_gc is not None:
            restore_gc()


def record(
    store: Store, results: Sequence[CheckResult], config: ShieldConfig | None = None
) -> None:
    """Store results and update each target's state (consecutive counts); with the config, also
    open/update/resolve incidents and queue their notifications in the same transaction."""
    if config is not None:
        write_batch(store, results, [], IncidentEngine(config))
        return
    book = StateBook()
    book.load(store, [(r.check, r.environment) for r in results])
    states = {}
    for r in sorted(results, key=lambda r: r.ts):
        states[(r.check, r.environment)] = book.apply(r)
    write_batch(store, results, list(states.values()))


def run_once(
    loaded_config: LoadedConfig,
    store: Store | None,
    check: Names = None,
    env: Names = None,
) -> list[CheckResult]:
    """Run every (matching) check once now, store the results when ``store`` is given."""
    config = loaded_config.config
    targets = select_targets(config, check, env)

    async def go() -> list[CheckResult]:
        async with Probe(store, base_dir=loaded_config.base_dir) as probe:
            return await run_targets(targets, probe, concurrency=config.defaults.concurrency)

    results = run_async(go())
    if store is not None:
        record(store, results, config)
    return results


__all__ = [
    "CheckResult",
    "Target",
    "expand_checks",
    "record",
    "run_async",
    "run_monitor",
    "run_once",
    "run_targets",
    "select_targets",
]


def cluster_for(
    loaded_config: LoadedConfig, store: Store | None, targets: Sequence[Target]
) -> Cluster | None:
    """This instance's membership when the store is PostgreSQL (else None: it runs everything)."""
    if store is None or store.backend != "postgresql":
        return None
    settings = loaded_config.config.cluster
    return Cluster(
        store,
        targets,
        heartbeat=heartbeat_for(targets, settings.heartbeat),
        location=settings.location,
    )


def raise_open_files_limit(wanted: int) -> int:
    """Each check in flight holds a socket: lift the soft RLIMIT_NOFILE toward ``wanted``."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def run_monitor(
    loaded_config: LoadedConfig,
    store: Store | None,
    *,
    duration: float | None = None,
    check: Names = None,
    env: Names = None,
    on_start: Callable[[Scheduler], None] | None = None,
    on_change: Callable[[PhaseChange], None] | None = None,
    on_sweep: Callable[[str], None] | None = None,
) -> SchedulerStats:
    """Run the scheduler until SIGINT/SIGTERM (or ``duration``); in-flight runs finish and every
    result is flushed before it returns. On a PostgreSQL store the instance joins the others
    sharing it and runs its share of the checks (``prodshield.monitor.cluster``). Incidents of
    checks shield.yaml no longer has are resolved first (``prodshield.monitor.removed``); beside
    the first checks, the GitHub issues a lost store forgot are closed (removed checks) or
    adopted (configured ones), each outcome one line to ``on_sweep``
    (``prodshield.monitor.adopt.startup_sweep``)."""
    import signal

    targets = select_targets(loaded_config.config, check, env)
    if store is not None:
        resolve_removed(store, loaded_config.config)

    async def go() -> SchedulerStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        async with Probe(store, base_dir=loaded_config.base_dir) as probe:
            config = loaded_config.config
            scheduler = Scheduler(
                targets,
                probe,
                store,
                concurrency=config.defaults.concurrency,
                incidents=IncidentEngine(config) if store is not None else None,
                cluster=cluster_for(loaded_config, store, targets),
                location=config.cluster.location,
            )
            worker = None
            notifiers = delivery_notifiers(config)
            if store is not None and notifiers:
                from prodshield.notify import OutboxWorker

                worker = OutboxWorker(store, notifiers, poll_interval=2.0)
                worker.start()
                scheduler.listeners.append(lambda _r, _s: worker.wake())
            engine = scheduler.incidents
            if on_change is not None and engine is not None:

                def report(_results: Sequence[CheckResult], _states: Sequence[Any]) -> None:
                    for change in engine.last_changes:
                        on_change(change)
                    engine.last_changes = []

                scheduler.listeners.append(report)
            raise_open_files_limit(scheduler.cap + 256)
            if on_start is not None:
                on_start(scheduler)
            sweep = None
            if store is not None:
                from prodshield.monitor.adopt import startup_sweep

                say = on_sweep or (lambda line: log.warning("monitor: %s", line))
                hand = engine.adopt_later if engine is not None else None
                sweep = asyncio.create_task(startup_sweep(store, config, hand, say))
            try:
                await scheduler.run(stop, duration)
            finally:
                if sweep is not None and not sweep.done():
                    sweep.cancel()  # a stop before GitHub answered: the next start looks again
                    await asyncio.gather(sweep, return_exceptions=True)
                if worker is not None:
                    await worker.stop()
            return scheduler.stats

    return run_async(go())


def check_verdict(loaded_config: LoadedConfig, check: str, env: str | None) -> tuple[bool, str]:
    """Run one check (every environment, or ``env``) once, not stored: whether all passed, and
    one line about it (the first failure). What ``chaos run`` uses for ``type: check`` probes and
    guardrails; an unknown check or environment raises :class:`~prodshield.errors.NotFound`."""
    results = run_once(loaded_config, None, check=check, env=env)
    failed = [r for r in results if not r.ok]
    if not failed:
        return True, f"{len(results)} passed"
    first = failed[0]
    reason = first.error.message if first.error else "failed"
    where = f" ({first.environment})" if first.environment else ""
    return False, f"{first.check}{where}: {reason}"
