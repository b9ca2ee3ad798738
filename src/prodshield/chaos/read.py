"""The chaos capability's read model: stored experiment runs (journals) and the schedule.

What the dashboard's Chaos tab and ``/api/v1/chaos/journals`` show, as
:class:`~prodshield.views.View` models (``experiments/journal.py`` writes the rows).
"""

from __future__ import annotations

import re
import time
from typing import Any, TypeVar

from pydantic import Field
from sqlalchemy import desc, select

from prodshield.config.capabilities import ScheduledExperiment
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.text import plural
from prodshield.views import JSONObject, View

STALE_RUN_S = 86400.0
"""A run still ``running`` after this long is one whose process died: not "running now"."""


V = TypeVar("V", bound="JournalView")


class JournalView(View):
    """One stored run (without its journal)."""

    id: int
    title: str
    status: str = Field(description="running, completed, failed, aborted, interrupted, skipped")
    deviated: bool
    ok: bool = Field(description="completed and held its steady state, before the method too")
    running: bool
    started_at: float
    ended_at: float | None
    duration_s: float | None
    steps: int
    source: str
    environment: str | None
    toxics: list[JSONObject] = Field(description="the toxics it set (type, proxy, ...)")
    reason: str = Field(description="why it was skipped, failed, aborted or not met")


class JournalDetailView(JournalView):
    """One run with its whole journal (Chaos Toolkit's format)."""

    journal: JSONObject


class ScheduleView(View):
    """A ``chaos.experiments`` entry with the time it runs next."""

    name: str
    file: str
    schedule: str
    tz: str
    env: str | None
    enabled: bool
    next_run: float | None = Field(description="epoch seconds; null when disabled")


def journals(store: Store, *, limit: int = 20) -> list[JournalView]:
    """The stored runs, newest first."""
    j = t.experiment_journals
    with store.connect() as conn:
        rows = conn.execute(select(j).order_by(desc(j.c.started_at)).limit(limit)).all()
    return [_journal(r, JournalView) for r in rows]


def running(store: Store, *, now: float | None = None) -> list[JournalView]:
    """Chaos runs going on now (stored as ``running``, started within a day: an older one is
    a run whose process died), for the dashboard's banner."""
    now = time.time() if now is None else now
    j = t.experiment_journals
    with store.connect() as conn:
        rows = conn.execute(
            select(j)
            .where(j.c.status == "running", j.c.started_at >= now - STALE_RUN_S)
            .order_by(desc(j.c.started_at))
            .limit(5)
        ).all()
    return [_journal(r, JournalView) for r in rows]


def journal(store: Store, journal_id: int) -> JournalDetailView | None:
    """One stored run with its whole journal."""
    j = t.experiment_journals
    with store.connect() as conn:
        row = conn.execute(select(j).where(j.c.id == journal_id)).first()
    return None if row is None else _journal(row, JournalDetailView)


def schedules(
    experiments: list[ScheduledExperiment], now: float | None = None
) -> list[ScheduleView]:
    """``chaos.experiments`` with the time each runs next (their journals are the runs)."""
    from prodshield.chaos.experiments.schedule import next_run

    now = time.time() if now is None else now
    return [
        ScheduleView(
            name=s.name,
            file=s.file,
            schedule=s.schedule,
            tz=s.tz,
            env=s.env,
            enabled=s.enabled,
            next_run=next_run(s.schedule, s.tz, now) if s.enabled else None,
        )
        for s in experiments
    ]


def _journal(r: Any, view: type[V]) -> V:
    journal: dict[str, Any] = r.journal if isinstance(r.journal, dict) else {}

    def part(key: str, kind: type) -> Any:
        value = journal.get(key)
        return value if isinstance(value, kind) else kind()

    extra, aborted, problems = (
        part("prodshield", dict),
        part("aborted_by", dict),
        part("problems", list),
    )
    before = part("steady_states", dict).get("before")
    before_met = not (isinstance(before, dict) and before.get("steady_state_met") is False)
    reason = (
        journal.get("skipped")
        or "; ".join(str(p) for p in problems[:3])
        or (
            f"aborted: check {aborted.get('check')} failed ({aborted.get('detail')})"
            if aborted
            else ""
        )
        or journal.get("error")
        or ("" if before_met else "steady state not met before the method")
        or _outcome(journal, bool(r.deviated))
    )
    environment = extra.get("environment")
    fields: dict[str, Any] = {
        "id": int(r.id),
        "title": r.title,
        "status": r.status,
        "deviated": bool(r.deviated),
        # green only for a run that completed and held its steady state (before the method too:
        # Chaos Toolkit says "completed" when the steady state was not met and nothing ran)
        "ok": r.status == "completed" and not r.deviated and before_met,
        "running": r.status == "running",
        "started_at": r.started_at,
        "ended_at": r.ended_at,
        "duration_s": None if r.ended_at is None else r.ended_at - r.started_at,
        "steps": len(journal.get("run", []) or []),
        "source": str(extra.get("source") or ""),
        "environment": None if environment is None else str(environment),
        "toxics": [x for x in extra.get("toxics") or [] if isinstance(x, dict)],
        "reason": str(reason)[:500],
    }
    if view is JournalDetailView:
        fields["journal"] = journal
    return view(**fields)


def _outcome(journal: dict[str, Any], deviated: bool) -> str:
    """Why a run that went to its end is not green: its first failed activity (in the method or
    in the steady state after it), the steady state not met after the method, and rollbacks that
    were not played (their faults may still be on: a toxic left on a proxy)."""
    said: list[str] = []
    after = _mapping(_mapping(journal.get("steady_states")).get("after")).get("probes") or []
    for run in [*(journal.get("run") or []), *after]:
        if isinstance(run, dict) and run.get("status") == "failed":
            activity = _mapping(run.get("activity"))
            lines = "".join(str(x) for x in run.get("exception") or []).strip().splitlines()
            # "prodshield...ActivityFailed: GET ...: no answer" says its point after the class
            why = f": {_EXCEPTION_CLASS.sub('', lines[-1])}" if lines else ""
            said.append(f"{activity.get('type', 'activity')} {activity.get('name')} failed{why}")
            break
    if deviated:
        said.append("steady state not met after the method")
    planned = len(_mapping(journal.get("experiment")).get("rollbacks") or [])
    played = len(journal.get("rollbacks") or [])
    if said and planned and not played and journal.get("status") != "running":
        rollbacks = plural(planned, "rollback")
        said.append(f"{rollbacks} not played (the faults may still be in place)")
    return "; ".join(said)


_EXCEPTION_CLASS = re.compile(r"^[\w.]+: ")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
