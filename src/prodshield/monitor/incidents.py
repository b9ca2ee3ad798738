"""Incidents: consecutive failures open one, consecutive successes resolve it.

Per (check, environment) an incident opens after ``failure_threshold`` consecutive failures and
resolves after ``success_threshold`` consecutive successes; many state changes within a window make
one "flapping" incident instead of a storm. Every change is written in the caller's transaction
together with the results that caused it and the outbox events that announce it, so a crash at any
point either keeps all of it or none of it, and the next run sees the same state again.

A check run from several locations (``locations: N``) is judged by its lead location's instance:
each of its results becomes a verdict over the latest fresh result of every location, failing only
when ``quorum`` of them fail (one location's network trouble does not page anyone).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, desc, select
from sqlalchemy.dialects import postgresql, sqlite

from prodshield.config.schema import ShieldConfig
from prodshield.config.types import format_duration
from prodshield.store import tables as t

OPENED, UPDATED, REMINDER, RESOLVED = (
    "incident.opened",
    "incident.updated",
    "incident.reminder",
    "incident.resolved",
)


@dataclass
class Observation:
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


@dataclass(frozen=True)
class Policy:
    failure_threshold: int
    success_threshold: int
    flap_threshold: int
    flap_window: float
    remind_every: float | None
    notifiers: tuple[str, ...]


@dataclass
class IncidentChange:
    type: str  # one of OPENED, UPDATED, REMINDER, RESOLVED
    incident_id: int
    check: str
    environment: str
    kind: str  # down | flapping


class IncidentEngine:
    """Turns observations into incident rows and outbox events, inside a store transaction."""

    def __init__(self, config: ShieldConfig, *, dashboard_url: str | None = None) -> None:
        self.config = config
        self.dashboard_url = (dashboard_url or config.serve.public_url or "").rstrip("/") or None
        self._checks = {c.name: c for c in config.checks}

    def observations(
        self, results: Sequence[Any], *, location: str | None = None
    ) -> list[Observation]:
        """Observations for monitor ``CheckResult``s (probed from ``location``), with maintenance
        windows applied."""
        from prodshield.monitor.maintenance import in_maintenance

        out = []
        for r in results:
            check = self._checks.get(r.check)
            target = getattr(check, "url", None) or (
                f"{getattr(check, 'host', '')}:{getattr(check, 'port', '')}"
                if hasattr(check, "host")
                else None
            )
            out.append(
                Observation(
                    check=r.check,
                    environment=r.environment,
                    ts=r.ts,
                    ok=r.ok,
                    error_kind=r.error.kind if r.error else None,
                    error_message=r.error.message if r.error else None,
                    failing_conditions=[c.describe() for c in r.conditions if not c.ok],
                    response_time_ms=r.response_time_ms,
                    target=(r.details or {}).get("url") or target,
                    maintenance=in_maintenance(
                        self.config.maintenance, r.check, r.environment, r.ts
                    ),
                    location=location,
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
        return Policy(
            failure_threshold=(
                c.failure_threshold if c and c.failure_threshold else d.failure_threshold
            ),
            success_threshold=(
                c.success_threshold if c and c.success_threshold else d.success_threshold
            ),
            flap_threshold=d.flap_threshold,
            flap_window=d.flap_window,
            remind_every=(c.remind_every if c and c.remind_every else d.remind_every),
            notifiers=enabled,
        )

    def process(
        self, conn: Connection, observations: Iterable[Observation], now: float | None = None
    ) -> list[IncidentChange]:
        """Apply observations in time order; return the incident changes they caused."""
        changes: list[IncidentChange] = []
        for obs in sorted(observations, key=lambda o: o.ts):
            check = self._checks.get(obs.check)
            if check is not None and (check.locations or 1) > 1:
                self._judge(conn, obs, check)
            changes.extend(self._observe(conn, obs, time.time() if now is None else now))
        return changes

    # --- several locations -----------------------------------------------------------------------

    def _freshness(self, check: Any, environment: str) -> float:
        """How old another location's result may be and still vote: two intervals and a timeout."""
        env = self.config.environments.get(environment) if environment else None
        d = self.config.defaults
        interval = (env.interval if env and env.interval else None) or check.interval or d.interval
        timeout = (env.timeout if env and env.timeout else None) or check.timeout or d.timeout
        return 2 * float(interval) + float(timeout)

    def _judge(self, conn: Connection, obs: Observation, check: Any) -> None:
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
        needed = min(check.needed_failures, len(votes))
        obs.votes = dict(sorted(votes.items()))
        if len(failing) >= needed:
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

    def _observe(self, conn: Connection, obs: Observation, now: float) -> list[IncidentChange]:
        policy = self.policy_for(obs.check)
        state = _load_state(conn, obs.check, obs.environment)
        previous_ok = state["last_ok"]
        changes: list[IncidentChange] = []

        if previous_ok is not None and previous_ok != obs.ok:
            transitions = [
                ts for ts in (state["transitions"] or []) if ts > obs.ts - policy.flap_window
            ]
            transitions.append(obs.ts)
            state["transitions"] = transitions[-100:]
        if obs.ok:
            if state["consecutive_successes"] == 0:
                state["recovery_start_ts"] = obs.ts
            state["consecutive_successes"] += 1
            state["consecutive_failures"] = 0
        elif obs.maintenance is None:  # failures in a maintenance window are recorded, not counted
            if state["consecutive_failures"] == 0:
                state["first_failure_ts"] = obs.ts
                state["first_failure_result_id"] = obs.result_id
            state["consecutive_failures"] += 1
            state["consecutive_successes"] = 0
        state["last_ok"] = obs.ok
        state["last_ts"] = obs.ts
        state["last_error_kind"] = obs.error_kind

        incident = _load_incident(conn, state["open_incident_id"])
        if incident is not None and incident.status != "open":  # resolved by hand meanwhile
            incident = None
            state["open_incident_id"] = None
        recent_flaps = [
            ts for ts in (state["transitions"] or []) if ts > obs.ts - policy.flap_window
        ]
        if incident is None:
            kind = None
            if (
                not obs.ok
                and obs.maintenance is None
                and state["consecutive_failures"] >= policy.failure_threshold
            ):
                kind = "down"
            elif obs.maintenance is None and len(recent_flaps) >= policy.flap_threshold:
                kind = "flapping"
            if kind is not None:
                incident_id = self._open(conn, obs, state, kind)
                state["open_incident_id"] = incident_id
                state["last_reminder_at"] = obs.ts
                incident = _load_incident(conn, incident_id)
                assert incident is not None
                self._notify(conn, policy, OPENED, incident, obs, now)
                changes.append(
                    IncidentChange(OPENED, incident_id, obs.check, obs.environment, kind)
                )
        else:
            needed = policy.success_threshold
            if incident.kind == "flapping":
                needed = max(needed, policy.flap_threshold)
            if obs.ok and state["consecutive_successes"] >= needed:
                start = state["recovery_start_ts"] or obs.ts
                conn.execute(
                    t.incidents.update()
                    .where(t.incidents.c.id == incident.id)
                    .values(status="resolved", resolved_at=start, resolved_by="checks")
                )
                incident = _load_incident(conn, incident.id)
                assert incident is not None
                state["open_incident_id"] = None
                self._notify(conn, policy, RESOLVED, incident, obs, now)
                changes.append(
                    IncidentChange(RESOLVED, incident.id, obs.check, obs.environment, incident.kind)
                )
            elif not obs.ok:
                kinds = list(incident.error_kinds or [])
                if obs.error_kind and obs.error_kind != incident.last_error_kind:
                    if obs.error_kind not in kinds:
                        kinds.append(obs.error_kind)
                    conn.execute(
                        t.incidents.update()
                        .where(t.incidents.c.id == incident.id)
                        .values(
                            last_error_kind=obs.error_kind,
                            error_kinds=kinds,
                            failing_conditions=obs.failing_conditions
                            or incident.failing_conditions,
                        )
                    )
                    incident = _load_incident(conn, incident.id)
                    assert incident is not None
                    self._notify(conn, policy, UPDATED, incident, obs, now)
                    changes.append(
                        IncidentChange(
                            UPDATED, incident.id, obs.check, obs.environment, incident.kind
                        )
                    )
                elif (
                    policy.remind_every
                    and obs.ts - (state["last_reminder_at"] or incident.opened_at)
                    >= policy.remind_every
                ):
                    state["last_reminder_at"] = obs.ts
                    self._notify(conn, policy, REMINDER, incident, obs, now)
                    changes.append(
                        IncidentChange(
                            REMINDER, incident.id, obs.check, obs.environment, incident.kind
                        )
                    )
        _save_state(conn, obs.check, obs.environment, state, now)
        return changes

    def _open(self, conn: Connection, obs: Observation, state: dict[str, Any], kind: str) -> int:
        opened_at = obs.ts if kind == "flapping" else (state["first_failure_ts"] or obs.ts)
        result = conn.execute(
            t.incidents.insert().values(
                check_name=obs.check,
                environment=obs.environment,
                kind=kind,
                status="open",
                opened_at=opened_at,
                first_result_id=state["first_failure_result_id"]
                if kind == "down"
                else obs.result_id,
                failing_conditions=obs.failing_conditions,
                error_kinds=[obs.error_kind] if obs.error_kind else [],
                last_error_kind=obs.error_kind,
                notes=[],
                refs={"detected_at": obs.ts},
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    # --- notifications -------------------------------------------------------------------------

    def _notify(
        self,
        conn: Connection,
        policy: Policy,
        event_type: str,
        incident: Any,
        obs: Observation,
        now: float,
    ) -> None:
        if not policy.notifiers:
            return
        env = f"[{obs.environment}] " if obs.environment else ""
        verb = {"down": "is down", "flapping": "is flapping"}[incident.kind]
        title = f"{env}{obs.check} {verb}"
        seq = {UPDATED: f":{obs.ts:.3f}", REMINDER: f":{obs.ts:.3f}"}.get(event_type, "")
        key = f"incident:{incident.id}:{event_type.split('.')[1]}{seq}"
        body = self._body(conn, event_type, incident, obs)
        fields = {
            "check": obs.check,
            "environment": obs.environment or "-",
            "status": {
                OPENED: "down",
                UPDATED: "still down",
                REMINDER: "still down",
                RESOLVED: "resolved",
            }[event_type],
            "error": f"{obs.error_kind}: {obs.error_message}" if obs.error_kind else "-",
        }
        if obs.votes:
            fields["locations"] = _votes(obs.votes)
        if event_type == RESOLVED and incident.resolved_at is not None:
            fields["downtime"] = format_duration(incident.resolved_at - incident.opened_at)
        labels = [obs.environment] if obs.environment else []
        enqueue_in(
            conn,
            policy.notifiers,
            {
                "key": key,
                "type": event_type,
                "subject": f"incident:{obs.check}:{obs.environment}:{incident.id}",
                "title": title if event_type != RESOLVED else f"{env}{obs.check} recovered",
                "body": body,
                "severity": "critical" if event_type != RESOLVED else "info",
                "fields": fields,
                "url": self._link(obs),
                "labels": labels,
            },
            now,
        )

    def _link(self, obs: Observation) -> str | None:
        if not self.dashboard_url:
            return None
        return f"{self.dashboard_url}/dashboard/checks/{obs.check}?environment={obs.environment}"

    def _body(self, conn: Connection, event_type: str, incident: Any, obs: Observation) -> str:
        lines: list[str] = []
        if event_type == RESOLVED:
            downtime = format_duration((incident.resolved_at or obs.ts) - incident.opened_at)
            lines.append(
                f"**{obs.check}** recovered in **{obs.environment or 'default'}** after {downtime} of downtime."
            )
        elif event_type == UPDATED:
            lines.append(
                f"The error changed: **{obs.error_kind}**: {obs.error_message or ''}".rstrip()
            )
        elif event_type == REMINDER:
            lines.append(f"Still failing since {_iso(incident.opened_at)}.")
        else:
            what = "keeps changing state" if incident.kind == "flapping" else "is failing"
            lines.append(f"**{obs.check}** {what} in **{obs.environment or 'default'}**.")
            lines.append("")
            lines.append(f"- Environment: `{obs.environment or '-'}`")
            if obs.target:
                lines.append(f"- Target: `{obs.target}`")
            lines.append(f"- Failing since: {_iso(incident.opened_at)}")
            if obs.error_kind:
                lines.append(f"- Error: `{obs.error_kind}`: {obs.error_message or ''}")
            if obs.votes:
                lines.append(f"- Locations: {_votes(obs.votes)}")
            if obs.failing_conditions:
                lines.append("- Failing conditions:")
                lines.extend(f"  - `{c}`" for c in obs.failing_conditions)
        if event_type != RESOLVED:
            lines.append("")
            lines.append(_recent_table(conn, obs.check, obs.environment))
        link = self._link(obs)
        if link:
            lines.append("")
            lines.append(f"[Dashboard]({link})")
        return "\n".join(lines)


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
        out.append(
            f"| {_iso(row.ts)} | {'ok' if row.ok else 'failed'} | {ms} | {err.replace('|', '/')} |"
        )
    return "\n".join(out) if rows else "_no stored results yet_"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


_STATE_DEFAULTS: dict[str, Any] = {
    "status": "unknown",
    "consecutive_failures": 0,
    "consecutive_successes": 0,
    "last_ts": None,
    "last_ok": None,
    "last_error_kind": None,
    "transitions": None,
    "first_failure_ts": None,
    "first_failure_result_id": None,
    "recovery_start_ts": None,
    "open_incident_id": None,
    "last_reminder_at": None,
}


def _load_state(conn: Connection, check: str, environment: str) -> dict[str, Any]:
    s = t.check_state
    query = select(s).where(s.c.check_name == check, s.c.environment == environment)
    if conn.dialect.name == "postgresql":
        # Writers of one check's state take turns (the owner, a manual run): each one continues
        # from the state the previous one committed, so no incident is opened twice.
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    state = dict(_STATE_DEFAULTS)
    if row is not None:
        state.update({k: row[k] for k in _STATE_DEFAULTS})
        state["_exists"] = True
    return state


def _save_state(
    conn: Connection, check: str, environment: str, state: dict[str, Any], now: float
) -> None:
    s = t.check_state
    values = {k: state[k] for k in _STATE_DEFAULTS}
    values["status"] = "up" if state["last_ok"] else "down"
    values["updated_at"] = now
    if state.get("_exists"):
        conn.execute(
            s.update()
            .where(s.c.check_name == check, s.c.environment == environment)
            .values(**values)
        )
    else:
        conn.execute(s.insert().values(check_name=check, environment=environment, **values))
        state["_exists"] = True


def _load_incident(conn: Connection, incident_id: int | None) -> Any:
    """The incident row with this id, whatever its status (None when there is none)."""
    if incident_id is None:
        return None
    return conn.execute(select(t.incidents).where(t.incidents.c.id == incident_id)).first()


def enqueue_in(
    conn: Connection, notifiers: Sequence[str], event: dict[str, Any], now: float | None = None
) -> int:
    """Insert one outbox row per notifier inside the caller's transaction; duplicates are ignored."""
    now = time.time() if now is None else now
    rows = [
        {
            "idempotency_key": event["key"],
            "notifier": name,
            "event_type": event["type"],
            "subject": event.get("subject"),
            "payload": event,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for name in notifiers
    ]
    if not rows:
        return 0
    dialect = conn.dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t.outbox)
    result = conn.execute(
        insert.on_conflict_do_nothing(index_elements=["notifier", "idempotency_key"]), rows
    )
    return max(result.rowcount or 0, 0)
