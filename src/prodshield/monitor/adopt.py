"""Adopting the GitHub issue of an incident that a lost store forgot.

``monitor once`` in a workflow keeps its store in the Actions cache, which GitHub evicts. The open
incident of a check that is *still* configured goes with it: the next run's store knows no
incident, so passing results close nothing and the issue stays open (until the check's next
outage finds and reuses it). So the first time a store talks to a ``github`` notifier
(:func:`find_orphans`, once per store and notifier: a ``kv`` mark), it lists the open issues
the notifier wrote and :func:`adopt` makes each one an open incident again: same check,
environment and kind, opened when the issue was created. The usual rules then apply: after
``success_threshold`` passing results the incident resolves and the recovery closes the issue;
a failure continues it, never a second issue.

Only under the proofs ``removed.close_removed_issues`` asks for: a subject marker signed with the
notifier's key (``marker_key``: a fresh store's own key recognises nothing) on an issue its own
account wrote, an incident thread (``incident:`` or ``slo:``) whose kind the issue's fields table
names (a manual incident's is left alone), a check (or SLO) shield.yaml still runs, and nothing
queued for the thread in the store. An issue the store already follows (an open incident of the
thread, or one resolved since the issue was created) is not adopted again. The escalation levels
an adopted incident would have reached by now count as reached (the lost store paged them); they
hear its resolution.

``monitor once`` adopts before its checks run; ``monitor run`` and ``serve`` look at start-up
(:func:`startup_sweep`, also closing the issues of removed checks) and hand what they found to
their incident engine, which adopts it in the transaction of its next results.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, desc, select

from prodshield.config.schema import ShieldConfig
from prodshield.monitor import escalation, incident_issues, slo
from prodshield.monitor.incidents import (
    IncidentEngine,
    _load_state,
    _note,
    _save_state,
    severity_of,
    shown_name,
)
from prodshield.monitor.removed import reason_gone
from prodshield.store import Store
from prodshield.store import tables as t

KV_NAMESPACE = "notify"
BY = "prodshield"
STARTUP_BOUND_S = 60.0
"""The start-up sweep of ``monitor run`` and ``serve`` gives up after this long (next start)."""

_WHAT = {
    "down": "is down",
    "degraded": "is degraded",
    "heartbeat": "missed its heartbeat",
    "flapping": "is flapping",
    "certificate": "has a TLS certificate that expires soon",
    slo.KIND: "is burning its error budget",
}


def _mark(notifier: str) -> str:
    """The ``kv`` key saying this store already looked at ``notifier``'s open issues."""
    return f"adopted:{notifier}"[:255]


@dataclass(frozen=True, slots=True)
class Orphan:
    """An open issue of an incident thread that no store follows (as far as the listing says)."""

    notifier: str
    number: int
    check: str
    environment: str
    kind: str
    opened_at: float
    error_kind: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """What one look at GitHub found: the orphans, the notifiers fully listed (marked as looked
    at once adopted), and one line per notifier that could not be asked."""

    orphans: list[Orphan] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Adopted:
    """An issue adopted as an open incident."""

    notifier: str
    number: int
    incident_id: int
    check: str
    environment: str
    kind: str


def _created(value: Any, now: float) -> float:
    """An issue's ``created_at`` (ISO 8601) as a timestamp, never in the future; ``now`` when
    unreadable."""
    try:
        at = datetime.fromisoformat(str(value)).timestamp()
    except (TypeError, ValueError):
        return now
    return min(at, now)


def _orphan(
    config: ShieldConfig, notifier: str, issue: dict[str, Any], queued: set[str], now: float
) -> Orphan | None:
    thread = incident_issues.incident_thread(issue, queued)
    if thread is None:
        return None
    check, environment, kind = thread.check, thread.environment, thread.kind
    if reason_gone(config, check, environment, kind) is not None:
        return None  # close_removed_issues closes it
    opened_at = _created(issue.get("created_at"), now)
    error = incident_issues.error_kind_of(thread.body)
    return Orphan(notifier, thread.number, check, environment, kind, opened_at, error)


async def find_orphans(
    store: Store, config: ShieldConfig, *, timeout: float = 10.0, now: float | None = None
) -> Found:
    """The open issues of configured checks' incidents that each enabled ``github`` notifier
    wrote and this store has not looked at yet (each notifier once per store)."""
    now = time.time() if now is None else now
    found = Found()

    def unmarked(name: str) -> bool:
        return store.kv_get(KV_NAMESPACE, _mark(name)) is None

    walk = incident_issues.walk(store, config, wanted=unmarked, timeout=timeout)
    async with aclosing(walk) as listings:
        async for listing in listings:
            if isinstance(listing, str):  # asked again by the next run (nothing marked)
                found.failed.append(listing)  # the caller says it, in one line
                continue
            found.asked.append(listing.name)
            for issue in listing.issues:
                orphan = _orphan(config, listing.name, issue, listing.queued, now)
                if orphan is not None:
                    found.orphans.append(orphan)
    return found


def adopt(conn: Connection, config: ShieldConfig, found: Found, now: float) -> list[Adopted]:
    """Open an incident for each orphan no incident of the store follows, in ``conn``'s
    transaction, and mark the notifiers asked as looked at; return what was adopted."""
    engine = IncidentEngine(config)
    done: list[Adopted] = []
    seen: set[tuple[str, str, bool]] = set()
    for o in sorted(found.orphans, key=lambda o: o.number):
        thread = (o.check, o.environment, o.kind == slo.KIND)
        if thread in seen or _followed(conn, o):
            continue  # the lowest-numbered issue is the thread's (the notifier writes there)
        seen.add(thread)
        incident_id = _open(conn, engine, o, now)
        done.append(Adopted(o.notifier, o.number, incident_id, o.check, o.environment, o.kind))
    kv = t.kv
    for name in found.asked:
        conn.execute(kv.delete().where(kv.c.namespace == KV_NAMESPACE, kv.c.key == _mark(name)))
        conn.execute(
            kv.insert().values(namespace=KV_NAMESPACE, key=_mark(name), value=now, updated_at=now)
        )
    return done


def _followed(conn: Connection, o: Orphan) -> bool:
    """Does the store follow this thread: an open incident, or one resolved since the issue was
    opened (its resolution closed the issue, or is still to be told: not ours to redo)?"""
    i = t.incidents
    same_kind = i.c.kind == slo.KIND if o.kind == slo.KIND else i.c.kind != slo.KIND
    row = conn.execute(
        select(i.c.id)
        .where(
            i.c.check_name == o.check,
            i.c.environment == o.environment,
            same_kind,
            (i.c.status == "open") | (i.c.resolved_at >= o.opened_at),
        )
        .order_by(desc(i.c.opened_at))
        .limit(1)
    ).first()
    return row is not None


def _open(conn: Connection, engine: Any, o: Orphan, now: float) -> int:
    policy = engine.policy_for(o.check)
    afters = [after for after, _ in policy.escalation]
    due = escalation.due_levels(afters, o.opened_at, now, acknowledged=False, reached=set())
    reached = [
        {"level": level, "at": now, "after": afters[level - 1], "adopted": True}
        | {"notify": list(policy.escalation[level - 1][1])}
        for level in due
    ]
    env = f"[{o.environment}] " if o.environment else ""
    note = (
        f"Adopted from GitHub issue #{o.number} ({o.notifier}): the store that opened this "
        "incident was lost; it is open since the issue was."
    )
    refs: dict[str, Any] = {"adopted": {"notifier": o.notifier, "issue": o.number}}
    if reached:
        refs["escalated"] = reached
    i = t.incidents
    result = conn.execute(
        i.insert().values(
            check_name=o.check,
            environment=o.environment,
            kind=o.kind,
            severity=severity_of(o.kind),
            title=f"{env}{shown_name(o.check, o.kind)} {_WHAT.get(o.kind, 'is down')}",
            status="open",
            opened_at=o.opened_at,
            failing_conditions=[],
            error_kinds=[o.error_kind] if o.error_kind else [],
            last_error_kind=o.error_kind,
            notes=[_note(note, BY, now)],
            refs=refs,
        )
    )
    pk = result.inserted_primary_key
    assert pk is not None
    incident_id = int(pk[0])
    if o.kind != slo.KIND:  # an SLO incident is judged by its burn, not the check's machine
        state = _load_state(conn, o.check, o.environment)
        state.open_incident_id, state.open_kind = incident_id, o.kind
        state.opened_at, state.open_error_kind = o.opened_at, o.error_kind
        state.last_reminder_at = now
        _save_state(conn, o.check, o.environment, state, now, o.kind)
    return incident_id


def adopt_now(store: Store, config: ShieldConfig, found: Found) -> list[Adopted]:
    """:func:`adopt` in a transaction of its own (``monitor once``, before its checks run)."""
    if not found.asked:
        return []
    with store.begin() as conn:
        return adopt(conn, config, found, time.time())


async def startup_sweep(
    store: Store,
    config: ShieldConfig,
    adopt_later: Callable[[Callable[[Connection, float], None]], None] | None,
    say: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
    *,
    bound_s: float = STARTUP_BOUND_S,
) -> None:
    """What ``monitor run`` and ``serve`` do once at start-up, beside their checks: close the
    issues of removed checks (``removed.close_removed_issues``), then hand the adoption of
    configured checks' orphans to ``adopt_later`` (the incident engine's: adopted in the
    transaction of its next results). Each outcome is one line through ``say``, each failure one
    through ``warn``; nothing raises, nothing waits longer than ``bound_s`` (the next start
    looks again)."""
    from prodshield.monitor.removed import close_removed_issues

    warn = warn or say
    if not incident_issues.github_notifiers(config):
        return
    try:
        async with asyncio.timeout(bound_s):
            closed, failed = await close_removed_issues(store, config)
            for c in closed:
                where = f" [{c.environment}]" if c.environment else ""
                say(f"issue #{c.number} closed ({c.notifier}): {c.check}{where}: {c.reason}")
            for line in failed:
                warn(f"issues of removed checks not looked for: {line}")
            found = await find_orphans(store, config)
    except Exception as exc:  # one line, never a traceback: the next start looks again
        why = str(exc) or type(exc).__name__
        warn(f"GitHub issues not looked at (tried again at the next start): {why}")
        return
    for line in found.failed:
        warn(f"open issues not looked at (tried again at the next start): {line}")

    def apply(conn: Connection, now: float) -> None:
        for a in adopt(conn, config, found, now):
            say(describe(a))

    if found.asked and adopt_later is not None:
        adopt_later(apply)


def describe(a: Adopted) -> str:
    """One line for an adopted issue (``monitor once`` prints the same)."""
    where = f" [{a.environment}]" if a.environment else ""
    return (
        f"issue #{a.number} adopted ({a.notifier}) as incident #{a.incident_id}: "
        f"{shown_name(a.check, a.kind)}{where} {a.kind} (its store was lost)"
    )
