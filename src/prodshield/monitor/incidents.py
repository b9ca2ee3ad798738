"""Incidents: consecutive failures open one, consecutive successes resolve it.

Per (check, environment) an incident opens after ``failure_threshold`` consecutive failures and
resolves after ``success_threshold`` consecutive successes; a check that keeps changing state
without settling makes one "flapping" incident instead of a storm. The rules are one pure function,
:func:`prodshield.monitor.incident_machine.step`; this module loads its state, stores what it
returns and performs its events (incident rows, notifications). Every change is written in the caller's transaction
together with the results that caused it and the outbox events that announce it, so a crash at any
point either keeps all of it or none of it, and the next run sees the same state again.

A check run from several locations (``locations: N``) is judged by its lead location's instance:
each of its results becomes a verdict over the latest fresh result of every location, failing only
when ``quorum`` of them fail (one location's network trouble does not page anyone).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, desc, select
from sqlalchemy.dialects import postgresql, sqlite

from prodshield import evidence
from prodshield.config.schema import ShieldConfig
from prodshield.config.types import format_duration, format_elapsed
from prodshield.errors import Conflict, Invalid, NotFound
from prodshield.monitor import escalation, grouping, silences, slo
from prodshield.monitor.incident_machine import (
    OPENED,
    REMINDER,
    RESOLVED,
    UPDATED,
    Event,
    MachineState,
    Rules,
    Verdict,
    check_status,
    kind_of,
    quorum_fails,
    step,
)
from prodshield.notify.event import clean_payload
from prodshield.notify.outbox import enqueue_in
from prodshield.secrets.redaction import redact_text
from prodshield.store import tables as t
from prodshield.text import clip, code_span, fence, md_code, md_text

log = logging.getLogger(__name__)

__all__ = [
    "OPENED",
    "REMINDER",
    "RESOLVED",
    "UPDATED",
    "CheckOutcome",
    "IncidentEngine",
    "PhaseChange",
]


@dataclass
class CheckOutcome:
    """One check result, as the incident logic needs it."""

    check: str
    environment: str
    ts: float
    ok: bool
    error_kind: str | None = None
    error_message: str | None = None
    failing_conditions: list[str] = field(default_factory=list)
    response_time_ms: float | None = None
    result_id: int | None = None
    target: str | None = None
    maintenance: str | None = None
    location: str | None = None
    votes: dict[str, bool] | None = None
    """For a check run from several locations: each location's latest result (ok or not)."""
    kind: str = "down"
    """Why it fails, as an incident kind (:func:`kind_of`)."""
    days_left: int | None = None
    """For a certificate close to expiry: whole days left."""
    output: str | None = None
    """For a failed heartbeat job: the end of the output it sent (secrets masked)."""


@dataclass(frozen=True)
class Policy:
    failure_threshold: int
    success_threshold: int
    flap_threshold: int
    flap_window: float
    remind_every: float | None
    notifiers: tuple[str, ...]
    rules: Rules = field(default_factory=Rules)
    escalation: tuple[tuple[float, tuple[str, ...]], ...] = ()
    """The escalation policy's levels: (after, enabled notifiers)."""
    escalation_name: str | None = None


@dataclass(frozen=True)
class PhaseChange:
    """A target moved from one phase of the state machine to another (up, failing, down,
    recovering, flapping); with the incident event it caused, if any."""

    ts: float
    check: str
    environment: str
    before: str
    after: str
    error: str | None = None
    incident: IncidentChange | None = None


@dataclass
class IncidentChange:
    type: str  # one of OPENED, UPDATED, REMINDER, RESOLVED
    incident_id: int
    check: str
    environment: str
    kind: str  # down | degraded | certificate | heartbeat | flapping


class IncidentEngine:
    """Turns observations into incident rows and outbox events, inside a store transaction."""

    def __init__(self, config: ShieldConfig, *, dashboard_url: str | None = None) -> None:
        self.config = config
        self.dashboard_url = (dashboard_url or config.serve.public_url or "").rstrip("/") or None
        self._checks = {c.name: c for c in config.checks}
        self._targets: dict[tuple[str, str], str | None] | None = None
        self._evidence_at: dict[int, float] = {}
        self._slo_at: dict[tuple[str, str], float] = {}
        self.last_changes: list[PhaseChange] = []
        """The phase changes of the last :meth:`process` call (``monitor run -v`` prints them)."""
        self._adoptions: list[Callable[[Connection, float], None]] = []

    def adopt_later(self, adopt: Callable[[Connection, float], None]) -> None:
        """Run ``adopt(conn, now)`` in the transaction of the next :meth:`process`, before its
        results are judged (``prodshield.monitor.adopt``: open GitHub issues a lost store forgot
        become open incidents again, and no result of the same check is judged beside them)."""
        self._adoptions.append(adopt)

    def observations(
        self, results: Sequence[Any], *, location: str | None = None
    ) -> list[CheckOutcome]:
        """Observations for monitor ``CheckResult``s (probed from ``location``), with maintenance
        windows applied."""
        from prodshield.monitor.maintenance import in_maintenance

        out = []
        for r in results:
            check = self._checks.get(r.check)
            failed = [c for c in r.conditions if not c.ok]
            kind = kind_of(getattr(check, "type", ""), failed, r.error.kind if r.error else None)
            out.append(
                CheckOutcome(
                    check=r.check,
                    environment=r.environment,
                    ts=r.ts,
                    ok=r.ok,
                    error_kind=r.error.kind if r.error else None,
                    error_message=r.error.message if r.error else None,
                    failing_conditions=[c.describe() for c in r.conditions if not c.ok],
                    response_time_ms=r.response_time_ms,
                    target=(r.details or {}).get("url"),
                    maintenance=in_maintenance(
                        self.config.maintenance, r.check, r.environment, r.ts
                    ),
                    location=location,
                    kind=kind,
                    days_left=days_left(failed) if kind == "certificate" else None,
                    output=None if r.ok else (r.details or {}).get("output"),
                )
            )
        return out

    def policy_for(self, check: str) -> Policy:
        d = self.config.defaults
        c = self._checks.get(check)
        alerts = c.alerts if c is not None and c.alerts is not None else list(self.config.notifiers)
        enabled = tuple(
            n for n in alerts if n in self.config.notifiers and self.config.notifiers[n].enabled
        )
        failure = c.failure_threshold if c and c.failure_threshold else d.failure_threshold
        success = c.success_threshold if c and c.success_threshold else d.success_threshold
        remind = c.remind_every if c and c.remind_every else d.remind_every
        # a check's own `escalation: null` opts out of the default policy
        own = c is not None and "escalation" in c.model_fields_set
        name = c.escalation if own and c is not None else d.escalation
        levels = tuple(
            (
                float(level.after),
                tuple(
                    n
                    for n in level.notify
                    if n in self.config.notifiers and self.config.notifiers[n].enabled
                ),
            )
            for level in self.config.escalations.get(name or "", [])
        )
        return Policy(
            escalation=levels,
            escalation_name=name,
            failure_threshold=failure,
            success_threshold=success,
            flap_threshold=d.flap_threshold,
            flap_window=d.flap_window,
            remind_every=remind,
            notifiers=enabled,
            rules=Rules(
                failure_threshold=failure,
                success_threshold=success,
                flap_threshold=d.flap_threshold,
                flap_window=float(d.flap_window),
                flap_stable=float(d.flap_stable),
                remind_every=float(remind) if remind else None,
            ),
        )

    def process(
        self, conn: Connection, observations: Iterable[CheckOutcome], now: float | None = None
    ) -> list[IncidentChange]:
        """Apply observations in time order; return the incident changes they caused."""
        changes: list[IncidentChange] = []
        self.last_changes = []
        if self._adoptions:
            self._adopt(conn, time.time() if now is None else now)
        # parents before their dependants, so a child failing in the same run finds its parent's
        # incident open; each check's own results stay in time order
        for obs in sorted(observations, key=lambda o: (self._depth(o.check), o.ts)):
            check = self._checks.get(obs.check)
            if check is not None and (check.locations or 1) > 1:
                self._judge(conn, obs, check)
            at = time.time() if now is None else now
            changes.extend(self._observe(conn, obs, at))
            if check is not None and check.slo is not None:
                key = (obs.check, obs.environment)
                if at - self._slo_at.get(key, float("-inf")) >= slo.every(check.slo):
                    self._slo_at[key] = at
                    state = slo.status(conn, obs.check, obs.environment, check.slo, at)
                    changes.extend(self._judge_slo(conn, obs, state, at, self._link(obs)))
            service = (check.service or check.name) if check is not None else None
            spec = self.config.services.get(service) if service is not None else None
            if service is not None and spec is not None and spec.slo is not None:
                key = (slo.SERVICE_PREFIX + service, obs.environment)
                if at - self._slo_at.get(key, float("-inf")) >= slo.every(spec.slo):
                    self._slo_at[key] = at
                    members = [
                        c.name for c in self.config.checks if (c.service or c.name) == service
                    ]
                    found = slo.service_statuses(
                        conn, {service: (spec.slo, members)}, at, environment=obs.environment
                    )
                    state = found.get((service, obs.environment)) or slo.status_without_results(
                        spec.slo
                    )
                    # the service's own target: its incident, silences and thread are not a check's
                    as_service = dataclasses.replace(obs, check=key[0])
                    changes.extend(
                        self._judge_slo(
                            conn, as_service, state, at, self._link(obs), policy_check=obs.check
                        )
                    )
        return changes

    def _adopt(self, conn: Connection, now: float) -> None:
        pending, self._adoptions = self._adoptions, []
        for adopt in pending:
            adopt(conn, now)

    # --- SLOs ----------------------------------------------------------------------------------

    def _judge_slo(
        self,
        conn: Connection,
        obs: CheckOutcome,
        state: slo.Status,
        now: float,
        url: str | None,
        policy_check: str | None = None,
    ) -> list[IncidentChange]:
        """Open an ``slo`` incident when a burn-rate alert fires, resolve it when none does;
        while it fires unacknowledged, page its escalation levels as they fall due. A service's
        SLO (``policy_check``: the check whose result was judged) keeps that check's notifiers
        and escalation for the incident's whole life."""
        i = t.incidents
        row = conn.execute(
            select(i).where(
                i.c.check_name == obs.check,
                i.c.environment == obs.environment,
                i.c.kind == slo.KIND,
                i.c.status == "open",
            )
        ).first()
        fire = state.firing
        # a service's SLO speaks through the policy of the check whose result opened it
        judged = (row.refs or {}).get("policy_check") if row is not None else None
        policy = self.policy_for(judged or policy_check or obs.check)
        env = f"[{obs.environment}] " if obs.environment else ""
        if fire is not None and row is not None:
            # still burning: unacknowledged, it escalates like any incident
            if policy.escalation:
                self._escalate(conn, policy, row, obs, now)
            return []
        if fire is not None and row is None:
            result = conn.execute(
                i.insert().values(
                    check_name=obs.check,
                    environment=obs.environment,
                    kind=slo.KIND,
                    severity="critical" if fire.alert.burn_rate >= 6 else "high",
                    title=f"{env}{shown_name(obs.check, slo.KIND)} is burning its error budget "
                    f"({fire.alert.burn_rate:g}x)",
                    status="open",
                    opened_at=now,
                    failing_conditions=[],
                    error_kinds=[],
                    notes=[],
                    refs={"slo": state.as_dict()}
                    | ({"policy_check": policy_check} if policy_check else {}),
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            incident = _load_incident(conn, int(pk[0]))
            self._notify_slo(conn, policy, OPENED, incident, obs, state, now, url)
            if policy.escalation:
                self._escalate(conn, policy, incident, obs, now)
            return [IncidentChange(OPENED, incident.id, obs.check, obs.environment, slo.KIND)]
        if fire is None and row is not None:
            refs = {**(row.refs or {}), "slo": state.as_dict()}
            conn.execute(
                i.update()
                .where(i.c.id == row.id)
                .values(status="resolved", resolved_at=now, resolved_by="checks", refs=refs)
            )
            incident = _load_incident(conn, row.id)
            self._notify_slo(conn, policy, RESOLVED, incident, obs, state, now, url)
            return [IncidentChange(RESOLVED, row.id, obs.check, obs.environment, slo.KIND)]
        return []

    def _notify_slo(
        self,
        conn: Connection,
        policy: Policy,
        event_type: str,
        incident: Any,
        obs: CheckOutcome,
        state: slo.Status,
        now: float,
        url: str | None,
    ) -> None:
        silence = silences.active(conn, obs.check, obs.environment, now)
        if silence is not None:
            silences.record(conn, incident, silence, event_type, now)
            if event_type != RESOLVED or silences.held_opening(incident):
                return
        # the levels its escalation reached hear the resolution too, so their pages clear
        notifiers = escalation.audience(policy.notifiers, incident.refs)
        if not notifiers:
            return
        env = f"[{obs.environment}] " if obs.environment else ""
        left = state.budget_remaining
        budget = "unknown" if left is None else f"{left * 100:.1f}%"
        fire = state.firing
        if event_type == OPENED and fire is not None:
            title = incident.title
            body = (
                f"**{shown_name(obs.check, slo.KIND)}**"
                f"{f' in **{obs.environment}**' if obs.environment else ''} "
                f"burns its error budget too fast: {fire.describe()}.\n\n"
                f"- Objective: {state.objective:g}% over {format_duration(state.window)}\n"
                f"- Error budget left: {budget} ({state.failed} of {state.total} results failed)"
            )
        else:
            title = (
                f"{env}{shown_name(obs.check, slo.KIND)}: "
                "the error budget burn is back under its alerts"
            )
            body = f"No burn-rate alert fires any more. Error budget left: {budget}."
        enqueue_in(
            conn,
            notifiers,
            {
                "key": f"incident:{incident.id}:{event_type.split('.')[1]}",
                "type": event_type,
                # its own thread: a paging service must not fold it into the check's outage
                "subject": thread_of(slo.KIND, obs.check, obs.environment),
                "title": title,
                "body": body,
                "severity": (incident.severity or "high") if event_type == OPENED else "info",
                "fields": {
                    "check": obs.check,
                    "environment": obs.environment or "(none)",
                    "kind": slo.KIND,
                    "objective": f"{state.objective:g}%",
                    "error_budget_left": budget,
                    "status": "burning" if event_type == OPENED else "resolved",
                },
                "url": url,
                "labels": labels_of(self.config, obs.environment),
            },
            now,
        )

    # --- dependencies (depends_on) ---------------------------------------------------------------

    def _depth(self, check: str, seen: frozenset[str] = frozenset()) -> int:
        c = self._checks.get(check)
        if c is None or not c.depends_on or check in seen:
            return 0
        return 1 + max(self._depth(p, seen | {check}) for p in c.depends_on)

    def _down_parent(self, conn: Connection, obs: CheckOutcome) -> Any:
        """The open incident of a check ``obs.check`` depends on, in its environment (or None)."""
        c = self._checks.get(obs.check)
        if c is None or not c.depends_on:
            return None
        i = t.incidents
        return conn.execute(
            select(i.c.id, i.c.check_name)
            .where(
                i.c.check_name.in_(list(c.depends_on)),
                i.c.environment == obs.environment,
                i.c.status == "open",
                # a hand-opened incident or an error budget burn is no check's outage
                i.c.kind.not_in([MANUAL, slo.KIND]),
            )
            .order_by(i.c.opened_at)
            .limit(1)
        ).first()

    def _suppressed_children(self, conn: Connection, incident: Any) -> list[str]:
        """The checks whose incidents were suppressed while ``incident`` was open."""
        dependants = [c.name for c in self.config.checks if incident.check_name in c.depends_on]
        if not dependants:
            return []
        i = t.incidents
        rows = conn.execute(
            select(i.c.check_name, i.c.refs).where(
                i.c.check_name.in_(dependants),
                i.c.environment == incident.environment,
                i.c.id > incident.id,  # suppressed incidents open after their parent's
            )
        ).all()
        return sorted(
            {r.check_name for r in rows if (r.refs or {}).get("parent_incident") == incident.id}
        )

    def _lift(
        self, conn: Connection, policy: Policy, incident: Any, obs: CheckOutcome, now: float
    ) -> Any:
        """A suppressed incident whose parent recovered while it still fails is paged now."""
        refs = dict(incident.refs or {})
        parent = _load_incident(conn, refs.get("parent_incident"))
        if parent is not None and parent.status == "open":
            return incident
        refs["was_suppressed_by"] = refs.pop("suppressed_by")
        i = t.incidents
        conn.execute(i.update().where(i.c.id == incident.id).values(refs=refs))
        incident = _load_incident(conn, incident.id)
        self._notify(conn, policy, OPENED, incident, obs, now)
        return incident

    def _list_in_parent(self, conn: Connection, parent: Any) -> None:
        """A child suppressed in the run that opened its parent's incident: the parent's
        ``incident.opened`` notifications, still queued in this transaction, list it too."""
        incident = _load_incident(conn, parent.id)
        children = self._suppressed_children(conn, incident)
        o = t.outbox
        rows = conn.execute(
            select(o.c.id, o.c.payload).where(
                o.c.idempotency_key == f"incident:{parent.id}:opened", o.c.status == "pending"
            )
        ).all()
        for row in rows:
            payload = dict(row.payload or {})
            payload["fields"] = {**(payload.get("fields") or {}), "suppressed": ", ".join(children)}
            conn.execute(o.update().where(o.c.id == row.id).values(payload=payload))

    # --- silences ------------------------------------------------------------------------------

    def _after_silence(
        self, conn: Connection, policy: Policy, incident: Any, obs: CheckOutcome, now: float
    ) -> Any:
        """An open incident whose silence is over: what the silence held back is announced now
        (the opening, once), and the notifications resume."""
        entry = (incident.refs or {}).get("silence")
        if not entry or entry.get("released_at") is not None:
            return incident
        if silences.active(conn, obs.check, obs.environment, now) is not None:
            return incident
        owed = silences.released(conn, incident, now)
        incident = _load_incident(conn, incident.id)
        if owed and not (incident.refs or {}).get("suppressed_by"):
            self._notify(conn, policy, OPENED, incident, obs, now)
            incident = _load_incident(conn, incident.id)
        return incident

    # --- escalation ----------------------------------------------------------------------------

    def _escalate(
        self, conn: Connection, policy: Policy, incident: Any, obs: CheckOutcome, now: float
    ) -> Any:
        """Page the levels of the check's escalation policy the incident, unacknowledged, has
        waited long enough for (each once)."""
        refs = dict(incident.refs or {})
        if refs.get("suppressed_by") or silences.active(conn, obs.check, obs.environment, now):
            return incident
        done = {int(e.get("level", 0)) for e in escalation.reached(refs)}
        due = escalation.due_levels(
            [after for after, _ in policy.escalation],
            incident.opened_at,
            now,
            acknowledged=incident.acknowledged_at is not None,
            reached=done,
        )
        if not due:
            return incident
        entries = escalation.reached(refs)
        for level in due:
            after, notify = policy.escalation[level - 1]
            entries.append({"level": level, "at": now, "after": after, "notify": list(notify)})
            if notify:
                self._page_level(conn, policy, incident, obs, level, after, notify, now)
        refs["escalated"] = entries
        conn.execute(t.incidents.update().where(t.incidents.c.id == incident.id).values(refs=refs))
        return _load_incident(conn, incident.id)

    def _page_level(
        self,
        conn: Connection,
        policy: Policy,
        incident: Any,
        obs: CheckOutcome,
        level: int,
        after: float,
        notify: tuple[str, ...],
        now: float,
    ) -> None:
        waited = format_duration(after)
        title = f"Escalated (level {level}, unacknowledged for {waited}): {incident.title}"
        if incident.kind == slo.KIND:
            burning = (incident.refs or {}).get("slo", {}).get("firing") or "too fast"
            what = f"**{obs.check}** burns its error budget too fast: {burning}."
        else:
            what = self._body(conn, OPENED, incident, obs)
        body = (
            f"Nobody acknowledged this incident within {waited}: escalation policy "
            f"**{policy.escalation_name}**, level {level}.\n\n" + what
        )
        fields = {
            "check": obs.check,
            "environment": obs.environment or "(none)",
            "kind": incident.kind,
            "status": STATUS_WORDS.get(incident.kind, "down"),
            "escalation": f"{policy.escalation_name} level {level}",
        }
        enqueue_in(
            conn,
            notify,
            {
                "key": f"incident:{incident.id}:escalated:{level}",
                "type": OPENED,
                "subject": thread_of(incident.kind, obs.check, obs.environment),
                "title": title[:300],
                "body": body,
                "severity": severity_of(incident.kind),
                "fields": fields,
                "url": self._link(obs),
                "labels": labels_of(self.config, obs.environment),
            },
            now,
        )

    # --- several locations -----------------------------------------------------------------------

    def _freshness(self, check: Any, environment: str) -> float:
        """How old another location's result may be and still vote: two intervals and a timeout."""
        env = self.config.environments.get(environment) if environment else None
        d = self.config.defaults
        interval = (env.interval if env and env.interval else None) or check.interval or d.interval
        timeout = (env.timeout if env and env.timeout else None) or check.timeout or d.timeout
        return 2 * float(interval) + float(timeout)

    def _judge(self, conn: Connection, obs: CheckOutcome, check: Any) -> None:
        """Turn one location's result into the verdict of all of them (in place)."""
        r = t.check_results
        own = obs.location or ""
        rows = conn.execute(
            select(r.c.location, r.c.ok, r.c.ts, r.c.error_kind, r.c.error_message)
            .where(
                r.c.check_name == obs.check,
                r.c.environment == obs.environment,
                r.c.ts >= obs.ts - self._freshness(check, obs.environment),
                r.c.ts <= obs.ts,
            )
            .order_by(desc(r.c.ts))
        ).all()
        latest: dict[str, Any] = {}
        for row in rows:
            loc = row.location or ""
            if loc != own and loc not in latest:
                latest[loc] = row
        votes = {own: obs.ok} | {loc: bool(row.ok) for loc, row in latest.items()}
        failing = sorted(loc for loc, ok in votes.items() if not ok)
        obs.votes = dict(sorted(votes.items()))
        if quorum_fails(votes, check.needed_failures):
            if obs.ok:  # outvoted: the others' failures make the verdict
                first = latest[failing[0]]
                obs.ok = False
                obs.error_kind = first.error_kind or "failed"
                obs.error_message = f"{failing[0] or 'default'}: {first.error_message or ''}"
        elif not obs.ok:  # this location fails, but too few agree: not down
            obs.ok = True
            obs.error_kind = obs.error_message = None
            obs.failing_conditions = []

    # --- one observation -----------------------------------------------------------------------

    def _record_update(
        self, conn: Connection, incident: Any, event: Event, obs: CheckOutcome
    ) -> None:
        """An open incident's new kind or cause (UPDATED), with the causes seen so far."""
        kinds = list(incident.error_kinds or [])
        if event.error_kind and event.error_kind not in kinds:
            kinds.append(event.error_kind)
        conn.execute(
            t.incidents.update()
            .where(t.incidents.c.id == incident.id)
            .values(
                kind=event.kind,
                severity=severity_of(event.kind),
                title=self._title(obs, event.kind),
                last_error_kind=event.error_kind or incident.last_error_kind,
                error_kinds=kinds,
                failing_conditions=obs.failing_conditions or incident.failing_conditions,
            )
        )

    def _observe(self, conn: Connection, obs: CheckOutcome, now: float) -> list[IncidentChange]:
        policy = self.policy_for(obs.check)
        state = _load_state(conn, obs.check, obs.environment)
        incident = _load_incident(conn, state.open_incident_id)
        state = _reconciled(state, incident)
        if incident is not None and not obs.ok and (incident.refs or {}).get("suppressed_by"):
            incident = self._lift(conn, policy, incident, obs, now)
        if incident is not None and incident.status == "open":
            incident = self._after_silence(conn, policy, incident, obs, now)
        verdict = Verdict(
            ts=obs.ts,
            ok=obs.ok,
            kind=obs.kind,
            error_kind=obs.error_kind,
            maintenance=obs.maintenance is not None,
            result_id=obs.result_id,
        )
        new, events = step(state, verdict, policy.rules)
        changes: list[IncidentChange] = []
        for event in events:
            if event.type == OPENED:
                parent = self._down_parent(conn, obs)
                new.open_incident_id = self._open(conn, obs, event, parent)
                if parent is not None:
                    self._list_in_parent(conn, parent)
                incident = _load_incident(conn, new.open_incident_id)
                assert incident is not None
                self._gather_evidence(conn, obs, incident, now)
            elif incident is None:  # cannot happen: every other event follows an open incident
                continue
            elif event.type == RESOLVED:
                conn.execute(
                    t.incidents.update()
                    .where(t.incidents.c.id == incident.id)
                    .values(status="resolved", resolved_at=event.at, resolved_by="checks")
                )
            elif event.type == UPDATED:
                self._record_update(conn, incident, event, obs)
            incident = _load_incident(conn, incident.id)
            assert incident is not None
            if not (incident.refs or {}).get("suppressed_by"):
                self._notify(conn, policy, event.type, incident, obs, now)
            changes.append(
                IncidentChange(event.type, incident.id, obs.check, obs.environment, incident.kind)
            )
        if incident is not None and incident.status == "open" and policy.escalation:
            incident = self._escalate(conn, policy, incident, obs, now)
        opened_now = any(e.type == OPENED for e in events)
        due = incident is not None and incident.status == "open" and not opened_now
        if due and now - self._evidence_at.get(incident.id, 0.0) >= EVIDENCE_EVERY_S:
            fresh = self._gather_evidence(conn, obs, incident, now)
            if fresh and not (incident.refs or {}).get("suppressed_by"):
                self._tell_evidence(conn, policy, incident, obs, fresh, now)
        if new is not state or events:
            _save_state(conn, obs.check, obs.environment, new, now, obs.kind)
        if new.phase != state.phase or changes:
            error = f"{obs.error_kind}: {obs.error_message or ''}" if obs.error_kind else None
            self.last_changes.append(
                PhaseChange(
                    obs.ts,
                    obs.check,
                    obs.environment,
                    state.phase,
                    new.phase,
                    error,
                    changes[-1] if changes else None,
                )
            )
        return changes

    def _open(self, conn: Connection, obs: CheckOutcome, event: Event, parent: Any = None) -> int:
        refs: dict[str, Any] = {"detected_at": obs.ts}
        if parent is not None:  # recorded, notified to no one: the parent's incident says it
            refs.update(suppressed_by=parent.check_name, parent_incident=parent.id)
        result = conn.execute(
            t.incidents.insert().values(
                check_name=obs.check,
                environment=obs.environment,
                kind=event.kind,
                severity=severity_of(event.kind),
                title=self._title(obs, event.kind),
                status="open",
                opened_at=event.at,
                first_result_id=event.first_result_id,
                failing_conditions=obs.failing_conditions,
                error_kinds=[obs.error_kind] if obs.error_kind else [],
                last_error_kind=obs.error_kind,
                notes=[],
                refs=refs,
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    # --- evidence ------------------------------------------------------------------------------

    def service_of(self, check: str) -> str:
        config = self._checks.get(check)
        return str(getattr(config, "service", None) or check)

    def _gather_evidence(
        self, conn: Connection, obs: CheckOutcome, incident: Any, now: float
    ) -> list[evidence.Item]:
        """Attach what is known now about the check's service to the incident; return the
        pieces of a kind the incident did not have yet."""
        self._evidence_at[incident.id] = now
        try:
            items = evidence.gather(
                conn,
                self.config,
                service=self.service_of(obs.check),
                environment=obs.environment,
                opened_at=incident.opened_at,
                now=now,
                kind=incident.kind,
                detected_at=(incident.refs or {}).get("detected_at"),
            )
        except Exception as exc:  # evidence is a bonus: the incident is opened without it
            log.warning("evidence for incident %s not gathered: %s", incident.id, exc)
            return []
        known = evidence.kinds_of(conn, incident.id)
        added = evidence.record(conn, incident.id, items, now)
        return [i for i in added if i.kind not in known]

    def _tell_evidence(
        self,
        conn: Connection,
        policy: Policy,
        incident: Any,
        obs: CheckOutcome,
        fresh: list[evidence.Item],
        now: float,
    ) -> None:
        """A comment on the incident's thread for each kind of evidence it did not have."""
        if not policy.notifiers or silences.active(conn, obs.check, obs.environment, now):
            return
        env = f"[{obs.environment}] " if obs.environment else ""
        kinds = sorted({i.kind for i in fresh})
        enqueue_in(
            conn,
            policy.notifiers,
            {
                "key": f"incident:{incident.id}:evidence:{','.join(kinds)}"[:255],
                "type": EVIDENCE,
                "subject": f"incident:{obs.check}:{obs.environment}",
                "title": f"{env}{obs.check}: new evidence ({', '.join(kinds)})",
                "body": evidence.markdown(fresh, heading="New evidence:"),
                "severity": "info",
                "fields": {
                    "check": obs.check,
                    "environment": obs.environment or "(none)",
                    "kind": incident.kind,
                },
                "url": self._link(obs),
                "labels": labels_of(self.config, obs.environment),
            },
            now,
        )

    # --- notifications -------------------------------------------------------------------------

    def _title(self, obs: CheckOutcome, kind: str) -> str:
        """The incident's title: what happened, in the words of its kind."""
        env = f"[{obs.environment}] " if obs.environment else ""
        if kind == "certificate":
            return f"{env}{obs.check}: the TLS certificate {_expiry(obs.days_left)}"
        what = {
            "down": "is down",
            "degraded": "is degraded",
            "heartbeat": "missed its heartbeat",
            "flapping": "is flapping",
        }.get(kind, "is down")
        return f"{env}{obs.check} {what}"

    def _notify(
        self,
        conn: Connection,
        policy: Policy,
        event_type: str,
        incident: Any,
        obs: CheckOutcome,
        now: float,
    ) -> None:
        silence = silences.active(conn, obs.check, obs.environment, now)
        # a page that went out is still cleared: a resolution never wakes anyone
        held = silence is not None and (event_type != RESOLVED or silences.held_opening(incident))
        if event_type in (OPENED, RESOLVED) and not (held and _subscribers_hold(self.config)):
            phase = "opened" if event_type == OPENED else "resolved"
            _announce(conn, self.config, incident, phase, now)
        if silence is not None:  # recorded on the incident, told to no one until it ends
            silences.record(conn, incident, silence, event_type, now)
            if held:
                return
        notifiers = escalation.audience(policy.notifiers, incident.refs)
        if not notifiers:
            return
        env = f"[{obs.environment}] " if obs.environment else ""
        kind = incident.kind
        title = incident.title or self._title(obs, kind)
        if event_type == RESOLVED:
            title = f"{env}{obs.check} {RECOVERED.get(kind, 'recovered')}"
        seq = {UPDATED: f":{obs.ts:.3f}", REMINDER: f":{obs.ts:.3f}"}.get(event_type, "")
        key = f"incident:{incident.id}:{event_type.split('.')[1]}{seq}"
        body = self._body(conn, event_type, incident, obs)
        fields = {
            "check": obs.check,
            "environment": obs.environment or "(none)",
            "kind": kind,
            "status": {
                OPENED: STATUS_WORDS.get(kind, "down"),
                UPDATED: "changed",
                REMINDER: "still " + STATUS_WORDS.get(kind, "down"),
                RESOLVED: "resolved",
            }[event_type],
        }
        target = self.target_of(obs)
        if target:
            fields["target"] = target
        if obs.error_kind and event_type != RESOLVED:
            fields["error"] = f"{obs.error_kind}: {obs.error_message}"
        if obs.votes:
            fields["locations"] = _votes(obs.votes)
        children = self._suppressed_children(conn, incident)
        if children:
            fields["suppressed"] = ", ".join(children)
        if event_type == RESOLVED and incident.resolved_at is not None:
            fields["duration"] = format_elapsed(max(0.0, incident.resolved_at - incident.opened_at))
        labels = labels_of(self.config, obs.environment)
        event = {
            "key": key,
            "type": event_type,
            # the thread is the check in its environment, not this store's incident id:
            # a run with a lost store (a workflow's cache) must find the open issue
            "subject": f"incident:{obs.check}:{obs.environment}",
            "title": title,
            "body": body,
            "severity": severity_of(kind) if event_type != RESOLVED else "info",
            "fields": fields,
            "url": self._link(obs),
            "labels": labels,
        }
        window = self.config.defaults.group_window
        if event_type == OPENED and window:
            self._open_grouped(conn, notifiers, event, incident, obs, float(window), now)
            return
        enqueue_in(conn, notifiers, event, now)

    def _open_grouped(
        self,
        conn: Connection,
        notifiers: tuple[str, ...],
        event: dict[str, Any],
        incident: Any,
        obs: CheckOutcome,
        window: float,
        now: float,
    ) -> None:
        """An opening joins the waiting notification of its environment's group, or starts one
        that waits ``window`` for others."""
        error = f"{obs.error_kind}: {obs.error_message or ''}" if obs.error_kind else None
        me = grouping.member(incident, error)
        alone: list[str] = []
        joined: set[int] = set()
        o = t.outbox
        for name in notifiers:
            row = grouping.waiting(conn, name, obs.environment, now)
            leader = (row.payload or {}).get("group", {}).get("members", [{}])[0] if row else {}
            if row is None or leader.get("id") == me["id"]:
                alone.append(name)
                continue
            payload = grouping.join(dict(row.payload), me, str(event["severity"]))
            conn.execute(o.update().where(o.c.id == row.id).values(payload=clean_payload(payload)))
            joined.add(int(leader["id"]))
        if alone:
            enqueue_in(
                conn,
                alone,
                grouping.start(event, obs.environment, me),
                now,
                due=now + window,
            )
        if joined:
            refs = dict(incident.refs or {})
            refs["grouped_with"] = min(joined)
            i = t.incidents
            conn.execute(i.update().where(i.c.id == incident.id).values(refs=refs))

    def _link(self, obs: CheckOutcome) -> str | None:
        if not self.dashboard_url:
            return None
        check, env = quote(obs.check, safe=""), quote(obs.environment, safe="")
        return f"{self.dashboard_url}/dashboard/checks/{check}?environment={env}"

    def target_of(self, obs: CheckOutcome) -> str | None:
        """What was probed, with the environment's ``{vars}`` substituted (never a placeholder)."""
        if self._targets is None:
            from prodshield.monitor.expand import expand_checks

            try:
                self._targets = {
                    tg.key: _describe_target(tg.check) for tg in expand_checks(self.config)
                }
            except Exception:  # a config that cannot expand still gets its notifications
                self._targets = {}
        return self._targets.get((obs.check, obs.environment)) or _safe_target(obs.target)

    def _body(self, conn: Connection, event_type: str, incident: Any, obs: CheckOutcome) -> str:
        lines: list[str] = []
        kind = incident.kind
        where = f" in **{obs.environment}**" if obs.environment else ""
        target = self.target_of(obs)
        if event_type == RESOLVED:
            took = format_elapsed(max(0.0, (incident.resolved_at or obs.ts) - incident.opened_at))
            lines.append(
                {
                    "flapping": f"**{obs.check}** is stable again{where}, after {took} of flapping.",
                    "certificate": f"The TLS certificate of **{obs.check}**{where} is valid for long enough again.",
                    "degraded": f"**{obs.check}** is back to normal{where}, after {took} degraded.",
                    "heartbeat": f"**{obs.check}** pings again{where}, after {took} without a heartbeat.",
                }.get(kind, f"**{obs.check}** recovered{where} after {took} of downtime.")
            )
        elif event_type == UPDATED:
            if obs.error_kind:
                lines.append(
                    f"The error changed: **{obs.error_kind}**: {code_span(obs.error_message or '')}".rstrip()
                )
            else:
                lines.append(f"The incident is now: {kind}.")
        elif event_type == REMINDER:
            lines.append(
                f"Still {STATUS_WORDS.get(kind, 'down')} since {_iso(incident.opened_at)}."
            )
        else:
            lines.append(
                {
                    "flapping": f"**{obs.check}** keeps changing state{where}: it passes and fails "
                    "without settling. One incident covers the whole flapping period.",
                    "certificate": f"The TLS certificate of **{obs.check}**{where} "
                    f"{_expiry(obs.days_left)}. A warning: the site still answers; renew the "
                    "certificate.",
                    "degraded": f"**{obs.check}** answers{where}, but a condition on its "
                    "quality fails (degraded, not down).",
                    "heartbeat": f"**{obs.check}** missed its heartbeat{where}: no ping came in time.",
                }.get(kind, f"**{obs.check}** is down{where}.")
            )
            lines.append("")
            lines.append(
                f"- Environment: `{obs.environment}`"
                if obs.environment
                else "- Environment: none (the check has no environments)"
            )
            if target:
                lines.append(f"- Target: {code_span(target)}")
            since = "Flapping since" if kind == "flapping" else "Failing since"
            lines.append(f"- {since}: {_iso(incident.opened_at)} UTC")
            if obs.error_kind:
                # A target's error message is outside text: literal, never Markdown.
                lines.append(f"- Error: `{obs.error_kind}`: {code_span(obs.error_message or '')}")
            if obs.output:
                lines += _job_output(obs.output)
            if obs.votes:
                lines.append(f"- Locations: {_votes(obs.votes)}")
            if obs.failing_conditions:
                lines.append("- Failing conditions:")
                lines.extend(f"  - {code_span(c)}" for c in obs.failing_conditions)
        if event_type == OPENED:
            found = evidence.markdown(evidence.of_incident(conn, incident.id))
            if found:
                lines += ["", found]
        if event_type != RESOLVED:
            lines.append("")
            lines.append(_recent_table(conn, obs.check, obs.environment))
        link = self._link(obs)
        if link:
            lines.append("")
            lines.append(f"[Dashboard]({link})")
        return "\n".join(lines)


JOB_OUTPUT_IN_NOTICE = 2000
"""A failed job's output goes whole into the incident's notification up to this many characters
(its end is on the check's dashboard page and in ``GET /api/v1/checks/NAME`` either way)."""


def _job_output(output: str) -> list[str]:
    text = output.strip("\n")
    if len(text) > JOB_OUTPUT_IN_NOTICE:
        return [
            f"- Job output: the last {len(text):,} characters are on the check's dashboard page "
            "(too long for here)"
        ]
    return ["- Job output (its end, secrets masked):", "", fence(text), ""]


STATUS_WORDS = {
    "slo": "burning its error budget",
    "down": "down",
    "degraded": "degraded",
    "certificate": "expiring",
    "heartbeat": "missing",
    "flapping": "flapping",
}
RECOVERED = {
    "slo": "error budget burn is back to normal",
    "down": "recovered",
    "degraded": "is back to normal",
    "certificate": "certificate is valid again",
    "heartbeat": "heartbeat is back",
    "flapping": "is stable again",
}
SEVERITY = {
    "slo": "high",
    "down": "critical",
    "heartbeat": "high",
    "degraded": "medium",
    "certificate": "medium",
    "flapping": "medium",
}


def check_and_service(config: ShieldConfig, target: str, kind: str) -> tuple[str, str]:
    """What an incident's target (``incidents.check_name``) names, as (check, service): a
    check's incident is that check's, on the check's service; a service SLO incident's target
    ``service:NAME`` and a manual incident's service are a service and no check ("")."""
    if kind == slo.KIND and target.startswith(slo.SERVICE_PREFIX):
        return "", target[len(slo.SERVICE_PREFIX) :]
    if kind == MANUAL:
        return "", target
    found = next((c for c in config.checks if c.name == target), None)
    return target, str(getattr(found, "service", None) or target)


def shown_name(target: str, kind: str) -> str:
    """An incident's target as titles and pages say it: a service SLO incident's target
    ``service:NAME`` reads ``NAME (service)``; every other target is its check's name."""
    if kind == slo.KIND and target.startswith(slo.SERVICE_PREFIX):
        return f"{target[len(slo.SERVICE_PREFIX) :]} (service)"
    return target


def severity_of(kind: str) -> str:
    """The notification severity of an incident kind (down: critical; warnings: medium)."""
    return SEVERITY.get(kind, "critical")


_DAYS_RE = re.compile(r"^\s*(-?\d+)d")


def days_left(failed: Sequence[Any]) -> int | None:
    """Whole days left on the certificate, from the failing condition's actual value."""
    for c in failed:
        if "[CERTIFICATE_EXPIRATION]" in str(getattr(c, "expr", "")):
            actual = str(getattr(c, "actual", "") or "")
            m = _DAYS_RE.match(actual)
            if m:
                return int(m.group(1))
            if actual:
                return 0
    return None


def _expiry(days: int | None) -> str:
    if days is None:
        return "expires soon"
    if days < 0:
        return "has expired"
    if days == 0:
        return "expires within a day"
    return f"expires in {days} day" + ("" if days == 1 else "s")


def _describe_target(check: Any) -> str | None:
    """Where the check looks: a URL, a database (``postgresql://db:5432/app``, never the query
    it runs nor a password), ``host:port``."""
    url = getattr(check, "url", None)
    if isinstance(url, str) and url:
        return _safe_target(url) if getattr(check, "type", "") != "redis" else _safe_dsn(url)
    dsn = getattr(check, "dsn", None)
    if isinstance(dsn, str) and dsn:
        return _safe_dsn(dsn)
    name = getattr(check, "query", None)  # a DNS check's name
    if isinstance(name, str) and name:
        return _safe_target(name)
    host = getattr(check, "host", None)
    if host:
        port = getattr(check, "port", None)
        return f"{host}:{port}" if port else str(host)
    return None


_CONNINFO = re.compile(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)")


def _safe_dsn(dsn: str) -> str | None:
    """A database's location from its DSN (URL or ``key=value`` form): scheme, host, port and
    database only. Its user, password and parameters (``?password=``, ``sslkey=``) are left out."""
    from urllib.parse import urlsplit, urlunsplit

    if "://" not in dsn:
        fields = {k.lower(): v.strip("'") for k, v in _CONNINFO.findall(dsn)}
        host = fields.get("host") or fields.get("hostaddr") or "localhost"
        at = f":{fields['port']}" if fields.get("port") else ""
        db = f"/{fields['dbname']}" if fields.get("dbname") else ""
        return f"postgresql://{host}{at}{db}"[:300]
    try:
        parts = urlsplit(dsn)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if port:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))[:300]


def _safe_target(value: str | None) -> str | None:
    """A URL without its credentials (``user:password@`` would end up in a public issue)."""
    if not value:
        return None
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        value = urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
    return value[:300]


def _votes(votes: dict[str, bool]) -> str:
    failing = [loc or "default" for loc, ok in votes.items() if not ok]
    ok = [loc or "default" for loc, v in votes.items() if v]
    parts = [f"{len(failing)} of {len(votes)} failing"]
    if failing:
        parts.append("failing: " + ", ".join(failing))
    if ok:
        parts.append("ok: " + ", ".join(ok))
    return "; ".join(parts)


def _recent_table(conn: Connection, check: str, environment: str, limit: int = 10) -> str:
    r = t.check_results
    rows = conn.execute(
        select(r.c.ts, r.c.ok, r.c.response_time_ms, r.c.error_kind, r.c.error_message)
        .where(r.c.check_name == check, r.c.environment == environment)
        .order_by(desc(r.c.ts))
        .limit(limit)
    ).all()
    out = ["| time (UTC) | result | response time | error |", "| --- | --- | --- | --- |"]
    for row in rows:
        ms = f"{row.response_time_ms:.0f} ms" if row.response_time_ms is not None else "-"
        err = f"{row.error_kind}: {(row.error_message or '')[:80]}" if row.error_kind else ""
        cell = md_code(err, in_table=True) if err else ""
        out.append(f"| {_iso(row.ts)} | {'ok' if row.ok else 'failed'} | {ms} | {cell} |")
    return "\n".join(out) if rows else "_no stored results yet_"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def _load_state(conn: Connection, check: str, environment: str) -> MachineState:
    s = t.check_state
    query = select(s).where(s.c.check_name == check, s.c.environment == environment)
    if conn.dialect.name == "postgresql":
        # Writers of one check's state take turns (the owner, a manual run): each one continues
        # from the state the previous one committed, so no incident is opened twice.
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        return MachineState()
    return MachineState.from_row(row)


def _save_state(
    conn: Connection,
    check: str,
    environment: str,
    state: MachineState,
    now: float,
    kind: str = "down",
) -> None:
    s = t.check_state
    values = state.as_row()
    values["status"] = check_status(state.last_ok, kind)
    values["updated_at"] = now
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(s)
    conn.execute(
        insert.values(check_name=check, environment=environment, **values).on_conflict_do_update(
            index_elements=[s.c.check_name, s.c.environment], set_=values
        )
    )


def _reconciled(state: MachineState, incident: Any) -> MachineState:
    """The machine's state agreeing with its incident row: forgotten when the incident was
    resolved by hand meanwhile, given the incident's kind when the state predates the machine."""
    if state.open_incident_id is not None and (incident is None or incident.status != "open"):
        return state.forget_incident()
    if incident is not None and state.open_kind is None:
        state.open_kind, state.opened_at = incident.kind, incident.opened_at
        state.open_error_kind = incident.last_error_kind
    return state


def _load_incident(conn: Connection, incident_id: int | None) -> Any:
    """The incident row with this id, whatever its status (None when there is none)."""
    if incident_id is None:
        return None
    return conn.execute(select(t.incidents).where(t.incidents.c.id == incident_id)).first()


# --- what people do to an incident (dashboard, API) ----------------------------------------------

ACKNOWLEDGED, NOTE = "incident.acknowledged", "incident.note"
EVIDENCE = "incident.evidence"
EVIDENCE_EVERY_S = 5.0
"""How often an open incident's evidence is gathered again (at most; on the check's results)."""


def thread_of(kind: str, check: str, environment: str) -> str:
    """The notification thread of an incident (the event subject; PagerDuty's dedup key,
    Opsgenie's alias): ``incident:CHECK:ENV``, or ``slo:CHECK:ENV`` for an SLO incident, so a
    paging service never folds a budget burn into the check's outage."""
    prefix = "slo" if kind == slo.KIND else "incident"
    return f"{prefix}:{check}:{environment}"


def open_incident_of(store: Any, subject: str) -> int | None:
    """The open incident of a thread subject (``incident:CHECK:ENV`` or ``slo:CHECK:ENV``, the
    PagerDuty dedup key and Opsgenie alias of its alerts), or None."""
    prefix, _, rest = subject.partition(":")
    if prefix not in ("incident", "slo") or ":" not in rest:
        return None
    check, environment = rest.rsplit(":", 1)
    i = t.incidents
    kind = i.c.kind == slo.KIND if prefix == "slo" else i.c.kind != slo.KIND
    with store.connect() as conn:
        row = conn.execute(
            select(i.c.id)
            .where(
                i.c.check_name == check,
                i.c.environment == environment,
                i.c.status == "open",
                kind,
            )
            .order_by(desc(i.c.opened_at))
            .limit(1)
        ).first()
    return None if row is None else int(row.id)


def current_state(store: Any, incident_id: int) -> tuple[str, str | None] | None:
    """An incident's status and who acknowledged it (None: no such incident)."""
    i = t.incidents
    with store.connect() as conn:
        row = conn.execute(
            select(i.c.status, i.c.acknowledged_by).where(i.c.id == incident_id)
        ).first()
    return None if row is None else (str(row.status), row.acknowledged_by)


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What an acknowledge, note or resolve by hand did to an incident, so every caller (the CLI,
    the API, the dashboard, the PagerDuty hook) can say when it changed nothing.

    ``status`` and ``acknowledged_by`` are the incident's as they were before the action;
    ``changed`` is True when this action acknowledged (or resolved) it, ``noted`` when a note
    was kept."""

    incident_id: int
    action: str
    """``ack``, ``note`` or ``resolve``."""
    status: str
    acknowledged_by: str | None
    changed: bool
    noted: bool

    def describe(self, by: str) -> str:
        """One line saying what happened (``incident #3 is already resolved; note added``)."""
        me = f"incident #{self.incident_id}"
        if self.action == "note":
            return f"note added to {me}"
        if self.action == "resolve":
            line = f"{me} resolved" if self.changed else f"{me} is already resolved"
        elif self.status == "resolved":
            line = f"{me} is already resolved"
        elif self.changed:
            return f"{me} acknowledged by {by}"
        else:
            line = f"{me} was already acknowledged by {self.acknowledged_by}"
        return line + ("; note added" if self.noted else "")


def _row_for_action(conn: Connection, incident_id: int) -> Any:
    """The incident row, locked for the action's transaction on PostgreSQL (NotFound if none)."""
    i = t.incidents
    query = select(i).where(i.c.id == incident_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return row


class _Action:
    """An operator action that changes an incident once (acknowledge, resolve by hand), done in
    one transaction: ``change(row, now, by)`` gives the columns it sets, or None when the
    incident is already past it (then nothing changes and nothing is said of it); a note given
    with it is kept and posted either way. Raises NotFound when there is no such incident."""

    def __init__(
        self,
        name: str,
        event: str,
        key_tail: str,
        said: str,
        change: Callable[[Any, float, str], dict[str, Any] | None],
        doc: str,
    ) -> None:
        self.name = name  # ActionOutcome.action
        self.event = event
        self.key_tail = key_tail  # the end of the notification's key
        self.said = said  # "<said> **by**." in the comment
        self.change = change
        self.__doc__ = doc

    def __call__(
        self,
        store: Any,
        config: ShieldConfig,
        incident_id: int,
        by: str,
        note: str | None = None,
        now: float | None = None,
    ) -> ActionOutcome:
        now = time.time() if now is None else now
        note = (note or "").strip() or None
        i = t.incidents
        with store.begin() as conn:
            row = _row_for_action(conn, incident_id)
            changed = self.change(row, now, by)
            values = dict(changed or {})
            if note:
                values["notes"] = [*(row.notes or []), _note(note, by, now)]
            if values:
                conn.execute(i.update().where(i.c.id == incident_id).values(**values))
            if changed is not None:
                text = f"{self.said} **{_md(by)}**."
                if note:
                    text += f"\n\n> {_md(note)}"
                _tell(conn, config, row, self.event, self.key_tail, text, by, now)
            elif note:
                _tell(conn, config, row, NOTE, f"note:{now:.6f}", _note_text(note, by), by, now)
        return ActionOutcome(
            incident_id,
            self.name,
            str(row.status),
            row.acknowledged_by,
            changed is not None,
            note is not None,
        )


def _acknowledged(row: Any, now: float, by: str) -> dict[str, Any] | None:
    if row.acknowledged_at is None and row.status != "resolved":
        return {"acknowledged_at": now, "acknowledged_by": by[:128]}
    return None


def _resolved_by_hand(row: Any, now: float, by: str) -> dict[str, Any] | None:
    if row.status == "resolved":
        return None
    return {"status": "resolved", "resolved_at": max(now, row.opened_at), "resolved_by": "manual"}


acknowledge = _Action(
    "ack",
    ACKNOWLEDGED,
    "acknowledged",
    "Acknowledged by",
    _acknowledged,
    """Acknowledge an incident and tell its notifiers (a comment on the GitHub issue naming who
    did it; escalation stops). The first acknowledgement is kept; a resolved incident is not
    acknowledged (its escalation is over), but a note given with it is still kept and posted.
    Raises NotFound when there is no such incident.""",
)

resolve_by_hand = _Action(
    "resolve",
    RESOLVED,
    "resolved",
    "Resolved by hand by",
    _resolved_by_hand,
    """Resolve an incident by hand: the checks start counting afresh (the state machine sees it
    at the next result) and the notifiers get the one ``incident.resolved`` (the issue closes).
    An incident already resolved keeps its resolution (a note is still kept). Raises NotFound
    when there is no such incident.""",
)


def add_note(
    store: Any,
    config: ShieldConfig,
    incident_id: int,
    text: str,
    by: str,
    now: float | None = None,
) -> ActionOutcome:
    """Add a note to an incident and post it to its notifiers (a comment on the GitHub issue).
    Raises Invalid for an empty note, NotFound when there is no such incident."""
    now = time.time() if now is None else now
    if not text.strip():
        raise Invalid("a note needs text")
    i = t.incidents
    with store.begin() as conn:
        row = _row_for_action(conn, incident_id)
        conn.execute(
            i.update()
            .where(i.c.id == incident_id)
            .values(notes=[*(row.notes or []), _note(text, by, now)])
        )
        _tell(conn, config, row, NOTE, f"note:{now:.6f}", _note_text(text, by), by, now)
    return ActionOutcome(incident_id, "note", str(row.status), row.acknowledged_by, True, True)


MAX_UPDATE = 2000


def post_update(
    store: Any,
    config: ShieldConfig,
    incident_id: int,
    text: str,
    by: str,
    *,
    origin: str = "operator",
    external_id: str | None = None,
    now: float | None = None,
) -> bool:
    """A written status update on an incident, shown on the public status page and in its feed.

    ``origin`` says where it came from (``operator``: the CLI, the API or the dashboard;
    ``github``: a ``/status`` comment on the incident's issue, ``external_id`` its comment id, so
    a comment read twice is one update). An operator's update is also posted to the incident's
    notifiers (a comment on the issue). False when the same external update is already there;
    Invalid for an empty text, NotFound when there is no such incident."""
    now = time.time() if now is None else now
    text = redact_text(text.strip())[:MAX_UPDATE]
    if not text:
        raise Invalid("a status update needs text")
    i, u = t.incidents, t.incident_updates
    with store.begin() as conn:
        row = conn.execute(select(i).where(i.c.id == incident_id)).first()
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        if external_id is not None:
            seen = conn.execute(
                select(u.c.id).where(
                    u.c.incident_id == incident_id,
                    u.c.origin == origin,
                    u.c.external_id == external_id[:64],
                )
            ).first()
            if seen is not None:
                return False
        inserted = conn.execute(
            u.insert().values(
                incident_id=incident_id,
                ts=now,
                text=text,
                by=by[:128],
                origin=origin[:16],
                external_id=None if external_id is None else external_id[:64],
            )
        )
        pk = inserted.inserted_primary_key
        seq = f":{pk[0]}" if pk is not None else f":{now:.6f}"
        if not (_subscribers_hold(config) and silences.held_opening(row)):
            _announce(conn, config, row, "update", now, text=text, seq=seq)
        if origin != "github":
            body = f"Status update from **{_md(by)}** (shown on the status page):\n\n> {_md(text)}"
            _tell(conn, config, row, NOTE, f"update:{now:.6f}", body, by, now)
    return True


MANUAL = "manual"
"""The kind of an incident opened by hand, for what no check sees (``incident open``)."""
MANUAL_SEVERITIES = ("low", "medium", "high", "critical")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:/@+-]{0,127}$")


def open_manual(
    store: Any,
    config: ShieldConfig,
    title: str,
    *,
    service: str,
    environment: str = "",
    severity: str = "high",
    text: str | None = None,
    by: str = "operator",
    now: float | None = None,
) -> int:
    """Open an incident by hand (kind ``manual``) on ``service`` (a name the status page shows,
    a check's or any other) and tell the notifiers; ``text`` becomes its first status update.
    Raises Invalid for an empty title, a bad name or severity. Returns the incident's id.

    The monitor never resolves it: ``incident resolve`` (or the dashboard, the API) does."""
    now = time.time() if now is None else now
    title = redact_text(" ".join(title.split()))[:300]
    if not title:
        raise Invalid("a manual incident needs a title")
    if not _NAME.match(service):
        raise Invalid(
            f"bad service name {clip(service, 60)!r}: letters, digits and . _ - : / @ + (128 at most)"
        )
    if environment and not _NAME.match(environment):
        raise Invalid(f"bad environment name {clip(environment, 60)!r}")
    if environment and environment not in config.environments:
        # a typo ('prod') would open an incident no environment badge or filter ever shows
        raise Invalid(f"no environment named {clip(environment, 60)!r} in the config")
    if severity not in MANUAL_SEVERITIES:
        raise Invalid(f"severity must be one of {', '.join(MANUAL_SEVERITIES)}")
    i = t.incidents
    with store.begin() as conn:
        result = conn.execute(
            i.insert().values(
                check_name=service,
                environment=environment,
                kind=MANUAL,
                severity=severity,
                title=title,
                status="open",
                opened_at=now,
                failing_conditions=[],
                error_kinds=[],
                notes=[],
                refs={"manual": True, "opened_by": by[:128]},
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        incident_id = int(pk[0])
        row = conn.execute(select(i).where(i.c.id == incident_id)).one()
        body = f"Incident opened by hand by **{_md(by)}**: {_md(title)}"
        _tell(conn, config, row, OPENED, "opened", body, by, now, severity=severity)
    if text and text.strip():
        post_update(store, config, incident_id, text, by, now=now)
    return incident_id


def set_postmortem(
    store: Any,
    config: ShieldConfig,
    incident_id: int,
    url: str,
    by: str,
    now: float | None = None,
) -> bool:
    """Link a resolved incident to its post-mortem (an http(s) URL): the status page, its feed
    and the incident's notifiers show it. True when linked now, False when that link was
    already there. Invalid for a bad URL, NotFound when there is no such incident, Conflict
    while it is still open."""
    now = time.time() if now is None else now
    url = url.strip()
    if not re.fullmatch(r"https?://[^\s<>\"'`]{1,2000}", url) or redact_text(url) != url:
        raise Invalid("the post-mortem link must be an http:// or https:// URL (no secrets)")
    i = t.incidents
    with store.begin() as conn:
        row = _row_for_action(conn, incident_id)
        if row.status != "resolved":
            raise Conflict(f"incident {incident_id} is still open: resolve it first")
        refs = dict(row.refs or {})
        if refs.get("postmortem", {}).get("url") == url:
            return False
        refs["postmortem"] = {"url": url, "by": by[:128], "at": now}
        conn.execute(i.update().where(i.c.id == incident_id).values(refs=refs))
        body = f"Post-mortem from **{_md(by)}**: <{url}>"
        _tell(conn, config, row, NOTE, f"postmortem:{now:.6f}", body, by, now)
    return True


def updates_of(conn: Connection, incident_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The status updates of these incidents, oldest first."""
    u = t.incident_updates
    out: dict[int, list[dict[str, Any]]] = {int(x): [] for x in incident_ids}
    if not out:
        return out
    rows = conn.execute(
        select(u).where(u.c.incident_id.in_(list(out))).order_by(u.c.ts, u.c.id)
    ).all()
    for r in rows:
        out[int(r.incident_id)].append({"ts": r.ts, "text": r.text, "by": r.by, "origin": r.origin})
    return out


def _note(text: str, by: str, now: float) -> dict[str, Any]:
    return {"ts": now, "by": by[:128], "text": text.strip()[:2000]}


def _note_text(text: str, by: str) -> str:
    return f"Note from **{_md(by)}**:\n\n> {_md(text)}"


def _md(text: str) -> str:
    """Operator text as inert Markdown on one quoted paragraph (bounded; `text.md_text`)."""
    return md_text(" ".join(text.split())[:2000])


def labels_of(config: ShieldConfig, environment: str | None) -> list[str]:
    """The labels of an incident's notifications: its environment's name, then that
    environment's ``labels`` in shield.yaml."""
    if not environment:
        return []
    env = config.environments.get(environment)
    return list(dict.fromkeys([environment, *(env.labels if env is not None else [])]))


def _announce(
    conn: Connection,
    config: ShieldConfig,
    row: Any,
    phase: str,
    now: float,
    *,
    text: str = "",
    seq: str = "",
) -> None:
    """`subscribers.announce`, imported when an incident is told to subscribers: the delivery
    side it lives beside (aiohttp) is not loaded by `incident list` and the other readers."""
    from prodshield.notify import subscribers

    subscribers.announce(conn, config, row, phase, now, text=text, seq=seq)


def _subscribers_hold(config: ShieldConfig) -> bool:
    """Do subscribers' messages wait out a silence like the operators' notifiers
    (``serve.subscriptions.during_silence: hold``)?"""
    return config.serve.subscriptions.during_silence == "hold"


def _tell(
    conn: Connection,
    config: ShieldConfig,
    row: Any,
    event_type: str,
    key_tail: str,
    body: str,
    by: str,
    now: float,
    *,
    severity: str = "info",
    title: str | None = None,
) -> None:
    if event_type in (OPENED, RESOLVED) and not (
        _subscribers_hold(config) and silences.held_opening(row)
    ):
        phase = "opened" if event_type == OPENED else "resolved"
        _announce(conn, config, row, phase, now)
    engine = IncidentEngine(config)
    policy = engine.policy_for((row.refs or {}).get("policy_check") or row.check_name)
    notifiers = escalation.audience(policy.notifiers, row.refs)
    if not notifiers:
        return
    env = f"[{row.environment}] " if row.environment else ""
    name = shown_name(row.check_name, row.kind)
    title = (
        title
        or {
            ACKNOWLEDGED: f"{env}{name}: acknowledged by {by[:64]}",
            NOTE: f"{env}{name}: note from {by[:64]}",
            RESOLVED: f"{env}{name} resolved by hand",
            OPENED: f"{env}{name}: {row.title or 'incident'}",
        }[event_type]
    )
    # a service SLO incident's page is the check whose results opened it (it shows the
    # service's SLO); ``service:NAME`` has no page of its own
    linked = (row.refs or {}).get("policy_check") or row.check_name
    obs = CheckOutcome(linked, row.environment, now, False)
    # a manual incident is about no check: its own page is where it is followed
    url = (
        f"{engine.dashboard_url}/dashboard/incidents/{row.id}"
        if row.kind == MANUAL and engine.dashboard_url
        else engine._link(obs)
    )
    enqueue_in(
        conn,
        notifiers,
        {
            "key": f"incident:{row.id}:{key_tail}",
            "type": event_type,
            "subject": thread_of(row.kind, row.check_name, row.environment),
            "title": title,
            "body": body,
            "severity": severity,
            "fields": {
                "check": row.check_name,
                "environment": row.environment or "(none)",
                "kind": row.kind,
                "by": by[:128],
            },
            "url": url,
            "labels": labels_of(config, row.environment),
        },
        now,
    )
