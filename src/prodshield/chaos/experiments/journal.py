"""The journal: Chaos Toolkit's record of a run, its statuses, exit code, file and store row.

Keys: ``status`` (``completed``, ``failed``, ``aborted``, ``interrupted``), ``deviated``,
``steady_states`` (``before``, ``after``, ``during``), ``run`` and ``rollbacks`` (one entry per
activity with ``status``, ``output``, ``start``, ``end``, ``duration``, ``exception`` and, for
hypothesis probes, ``tolerance_met``), ``start``, ``end``, ``duration``. prodshield adds
``prodshield-version`` and, when asked to re-check after rollbacks,
``steady_states.after_rollbacks`` and ``recovered``, ``aborted_by`` (the guardrail check that failed
during the method: check, environment, detail, at) and, in the store, ``prodshield`` (who started
the run, where, and the toxics its method injects).
"""

from __future__ import annotations

import copy
import json
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prodshield import __version__

Journal = dict[str, Any]

STATUSES = ("completed", "failed", "aborted", "interrupted")


def new_journal(experiment: Mapping[str, Any], started: str) -> Journal:
    return {
        "prodshield-version": __version__,
        "platform": platform.platform(),
        "node": platform.node(),
        "experiment": copy.deepcopy(dict(experiment)),
        "start": started,
        "status": None,
        "deviated": False,
        "steady_states": {"before": None, "after": None, "during": []},
        "run": [],
        "rollbacks": [],
    }


def exit_code(journal: Mapping[str, Any]) -> int:
    """0 when completed and not deviated (and recovered, when that was checked), 5 when a
    guardrail check failed during the method (``aborted_by``: aborted, rolled back), else 1.

    One deliberate difference from Chaos Toolkit: a steady state not met *before* the method is
    exit 1. Chaos Toolkit records that run as ``completed`` (its probes ran) and exits 0, so a
    gate built on it passes while the system is already broken; the journal stays the same.
    """
    if journal.get("aborted_by"):
        return 5
    if journal.get("status") != "completed" or journal.get("deviated"):
        return 1
    before = (journal.get("steady_states") or {}).get("before")
    if isinstance(before, Mapping) and before.get("steady_state_met") is False:
        return 1
    return 0 if journal.get("recovered", True) else 1


def outcome(journal: Mapping[str, Any]) -> str:
    """One word for people: ``deviated`` wins over the status, as Chaos Toolkit reports it."""
    if journal.get("deviated"):
        return "deviated"
    if journal.get("recovered") is False:
        return "not-recovered"
    return str(journal.get("status"))


def json_default(value: Any) -> Any:
    """What JSON holds for a value it has no type for (an output's bytes, a set): for ``default=``."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


def dumps(journal: Mapping[str, Any]) -> str:
    return json.dumps(journal, indent=2, ensure_ascii=False, default=json_default)


def write_journal(journal: Mapping[str, Any], path: str | Path) -> None:
    Path(path).write_text(dumps(journal) + "\n", encoding="utf-8")


def jsonable(journal: Mapping[str, Any]) -> Journal:
    """The journal as plain JSON values (outputs may hold bytes or other objects)."""
    result: Journal = json.loads(dumps(journal))
    return result


def save_journal(store: Any, journal: Mapping[str, Any], started_at: float, ended_at: float) -> int:
    """Insert the journal into the store's ``experiment_journals`` table; returns the row id."""
    from prodshield.store import tables as t

    title = str((journal.get("experiment") or {}).get("title") or "")
    with store.begin() as conn:
        result = conn.execute(
            t.experiment_journals.insert().values(
                title=title[:2000],
                status=str(journal.get("status")),
                deviated=bool(journal.get("deviated")),
                started_at=started_at,
                ended_at=ended_at,
                journal=jsonable(journal),
            )
        )
        return int(result.inserted_primary_key[0])


RUNNING = "running"
"""The status of a stored journal whose run has not ended yet (not one of Chaos Toolkit's)."""
SKIPPED = "skipped"
"""The status of a scheduled run a guardrail refused to start (an incident was open)."""

MAX_TOXICS = 10

_CHAOSTOXI_TYPES = {
    "create_latency_toxic": "latency",
    "create_bandwith_degradation_toxic": "bandwidth",
    "create_slow_connection_close_toxic": "slow_close",
    "create_timeout_toxic": "timeout",
    "create_slicer_toxic": "slicer",
    "create_limiter_toxic": "limit_data",
}


def toxics_of(experiment: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The faults the experiment's method injects through a fault proxy: prodshield's ``toxic``
    provider (``add_toxic``) and the Chaos Toolkit toxiproxy extension's ``create_*_toxic``
    functions, each as ``{proxy, type, name, attributes}`` (at most :data:`MAX_TOXICS`)."""
    out: list[dict[str, Any]] = []
    for activity in experiment.get("method") or []:
        provider = activity.get("provider") if isinstance(activity, Mapping) else None
        if not isinstance(provider, Mapping):
            continue
        args = provider.get("arguments")
        args = args if isinstance(args, Mapping) else {}
        kind = provider.get("type")
        func = str(provider.get("func") or "")
        if kind == "toxic" and func == "add_toxic":
            proxy, toxic = args.get("proxy"), args.get("type")
            attributes = args.get("attributes")
        elif kind == "python" and str(provider.get("module") or "").startswith("chaostoxi"):
            if func not in _CHAOSTOXI_TYPES and func != "create_toxic":
                continue
            proxy = args.get("for_proxy")
            toxic = args.get("toxic_type") if func == "create_toxic" else _CHAOSTOXI_TYPES[func]
            attributes = args.get("attributes") or {
                k: v for k, v in args.items() if k not in ("for_proxy", "toxic_name", "stream")
            }
        else:
            continue
        out.append(
            {
                "proxy": str(proxy or "?")[:200],
                "type": str(toxic or "?")[:64],
                "name": str(args.get("name") or args.get("toxic_name") or "")[:200],
                "attributes": {
                    str(k)[:64]: v
                    for k, v in list((attributes or {}).items())[:8]
                    if isinstance(v, str | int | float | bool)
                }
                if isinstance(attributes, Mapping)
                else {},
            }
        )
        if len(out) >= MAX_TOXICS:
            break
    return out


def describe_toxic(toxic: Mapping[str, Any]) -> str:
    """``latency {latency: 500} on proxy postgres``: one toxic in a line."""
    attrs = toxic.get("attributes") or {}
    shown = (
        " {" + ", ".join(f"{k}: {v}" for k, v in attrs.items()) + "}"
        if isinstance(attrs, Mapping) and attrs
        else ""
    )
    return f"{toxic.get('type')}{shown} on proxy {toxic.get('proxy')}"


def start_journal(
    store: Any,
    experiment: Mapping[str, Any],
    started_at: float,
    *,
    source: str = "chaos run",
    environment: str | None = None,
) -> int:
    """Store a row for a run that starts now (status ``running``, no end yet), so the dashboard
    and the evidence of an incident that opens meanwhile know an experiment is running and
    which faults it injects. :func:`finish_journal` replaces it with the journal."""
    from prodshield.store import tables as t

    title = str(experiment.get("title") or "")
    with store.begin() as conn:
        result = conn.execute(
            t.experiment_journals.insert().values(
                title=title[:2000],
                status=RUNNING,
                deviated=False,
                started_at=started_at,
                ended_at=None,
                journal=jsonable(
                    {
                        "experiment": {"title": title},
                        "status": RUNNING,
                        "prodshield": annotation(experiment, source, environment),
                    }
                ),
            )
        )
        return int(result.inserted_primary_key[0])


def annotation(
    experiment: Mapping[str, Any], source: str, environment: str | None
) -> dict[str, Any]:
    """What prodshield adds to a stored journal: who started it, where, and its toxics."""
    return {"source": source, "environment": environment, "toxics": toxics_of(experiment)}


def finish_journal(
    store: Any,
    row_id: int,
    journal: Mapping[str, Any],
    ended_at: float,
    *,
    source: str = "chaos run",
    environment: str | None = None,
) -> None:
    """Replace the ``running`` row ``row_id`` with the run's journal."""
    from prodshield.store import tables as t

    stored = jsonable(journal)
    stored["prodshield"] = annotation(journal.get("experiment") or {}, source, environment)
    j = t.experiment_journals
    with store.begin() as conn:
        conn.execute(
            j.update()
            .where(j.c.id == row_id)
            .values(
                status=str(journal.get("status")),
                deviated=bool(journal.get("deviated")),
                ended_at=ended_at,
                journal=stored,
            )
        )
