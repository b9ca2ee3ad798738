"""Activities (probes and actions): ``ref``, ``pauses``, ``background``, dry modes, outputs.

:func:`execute_activity` runs one activity through its provider and returns its journal entry
(``activity``, ``status``, ``output``, ``start``, ``end``, ``duration``, ``exception``), the shape
Chaos Toolkit writes. A failing activity is recorded and the run goes on; only an interruption
(signal, :class:`InterruptExecution`) stops it.
"""

from __future__ import annotations

import copy
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prodshield.chaos.experiments.configuration import Bindings, substitute
from prodshield.chaos.experiments.errors import ActivityFailed
from prodshield.chaos.experiments.experiment import Activity, Experiment, activities_by_name
from prodshield.chaos.experiments.output import kept_output
from prodshield.chaos.experiments.providers import ActivityContext, CheckRunner, get_provider
from prodshield.chaos.experiments.strategy import Dry

Run = dict[str, Any]
EventSink = Callable[[str, Mapping[str, Any]], None]


@dataclass
class RunContext:
    """Everything activities of one run share."""

    experiment: Experiment
    bindings: Bindings
    dry: Dry | None = None
    on_event: EventSink | None = None
    named: dict[str, Activity] = field(default_factory=dict)
    started_actions: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    run_check: CheckRunner | None = None
    proxy_api: str | None = None
    abort: threading.Event = field(default_factory=threading.Event)
    """Set by a guardrail that aborts the run: pauses in progress end at once."""

    def __post_init__(self) -> None:
        if not self.named:
            self.named = activities_by_name(self.experiment)

    def emit(self, event: str, **data: Any) -> None:
        if self.on_event is not None:
            self.on_event(event, data)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def resolve(activity: Activity, ctx: RunContext) -> Activity:
    """The activity a ``ref`` points at (or the activity itself)."""
    ref = activity.get("ref")
    if ref is None:
        return activity
    found = ctx.named.get(str(ref))
    if found is None:
        raise ActivityFailed(f"could not find referenced activity '{ref}'")
    return found


def _sleep(seconds: Any, abort: threading.Event) -> None:
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        return
    if value > 0:
        abort.wait(value)


def execute_activity(activity: Activity, ctx: RunContext, runs: list[Run] | None = None) -> Run:
    """Run one activity and return its journal entry (appended to ``runs`` when it starts).

    The entry keeps at most about 64 KiB of the output (see :mod:`.output`)."""
    return execute_activity_with_output(activity, ctx, runs)[0]


def execute_activity_with_output(
    activity: Activity, ctx: RunContext, runs: list[Run] | None = None
) -> tuple[Run, Any]:
    """:func:`execute_activity`, also returning the whole output (for a tolerance)."""
    try:
        activity = resolve(activity, ctx)
    except ActivityFailed as exc:
        failed = _failed_ref(activity, exc)
        if runs is not None:
            with ctx.lock:
                runs.append(failed)
        return failed, None
    pauses = substitute(activity.get("pauses") or {}, ctx.bindings)
    kind = str(activity.get("type"))
    dry = activity.get("dry", ctx.dry)
    if isinstance(dry, str):
        dry = Dry(dry) if dry in Dry.values() else None
    is_dry = bool(dry and dry.skips(kind))
    skip_pauses = dry is Dry.PAUSE or is_dry
    if pauses.get("before") and not skip_pauses:
        ctx.emit("pause", seconds=pauses["before"], when="before", name=activity.get("name"))
        _sleep(pauses["before"], ctx.abort)
    start = datetime.now(UTC)
    run: Run = {"activity": copy.deepcopy(activity), "output": None, "start": start.isoformat()}
    if runs is not None:
        with ctx.lock:
            runs.append(run)
    if kind == "action":
        with ctx.lock:
            ctx.started_actions.add(str(activity.get("name")))
    ctx.emit("activity", activity=activity, background=bool(activity.get("background")))
    result = None
    try:
        result = None if is_dry else run_activity(activity, ctx)
        run["output"], truncated = kept_output(result)
        if truncated is not None:
            run["output_truncated"] = truncated
        run["status"] = "succeeded"
        if activity.get("export_as") and not is_dry:
            ctx.bindings.export(str(activity["export_as"]), result)
    except ActivityFailed as exc:
        run["status"] = "failed"
        run["exception"] = traceback.format_exception_only(type(exc), exc)
    finally:
        end = datetime.now(UTC)
        run["end"] = end.isoformat()
        run["duration"] = (end - start).total_seconds()
        ctx.emit("activity_done", run=run)
    if pauses.get("after") and not skip_pauses:
        ctx.emit("pause", seconds=pauses["after"], when="after", name=activity.get("name"))
        _sleep(pauses["after"], ctx.abort)
    return run, result


def _failed_ref(activity: Activity, exc: Exception) -> Run:
    stamp = now_iso()
    return {
        "activity": copy.deepcopy(activity),
        "output": None,
        "start": stamp,
        "end": stamp,
        "duration": 0.0,
        "status": "failed",
        "exception": traceback.format_exception_only(type(exc), exc),
    }


def run_activity(
    activity: Activity, ctx: RunContext, extra_arguments: dict[str, Any] | None = None
) -> Any:
    """Call the activity's provider (substituted) and return its output."""
    provider_block = dict(activity["provider"])
    if extra_arguments:
        provider_block["arguments"] = {**(provider_block.get("arguments") or {}), **extra_arguments}
    provider = get_provider(str(provider_block["type"]))
    block = substitute(provider_block, ctx.bindings)
    timeout = activity.get("timeout")
    context = ActivityContext(
        activity_name=str(activity.get("name", "")),
        activity_type=str(activity.get("type", "")),
        configuration=ctx.bindings.configuration,
        secrets=ctx.bindings.secrets,
        timeout=float(timeout) if timeout is not None else None,
        run_check=ctx.run_check,
        proxy_api=ctx.proxy_api,
    )
    return provider.run(block, context)


def background_pool(activities: list[Activity]) -> ThreadPoolExecutor | None:
    count = sum(1 for a in activities if isinstance(a, Mapping) and a.get("background"))
    return ThreadPoolExecutor(max_workers=count, thread_name_prefix="activity") if count else None


def run_activities(
    activities: list[Activity],
    ctx: RunContext,
    pool: ThreadPoolExecutor | None,
    runs: list[Run],
) -> Iterator[Run | Future[Run]]:
    """Run activities in order; background ones go to ``pool`` and yield a future."""
    for activity in activities:
        if activity.get("background") and pool is not None:
            yield pool.submit(execute_activity, activity, ctx, runs)
        else:
            yield execute_activity(activity, ctx, runs)
