"""The experiment file: load JSON/YAML and validate it, every problem named by where it is.

The format is Chaos Toolkit's (``title``, ``description``, ``configuration``, ``secrets``,
``steady-state-hypothesis``, ``method``, ``rollbacks``, ``runtime``). prodshield accepts two keys
of its own on an activity: ``export_as`` (bind the output to a name later activities can use as
``${name}``) and ``undoes`` (on a rollback: the action it reverts, so an interrupted run rolls back
only what ran).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from prodshield.chaos.experiments.configuration import parse_document
from prodshield.chaos.experiments.errors import InvalidExperiment

Experiment = dict[str, Any]
Activity = dict[str, Any]

ACTIVITY_TYPES = ("probe", "action")
TOLERANCE_TYPES = ("probe", "regex", "jsonpath", "range")


def load_experiment(path: str | Path) -> Experiment:
    """Read an experiment file (``.json``, otherwise YAML) into a mapping."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidExperiment(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidExperiment(f"{p}: cannot read: {exc}") from None
    data = parse_document(text, p)
    if not isinstance(data, dict):
        raise InvalidExperiment(f"{p}: an experiment must be a mapping at the top level")
    return data


def iter_activities(experiment: Mapping[str, Any]) -> Iterator[tuple[str, Activity]]:
    """Every activity with where it is: hypothesis probes, method, rollbacks."""
    hypo = experiment.get("steady-state-hypothesis")
    if isinstance(hypo, Mapping):
        for i, probe in enumerate(hypo.get("probes") or []):
            yield f"steady-state-hypothesis.probes[{i}]", probe
    for section in ("method", "rollbacks"):
        for i, activity in enumerate(experiment.get(section) or []):
            yield f"{section}[{i}]", activity


def activities_by_name(experiment: Mapping[str, Any]) -> dict[str, Activity]:
    """Named activities for ``ref`` lookups (the first of a name wins)."""
    out: dict[str, Activity] = {}
    for _, activity in iter_activities(experiment):
        if isinstance(activity, Mapping) and activity.get("name") and "ref" not in activity:
            out.setdefault(str(activity["name"]), activity)
    return out


def validate_experiment(experiment: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidExperiment` listing every problem found."""
    if not experiment:
        raise InvalidExperiment("an empty experiment is not an experiment")
    problems = _shape_problems(experiment)
    if problems:
        raise InvalidExperiment(problems)
    problems = _activities_problems(experiment) + _runtime_problems(experiment.get("runtime"))
    if problems:
        raise InvalidExperiment(problems)


def _shape_problems(experiment: Mapping[str, Any]) -> list[str]:
    """The top-level keys: what must be there and the type of each."""
    problems: list[str] = []
    if not experiment.get("title"):
        problems.append("title: an experiment needs a title")
    if not experiment.get("description"):
        problems.append("description: an experiment needs a description")
    tags = experiment.get("tags")
    if tags is not None and (
        not isinstance(tags, list) or any(not isinstance(t, str) or not t for t in tags)
    ):
        problems.append("tags: must be a list of non-empty strings")
    for key in ("configuration", "secrets"):
        if experiment.get(key) is not None and not isinstance(experiment[key], Mapping):
            problems.append(f"{key}: must be a mapping")
    hypo = experiment.get("steady-state-hypothesis")
    if hypo is not None:
        if not isinstance(hypo, Mapping):
            problems.append("steady-state-hypothesis: must be a mapping")
        else:
            if not hypo.get("title"):
                problems.append("steady-state-hypothesis.title: the hypothesis needs a title")
            if not isinstance(hypo.get("probes") or [], list):
                problems.append("steady-state-hypothesis.probes: must be a list")
    method = experiment.get("method")
    if method is None:
        problems.append("method: an experiment needs a method (it may be an empty list)")
    elif not isinstance(method, list):
        problems.append("method: must be a list of activities")
    rollbacks = experiment.get("rollbacks")
    if rollbacks is not None and not isinstance(rollbacks, list):
        problems.append("rollbacks: must be a list of activities")
    return problems


def _activities_problems(experiment: Mapping[str, Any]) -> list[str]:
    """Each activity, a hypothesis probe's tolerance, and what a rollback undoes."""
    problems: list[str] = []
    named = activities_by_name(experiment)
    method_actions = {
        str(a.get("name")) for a in experiment.get("method") or [] if isinstance(a, Mapping)
    }
    for where, activity in iter_activities(experiment):
        problems.extend(
            f"{where}{_label(activity)}: {p}" for p in _activity_problems(activity, named)
        )
        if where.startswith("steady-state-hypothesis") and isinstance(activity, Mapping):
            if "ref" not in activity and "tolerance" not in activity:
                problems.append(f"{where}{_label(activity)}: a hypothesis probe needs a tolerance")
            elif "tolerance" in activity:
                problems.extend(
                    f"{where}{_label(activity)}: tolerance: {p}"
                    for p in tolerance_problems(activity["tolerance"], named)
                )
        if where.startswith("rollbacks") and isinstance(activity, Mapping):
            undoes = activity.get("undoes")
            if undoes is not None and str(undoes) not in method_actions:
                problems.append(
                    f"{where}{_label(activity)}: undoes '{undoes}', which is not in the method"
                )
    return problems


def _runtime_problems(runtime: Any) -> list[str]:
    """``runtime``: the rollback and hypothesis strategies, when given, are known ones."""
    if runtime is None:
        return []
    if not isinstance(runtime, Mapping):
        return ["runtime: must be a mapping"]
    from prodshield.chaos.experiments.strategy import HypothesisStrategy, RollbackStrategy

    problems: list[str] = []
    rb = (runtime.get("rollbacks") or {}).get("strategy")
    if rb is not None and rb not in RollbackStrategy.values():
        problems.append(f"runtime.rollbacks.strategy: unknown strategy '{rb}'")
    hs = (runtime.get("hypothesis") or {}).get("strategy")
    if hs is not None and hs not in HypothesisStrategy.values():
        problems.append(f"runtime.hypothesis.strategy: unknown strategy '{hs}'")
    return problems


def _label(activity: Any) -> str:
    if isinstance(activity, Mapping) and activity.get("name"):
        return f" ({activity['name']})"
    if isinstance(activity, Mapping) and activity.get("ref"):
        return f" (ref {activity['ref']})"
    return ""


def _activity_problems(activity: Any, named: Mapping[str, Activity]) -> list[str]:
    from prodshield.chaos.experiments.providers import REGISTRY, get_provider

    if not activity or not isinstance(activity, Mapping):
        return ["an activity must be a non-empty mapping"]
    if "ref" in activity:
        return _ref_problems(activity["ref"], named)
    problems: list[str] = []
    kind = activity.get("type")
    if kind not in ACTIVITY_TYPES:
        problems.append("type must be 'probe' or 'action'" if kind else "an activity needs a type")
    if not activity.get("name"):
        problems.append("an activity needs a name")
    timeout = activity.get("timeout")
    if timeout is not None and not isinstance(timeout, numbers.Number):
        problems.append("timeout must be a number of seconds")
    problems.extend(_pauses_problems(activity.get("pauses")))
    if "background" in activity and not isinstance(activity["background"], bool):
        problems.append("background must be true or false")
    export = activity.get("export_as")
    if export is not None and (not isinstance(export, str) or not export.isidentifier()):
        problems.append("export_as must be a name (letters, digits, underscores)")
    provider = activity.get("provider")
    if not isinstance(provider, Mapping):
        problems.append("an activity needs a provider")
        return problems
    ptype = provider.get("type")
    if not ptype:
        problems.append("the provider needs a type")
    elif ptype not in REGISTRY:
        problems.append(f"unknown provider type '{ptype}' (known: {', '.join(sorted(REGISTRY))})")
    else:
        problems.extend(get_provider(str(ptype)).validate(provider))
    return problems


def _ref_problems(ref: Any, named: Mapping[str, Activity]) -> list[str]:
    """An activity given as ``ref``: the name of one this experiment declares."""
    if not isinstance(ref, str) or not ref:
        return ["ref must be a non-empty string"]
    if ref not in named:
        return [f"ref '{ref}' names no activity of this experiment"]
    return []


def _pauses_problems(pauses: Any) -> list[str]:
    """``pauses``: absent, or a mapping whose before/after are seconds or a ${name}."""
    if pauses is None:
        return []
    if not isinstance(pauses, Mapping):
        return ["pauses must be a mapping with 'before' and/or 'after'"]
    problems: list[str] = []
    for when in ("before", "after"):
        value = pauses.get(when)
        if value is None or isinstance(value, numbers.Number):
            continue
        if not (isinstance(value, str) and re.fullmatch(r"\$\{[^}]+\}", value)):
            problems.append(f"pauses.{when} must be a number or a ${{name}} from the configuration")
    return problems


def tolerance_problems(tolerance: Any, named: Mapping[str, Activity]) -> list[str]:
    """Problems with a hypothesis probe's tolerance (empty when valid)."""
    if isinstance(tolerance, bool | int | float | str | list):
        return []
    if not isinstance(tolerance, Mapping):
        return [
            "must be a boolean, a number, a string, a list (two values: a range) or a mapping "
            "with a type (probe, regex, jsonpath, range)"
        ]
    kind = tolerance.get("type")
    if kind == "probe":
        return _activity_problems(tolerance, named)
    if kind == "regex":
        pattern = tolerance.get("pattern")
        if not isinstance(pattern, str):
            return ["a regex tolerance needs a 'pattern' string"]
        try:
            re.compile(pattern)
        except re.error as exc:
            return [f"pattern {pattern!r} is not a valid regular expression: {exc}"]
        return []
    if kind == "jsonpath":
        path = tolerance.get("path")
        if not isinstance(path, str) or not path.strip():
            return ["a jsonpath tolerance needs a non-empty 'path'"]
        try:
            from jsonpath_ng.ext.parser import parse

            parse(path)
        except ImportError:
            return ["jsonpath tolerances need the jsonpath-ng package"]
        except Exception as exc:
            return [f"path {path!r} is not a valid JSON path: {exc}"]
        return []
    if kind == "range":
        bounds = tolerance.get("range")
        if (
            not isinstance(bounds, list)
            or len(bounds) != 2
            or not all(isinstance(b, numbers.Number) and not isinstance(b, bool) for b in bounds)
        ):
            return ["a range tolerance needs 'range': [lower, upper] (numbers)"]
        return []
    return [f"unknown tolerance type '{kind}' (known: {', '.join(TOLERANCE_TYPES)})"]
