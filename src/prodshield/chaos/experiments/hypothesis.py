"""The steady-state hypothesis: run its probes and check each output against its tolerance.

Tolerances follow Chaos Toolkit: a boolean, string or number is compared for equality (a number
against ``status`` when the output has one); a list of two values is an inclusive range, any other
list a set of allowed values (``status`` again when present); a mapping is ``regex`` (``pattern``,
``target``), ``jsonpath`` (``path``, ``expect``, ``count``, ``target``), ``range`` (``range``,
``target``) or ``probe`` (an activity given the output as its ``value`` argument, truthy = met).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from prodshield.chaos.experiments.activity import (
    RunContext,
    execute_activity_with_output,
    resolve,
    run_activity,
)
from prodshield.chaos.experiments.configuration import substitute
from prodshield.chaos.experiments.errors import ActivityFailed
from prodshield.chaos.experiments.strategy import Dry

State = dict[str, Any]


def has_probes(experiment: Mapping[str, Any]) -> bool:
    hypo = experiment.get("steady-state-hypothesis")
    return bool(isinstance(hypo, Mapping) and hypo.get("probes"))


def run_steady_state_hypothesis(ctx: RunContext) -> State | None:
    """Run the probes in order and stop at the first one outside its tolerance."""
    hypo = ctx.experiment.get("steady-state-hypothesis")
    if not hypo:
        return None
    state: State = {"steady_state_met": None, "probes": []}
    ctx.emit("hypothesis", title=hypo.get("title"))
    for probe in hypo.get("probes") or []:
        run, output = execute_activity_with_output(probe, ctx)
        state["probes"].append(run)
        if run["status"] == "failed":
            run["tolerance_met"] = False
            state["steady_state_met"] = False
            return state
        run["tolerance_met"] = True
        if ctx.dry in (Dry.PROBES, Dry.ACTIVITIES):
            continue
        tolerance = resolve(probe, ctx).get("tolerance")
        if isinstance(tolerance, str):
            tolerance = substitute(tolerance, ctx.bindings)
        # The whole output, not the journal's copy (cut at 64 KiB).
        if not within_tolerance(tolerance, output, ctx):
            run["tolerance_met"] = False
            state["steady_state_met"] = False
            return state
    state["steady_state_met"] = True
    return state


def within_tolerance(tolerance: Any, value: Any, ctx: RunContext | None = None) -> bool:
    """Whether ``value`` (a probe's output) is within ``tolerance``."""
    if isinstance(tolerance, bool):
        return bool(value == tolerance)
    if isinstance(tolerance, int | float | str):
        if isinstance(value, Mapping) and "status" in value and not isinstance(tolerance, str):
            return bool(value["status"] == tolerance)
        return bool(value == tolerance)
    if isinstance(tolerance, list):
        if isinstance(value, Mapping) and "status" in value:
            return value["status"] in tolerance
        if len(tolerance) == 2:
            try:
                return bool(tolerance[0] <= value <= tolerance[1])
            except TypeError:
                return False
        return value in tolerance
    if isinstance(tolerance, Mapping):
        kind = tolerance.get("type")
        if kind == "regex":
            return _regex(tolerance, value, ctx)
        if kind == "jsonpath":
            return _jsonpath(tolerance, value, ctx)
        if kind == "range":
            return _range(tolerance, value)
        if kind == "probe" and ctx is not None:
            try:
                return bool(run_activity(dict(tolerance), ctx, {"value": value}))
            except ActivityFailed:
                return False
    return False


def _target(tolerance: Mapping[str, Any], value: Any) -> Any:
    target = tolerance.get("target")
    if target and isinstance(value, Mapping):
        return value.get(target, value)
    return value


def _bound(item: Any, ctx: RunContext | None) -> Any:
    """A tolerance's setting with the run's ``${name}`` bindings put in."""
    return substitute(item, ctx.bindings) if ctx is not None else item


def _text_target(tolerance: Mapping[str, Any], value: Any) -> Any:
    """The value a text tolerance reads: its ``target`` key, bytes decoded."""
    value = _target(tolerance, value)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _regex(tolerance: Mapping[str, Any], value: Any, ctx: RunContext | None) -> bool:
    pattern = _bound(tolerance.get("pattern", ""), ctx)
    value = _text_target(tolerance, value)
    if not isinstance(value, str):
        return False
    return re.search(str(pattern), value) is not None


def _jsonpath(tolerance: Mapping[str, Any], value: Any, ctx: RunContext | None) -> bool:
    from jsonpath_ng.ext.parser import parse

    path = _bound(tolerance.get("path", ""), ctx)
    value = _text_target(tolerance, value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    values = [m.value for m in parse(str(path).strip()).find(value)]
    result = len(values) > 0
    if tolerance.get("count") is not None:
        result = len(values) == tolerance["count"]
    if "expect" in tolerance:
        expect = _bound(tolerance["expect"], ctx)
        result = values == (expect if isinstance(expect, list) else [expect])
    return result


def _range(tolerance: Mapping[str, Any], value: Any) -> bool:
    value = _target(tolerance, value)
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
        low, high = (Decimal(str(b)) for b in tolerance["range"])
    except (InvalidOperation, ValueError, TypeError, KeyError):
        return False
    return low <= number <= high
