"""Incidents of what shield.yaml no longer has: resolved, with the reason, like a recovery.

A check removed from shield.yaml (or disabled, or taken out of an environment) gets no more
results, so nothing would ever resolve its open incident: it stayed open on the status page and
its GitHub issue was never closed. ``serve`` (at start and at each reload that changes the checks),
``monitor run`` and ``monitor once`` call :func:`resolve_removed` with the config they run: each
such incident is resolved (``resolved_by``: ``config``), keeps a note saying why, and its
notifiers get the one ``incident.resolved`` a recovery sends (the issue closes). The same goes
for an SLO incident whose SLO (or service) is gone. A renamed check is a removed one and a new
one. Manual incidents are about no check and are left alone.

A store that is lost (a workflow's cache evicted) takes the incident with it, and the next run
knows nothing to resolve. :func:`close_removed_issues` (``monitor once``, after its deliveries)
asks each enabled ``github`` notifier instead (monitor/incident_issues.py walks them): every open
issue it wrote (signed subject marker, its own account; notify/markers.py) whose subject names an
incident of a check that shield.yaml no longer runs gets one comment saying why and is closed. Its kind comes from the issue's own fields table;
an issue whose kind is ``manual``, unknown or ambiguous is left open, and so is one whose thread
still has a notification waiting in the outbox (the store knows it, and that notification says
it). Without ``marker_key`` a fresh store has a fresh key and recognises no earlier issue.
"""

from __future__ import annotations

import time
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from prodshield.config.schema import ShieldConfig
from prodshield.config.types import format_elapsed
from prodshield.monitor import incident_issues, slo
from prodshield.monitor.expand import expand_checks
from prodshield.monitor.incidents import MANUAL, RESOLVED, _md, _note, _tell, shown_name
from prodshield.notify.event import Event
from prodshield.store import Store
from prodshield.store import tables as t

RESOLVED_BY = "config"
"""``incidents.resolved_by`` of an incident resolved because shield.yaml dropped its target."""
BY = "prodshield"


@dataclass(frozen=True, slots=True)
class Removed:
    """One incident resolved because its target left shield.yaml."""

    incident_id: int
    check: str
    environment: str
    reason: str


def reason_gone(config: ShieldConfig, check: str, environment: str, kind: str) -> str | None:
    """Why an open incident of ``check`` in ``environment`` can never resolve by itself under
    ``config`` (``check removed from shield.yaml``), or None while its target is still run."""
    if kind == MANUAL:
        return None
    if kind == slo.KIND and check.startswith(slo.SERVICE_PREFIX):
        service = check[len(slo.SERVICE_PREFIX) :]
        spec = config.services.get(service)
        if spec is None:
            return "service removed from shield.yaml"
        if spec.slo is None:
            return "service SLO removed from shield.yaml"
        run = {tg.environment for tg in expand_checks(config) if tg.service == service}
        return None if environment in run else "service's checks removed from shield.yaml"
    found = next((c for c in config.checks if c.name == check), None)
    if found is None:
        return "check removed from shield.yaml"
    if not found.enabled:
        return "check disabled in shield.yaml"
    envs = list(found.environments) if found.environments else [""]
    if environment not in envs:
        return f"environment {environment or '(none)'} removed from the check in shield.yaml"
    if kind == slo.KIND and found.slo is None:
        return "SLO removed from shield.yaml"
    return None


def resolve_removed(store: Store, config: ShieldConfig, now: float | None = None) -> list[Removed]:
    """Resolve every open incident whose check (or SLO) ``config`` no longer has, each in its own
    transaction with its notifications; return what was resolved. Safe to run from several
    instances at once: only the one whose update finds the incident still open tells anyone."""
    now = time.time() if now is None else now
    i = t.incidents
    with store.connect() as conn:
        rows = conn.execute(
            select(i.c.id, i.c.check_name, i.c.environment, i.c.kind).where(
                i.c.status == "open", i.c.kind != MANUAL
            )
        ).all()
    gone = [
        (row, reason)
        for row in rows
        if (reason := reason_gone(config, row.check_name, row.environment, row.kind)) is not None
    ]
    done: list[Removed] = []
    for row, reason in gone:
        if _resolve(store, config, int(row.id), reason, now):
            done.append(Removed(int(row.id), row.check_name, row.environment, reason))
    return done


def _resolve(store: Store, config: ShieldConfig, incident_id: int, reason: str, now: float) -> bool:
    i, s = t.incidents, t.check_state
    with store.begin() as conn:
        row = conn.execute(select(i).where(i.c.id == incident_id)).first()
        if row is None or row.status != "open":
            return False
        at = max(now, row.opened_at)
        changed = conn.execute(
            i.update()
            .where(i.c.id == incident_id, i.c.status == "open")
            .values(
                status="resolved",
                resolved_at=at,
                resolved_by=RESOLVED_BY,
                notes=[*(row.notes or []), _note(reason, BY, now)],
            )
        )
        if changed.rowcount != 1:  # another instance resolved it meanwhile
            return False
        if row.kind != slo.KIND:  # the check's state goes with it (a re-added check starts afresh)
            conn.execute(
                s.delete().where(
                    s.c.check_name == row.check_name,
                    s.c.environment == row.environment,
                    s.c.open_incident_id == incident_id,
                )
            )
        env = f"[{row.environment}] " if row.environment else ""
        name = shown_name(row.check_name, row.kind)
        took = format_elapsed(max(0.0, at - row.opened_at))
        where = f" in **{_md(row.environment)}**" if row.environment else ""
        body = (
            f"Resolved: {reason}. **{_md(name)}**{where} is no longer checked, so nothing more "
            f"will be said about it (the incident was open for {took})."
        )
        _tell(
            conn, config, row, RESOLVED, "resolved", body, BY, now, title=f"{env}{name}: {reason}"
        )
    return True


@dataclass(frozen=True, slots=True)
class ClosedIssue:
    """One GitHub issue closed because its check left shield.yaml while no store knew it."""

    notifier: str
    number: int
    check: str
    environment: str
    reason: str


async def close_removed_issues(
    store: Store, config: ShieldConfig, *, timeout: float = 10.0
) -> tuple[list[ClosedIssue], list[str]]:
    """Close, with a comment saying why, every open GitHub issue an enabled ``github`` notifier
    of ``config`` wrote for an incident whose check (or SLO) ``config`` no longer runs; return the
    issues closed and one line per notifier that could not be asked (it is asked again next run).
    """
    closed: list[ClosedIssue] = []
    failed: list[str] = []
    async with aclosing(incident_issues.walk(store, config, timeout=timeout)) as listings:
        async for listing in listings:
            if isinstance(listing, str):
                failed.append(listing)
                continue
            try:
                for issue in listing.issues:
                    shut = await _close_if_removed(listing, config, issue)
                    if shut is not None:
                        closed.append(shut)
            except Exception as exc:  # the run's own work is done; the next run asks again
                failed.append(incident_issues.failure(listing.name, exc))
    return closed, failed


async def _close_if_removed(
    listing: incident_issues.Listing, config: ShieldConfig, issue: dict[str, Any]
) -> ClosedIssue | None:
    thread = incident_issues.incident_thread(issue, listing.queued)
    if thread is None:
        return None
    subject, number = thread.subject, thread.number
    check, environment, kind = thread.check, thread.environment, thread.kind
    reason = reason_gone(config, check, environment, kind)
    if reason is None:
        return None
    env = f"[{environment}] " if environment else ""
    name = shown_name(check, kind)
    where = f" in **{_md(environment)}**" if environment else ""
    event = Event(
        key=f"removed:{number}:{subject}"[:255],
        type=RESOLVED,
        subject=subject,
        title=f"{env}{name}: {reason}",
        body=(
            f"Resolved: {reason}. **{_md(name)}**{where} is no longer checked, so nothing more "
            "will be said about it. No incident in this run's store follows this issue (the "
            "store that opened it was lost, as a workflow's evicted cache is), so it is closed "
            "here."
        ),
    )
    await listing.notifier.close_thread(listing.ctx, number, event)
    return ClosedIssue(listing.name, number, check, environment, reason)
