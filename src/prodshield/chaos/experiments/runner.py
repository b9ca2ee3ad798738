"""Run an experiment: hypothesis before, method (with the hypothesis during), hypothesis after,
rollbacks; the same sequence, statuses and journal as Chaos Toolkit.

Signals behave as in Chaos Toolkit: SIGTERM and Ctrl-C interrupt the run (rollbacks per strategy),
SIGUSR1 leaves now with rollbacks, SIGUSR2 leaves now without them.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from prodshield.chaos.experiments.activity import (
    EventSink,
    Run,
    RunContext,
    background_pool,
    now_iso,
    run_activities,
    run_activity,
)
from prodshield.chaos.experiments.configuration import (
    Bindings,
    load_configuration,
    load_secrets,
    substitute,
)
from prodshield.chaos.experiments.errors import InterruptExecution, LeaveNow
from prodshield.chaos.experiments.hypothesis import has_probes, run_steady_state_hypothesis
from prodshield.chaos.experiments.journal import Journal, new_journal
from prodshield.chaos.experiments.providers import CheckRunner
from prodshield.chaos.experiments.rollback import (
    run_rollbacks,
    select_rollbacks,
    skipped_rollbacks,
)
from prodshield.chaos.experiments.strategy import Dry, HypothesisStrategy, RollbackStrategy


@dataclass
class RunOptions:
    """How to run: strategies, dry mode, variables and prodshield's extras."""

    hypothesis_strategy: HypothesisStrategy | None = (
        None  # None: the experiment's runtime, or default
    )
    rollback_strategy: RollbackStrategy | None = None
    dry: Dry | None = None
    fail_fast: bool = False  # during/continuous hypothesis: stop the method at the first deviation
    hypothesis_frequency: float = (
        1.0  # seconds between two runs of the hypothesis during the method
    )
    config_vars: dict[str, Any] = field(default_factory=dict)
    secret_vars: dict[str, Any] = field(default_factory=dict)
    verify_after_rollbacks: bool = False  # re-run the hypothesis after rollbacks (``recovered``)
    on_event: EventSink | None = None
    handle_signals: bool = True  # install SIGTERM/SIGUSR1/SIGUSR2 handlers (main thread only)
    run_check: CheckRunner | None = None  # runs a shield.yaml check for ``type: check`` probes
    proxy_api: str | None = None  # the default API of ``type: toxic`` (None: 127.0.0.1:8474)
    abort_on: list[tuple[str, str | None]] = field(default_factory=list)
    """Guardrail checks (name, environment): one failing during the method aborts the run (status
    ``aborted``, the method stopped, pauses cut short) and the rollbacks are played."""
    guard_frequency: float = 5.0  # seconds between two rounds of the guardrail checks
    cancel: threading.Event | None = None
    """Set from outside (``serve`` stopping) to interrupt the run as SIGTERM would."""


def strategies(
    experiment: Mapping[str, Any], options: RunOptions
) -> tuple[HypothesisStrategy, RollbackStrategy]:
    """The command line wins over the experiment's ``runtime``, which wins over the defaults."""
    runtime = experiment.get("runtime") or {}
    hyp = options.hypothesis_strategy or HypothesisStrategy.parse(
        (runtime.get("hypothesis") or {}).get("strategy")
    )
    rb = options.rollback_strategy or RollbackStrategy(
        (runtime.get("rollbacks") or {}).get("strategy") or "default"
    )
    return hyp, rb


@contextlib.contextmanager
def _exit_signals(enabled: bool) -> Iterator[None]:
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise InterruptExecution("received SIGTERM")

    def leave(signum: int, frame: object) -> None:
        raise LeaveNow(graceful=signum == signal.SIGUSR1)

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, terminate),
        signal.SIGUSR1: signal.signal(signal.SIGUSR1, leave),
        signal.SIGUSR2: signal.signal(signal.SIGUSR2, leave),
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def prepare(experiment: Mapping[str, Any], options: RunOptions) -> Bindings:
    """Resolve configuration (including dynamic ``type: probe`` entries) and secrets."""
    configuration = load_configuration(experiment.get("configuration"), options.config_vars)
    secrets = load_secrets(experiment.get("secrets"), options.secret_vars)
    bindings = Bindings({}, secrets)
    scratch = RunContext(
        dict(experiment),
        bindings,
        options.dry,
        run_check=options.run_check,
        proxy_api=options.proxy_api,
    )
    for key, value in configuration.items():
        if isinstance(value, Mapping) and value.get("type") == "probe":
            try:
                output = run_activity(dict(value), scratch)
            except Exception as exc:  # as Chaos Toolkit: the key stays unset
                scratch.emit("warning", message=f"configuration {key}: {exc}")
                continue
            kind = (value.get("provider") or {}).get("type")
            if kind == "process" and isinstance(output, Mapping):
                if output.get("status") == 0:
                    bindings.configuration[key] = str(output.get("stdout", "")).strip()
            elif kind == "http" and isinstance(output, Mapping):
                bindings.configuration[key] = output.get("body")
            else:
                bindings.configuration[key] = output
        else:
            bindings.configuration[key] = value
    return bindings


def run_experiment(experiment: Mapping[str, Any], options: RunOptions | None = None) -> Journal:
    """Run a validated experiment and return its journal."""
    options = options or RunOptions()
    hyp_strategy, rb_strategy = strategies(experiment, options)
    started = time.time()
    experiment = dict(experiment)
    bindings = prepare(experiment, options)
    experiment["title"] = substitute(experiment.get("title", ""), bindings)
    journal = new_journal(experiment, now_iso())
    ctx = RunContext(
        experiment,
        bindings,
        options.dry,
        options.on_event,
        run_check=options.run_check,
        proxy_api=options.proxy_api,
    )
    with_ssh = has_probes(experiment)
    ctx.emit(
        "start", title=experiment["title"], strategy=hyp_strategy.value, rollbacks=rb_strategy.value
    )
    stop_during = threading.Event()
    watchers: list[threading.Thread] = []  # joined before the rollbacks
    graceful = True
    with _exit_signals(options.handle_signals):
        try:
            try:
                gate_passed = True
                if with_ssh and hyp_strategy.before:
                    gate_passed = _gate(journal, ctx)
                if gate_passed:
                    watchers = _start_watchers(
                        journal, ctx, stop_during, options, with_ssh and hyp_strategy.during
                    )
                    runs = _method(journal, ctx)
                    stop_during.set()
                    for thread in watchers:
                        thread.join()
                    if (
                        journal["status"] not in ("interrupted", "aborted")
                        and with_ssh
                        and runs is not None
                        and hyp_strategy.after
                    ):
                        _after(journal, ctx)
            except InterruptExecution as exc:
                journal["status"] = "interrupted"
                ctx.emit("interrupted", reason=str(exc))
            except KeyboardInterrupt:
                journal["status"] = "interrupted"
                ctx.emit("interrupted", reason="Ctrl-C")
            except LeaveNow as exc:
                journal["status"] = "interrupted"
                graceful = exc.graceful
                ctx.emit("interrupted", reason=f"exit signal ({exc})")
            finally:
                stop_during.set()
                for thread in watchers:
                    thread.join()
            ctx.abort.clear()  # the rollbacks' own pauses are not cut short
            if graceful:
                _rollbacks(journal, ctx, rb_strategy, options, with_ssh)
        finally:
            stop_during.set()
    journal["end"] = now_iso()
    journal["duration"] = time.time() - started
    if journal["status"] not in ("completed", "failed", "aborted", "interrupted"):
        journal["status"] = "completed"
    ctx.emit("end", journal=journal)
    return journal


def _start_watchers(
    journal: Journal,
    ctx: RunContext,
    stop_during: threading.Event,
    options: RunOptions,
    hypothesis_during: bool,
) -> list[threading.Thread]:
    """Start what watches the method while it runs: the hypothesis during it, the cancel flag,
    the guardrails. Returns the threads to join (the cancel watcher ends with ``stop_during``)."""
    watchers: list[threading.Thread] = []
    if hypothesis_during:
        watchers.append(
            _watch(_continuously, (journal, ctx, stop_during, options), "hypothesis-during")
        )
    if options.cancel is not None:
        _watch(_cancelled, (journal, ctx, stop_during, options.cancel), "cancel")
    if options.abort_on and options.run_check is not None:
        watchers.append(_watch(_guardrails, (journal, ctx, stop_during, options), "guardrails"))
    return watchers


def _watch(target: Callable[..., None], args: tuple[Any, ...], name: str) -> threading.Thread:
    """A started daemon thread running ``target(*args)``."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def _status_from_probes(state: Mapping[str, Any]) -> str:
    for probe in state.get("probes", []):
        if probe.get("status") != "succeeded":
            return "failed"
    return "completed"


def _gate(journal: Journal, ctx: RunContext) -> bool:
    state = run_steady_state_hypothesis(ctx)
    journal["steady_states"]["before"] = state
    ctx.emit("hypothesis_done", when="before", state=state)
    if state is not None and not state["steady_state_met"]:
        journal["status"] = _status_from_probes(state)
        return False
    return True


def _after(journal: Journal, ctx: RunContext) -> None:
    state = run_steady_state_hypothesis(ctx)
    journal["steady_states"]["after"] = state
    ctx.emit("hypothesis_done", when="after", state=state)
    if state is not None and not state["steady_state_met"]:
        journal["deviated"] = True
        journal["status"] = _status_from_probes(state)


def _continuously(
    journal: Journal, ctx: RunContext, stop: threading.Event, options: RunOptions
) -> None:
    failed = 0
    iteration = 0
    while not stop.is_set():
        if journal["status"] in ("failed", "interrupted", "aborted"):
            break
        iteration += 1
        try:
            state = run_steady_state_hypothesis(ctx)
        except InterruptExecution:
            journal["status"] = "interrupted"
            break
        except Exception as exc:
            journal["status"] = "aborted"
            ctx.emit("warning", message=f"hypothesis during the method: {exc}")
            break
        with ctx.lock:
            journal["steady_states"]["during"].append(state)
        ctx.emit("hypothesis_done", when="during", state=state)
        if state is not None and not state["steady_state_met"]:
            failed += 1
            if options.fail_fast:
                journal["status"] = "failed"
                break
        stop.wait(options.hypothesis_frequency)


def _cancelled(
    journal: Journal, ctx: RunContext, stop: threading.Event, cancel: threading.Event
) -> None:
    while not stop.is_set():
        if cancel.wait(0.2):
            with ctx.lock:
                if journal["status"] not in ("failed", "interrupted", "aborted"):
                    journal["status"] = "interrupted"
            ctx.abort.set()
            ctx.emit("interrupted", reason="the service is stopping")
            return


def _guardrails(
    journal: Journal, ctx: RunContext, stop: threading.Event, options: RunOptions
) -> None:
    """Run the guardrail checks every ``guard_frequency`` seconds while the method runs; the first
    failure aborts the run (``journal["aborted_by"]``) and wakes the method out of its pauses."""
    assert options.run_check is not None
    while not stop.is_set():
        for name, env in options.abort_on:
            if stop.is_set():
                return
            try:
                passed, detail = options.run_check(name, env)
            except Exception as exc:  # a check that cannot run is not a failing check
                ctx.emit("warning", message=f"guardrail check {name} could not run: {exc}")
                continue
            if passed:
                continue
            with ctx.lock:
                if journal["status"] in ("failed", "interrupted", "aborted"):
                    return
                journal["status"] = "aborted"
                journal["aborted_by"] = {
                    "check": name,
                    "environment": env,
                    "detail": detail,
                    "at": now_iso(),
                }
            ctx.abort.set()
            ctx.emit(
                "warning",
                message=f"guardrail: check {name}"
                + (f" ({env})" if env else "")
                + f" failed during the method ({detail}): aborting, then rolling back",
            )
            return
        stop.wait(options.guard_frequency)


def _method(journal: Journal, ctx: RunContext) -> list[Run] | None:
    runs: list[Run] = []
    journal["run"] = runs
    method = list(ctx.experiment.get("method") or [])
    pool = background_pool(method)
    ctx.emit("method")
    futures: list[Future[Run]] = []
    wait = True
    try:
        for item in run_activities(method, ctx, pool, runs):
            if isinstance(item, Future):
                futures.append(item)
            if journal["status"] in ("aborted", "failed", "interrupted"):
                break
    except (InterruptExecution, KeyboardInterrupt):
        raise
    except LeaveNow as exc:
        wait = exc.graceful
        raise
    except Exception as exc:
        journal["status"] = "aborted"
        ctx.emit("warning", message=f"the method stopped on an unexpected error: {exc}")
        return None
    finally:
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=not wait)
    return runs


def _rollbacks(
    journal: Journal,
    ctx: RunContext,
    strategy: RollbackStrategy,
    options: RunOptions,
    with_ssh: bool,
) -> None:
    selected = select_rollbacks(strategy, journal, ctx)
    for name, reason in skipped_rollbacks(strategy, journal, ctx, selected):
        ctx.emit("warning", message=f"rollback skipped: {name} ({reason})")
    if not selected:
        return
    runs: list[Run] = []
    journal["rollbacks"] = runs
    ctx.emit("rollbacks", count=len(selected))
    try:
        run_rollbacks(selected, ctx, runs)
    except (InterruptExecution, KeyboardInterrupt, LeaveNow):
        journal["status"] = "interrupted"
        ctx.emit("interrupted", reason="signal during rollbacks: remaining rollbacks skipped")
        return
    if options.verify_after_rollbacks and with_ssh:
        state = run_steady_state_hypothesis(ctx)
        journal["steady_states"]["after_rollbacks"] = state
        journal["recovered"] = bool(state and state["steady_state_met"])
        ctx.emit("hypothesis_done", when="after_rollbacks", state=state)
