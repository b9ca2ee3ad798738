"""The journal: Chaos Toolkit's record of a run, its statuses, exit code, file and store row.

Keys: ``status`` (``completed``, ``failed``, ``aborted``, ``interrupted``), ``deviated``,
``steady_states`` (``before``, ``after``, ``during``), ``run`` and ``rollbacks`` (one entry per
activity with ``status``, ``output``, ``start``, ``end``, ``duration``, ``exception`` and, for
hypothesis probes, ``tolerance_met``), ``start``, ``end``, ``duration``. prodshield adds
``prodshield-version`` and, when asked to re-check after rollbacks,
``steady_states.after_rollbacks`` and ``recovered``.
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
    """0 when completed and not deviated (and recovered, when that was checked), else 1.

    One deliberate difference from Chaos Toolkit: a steady state not met *before* the method is
    exit 1. Chaos Toolkit records that run as ``completed`` (its probes ran) and exits 0, so a
    gate built on it passes while the system is already broken; the journal stays the same.
    """
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


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | tuple):
        return list(value)
    return str(value)


def dumps(journal: Mapping[str, Any]) -> str:
    return json.dumps(journal, indent=2, ensure_ascii=False, default=_default)


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
