"""The incident state machine: one pure function from (state, verdict) to (state, events).

Every mode (``serve``, ``monitor run``, ``monitor once`` in a workflow) turns each check result
into a :class:`Verdict` and calls :func:`step`; :class:`~prodshield.monitor.incidents.
IncidentEngine` loads the :class:`MachineState` from ``check_state``, stores what :func:`step`
returns and performs its events (incident rows, outbox notifications) in the same transaction.
The table in docs/monitor.md ("Incidents") is this module in words; keep them together.

Phases (derived from the state, see :attr:`MachineState.phase`):

- ``up``: no incident, the last counted result passed.
- ``failing``: no incident, 1 to ``failure_threshold - 1`` consecutive failures.
- ``down``: an incident (kind down, degraded, certificate or heartbeat) is open, the check fails.
- ``recovering``: that incident is open, 1 to ``success_threshold - 1`` consecutive successes.
- ``flapping``: a flapping incident is open; it resolves once the check has kept one state for
  ``flap_stable`` and passes.

A *flap* is a state change out of a streak too short to count: fewer than ``failure_threshold``
failures, or fewer than ``success_threshold`` successes. A steady outage (failing for longer than
the threshold, then passing for longer) has no flaps, so a periodic outage is one ``down``
incident per outage window; a check that keeps changing state without settling has many, and
``flap_threshold`` of them within ``flap_window`` (counted since the last incident resolved) open
one flapping incident, on a failing result.

Results that change nothing: one older than or as old as the last one judged (late, out of order,
duplicated), and a failure during a maintenance window (stored, never counted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

OPENED, UPDATED, REMINDER, RESOLVED = (
    "incident.opened",
    "incident.updated",
    "incident.reminder",
    "incident.resolved",
)

KINDS = ("down", "degraded", "certificate", "heartbeat", "flapping")
"""Incident kinds. A result's kind says why it fails; ``flapping`` comes from the machine."""

WARNING_KINDS = ("degraded", "certificate")
"""Failures of a target that answered, on a condition about its quality (a slow answer, a
certificate close to expiry): the check is shown ``degraded``, not ``down``, and its incident is a
warning (severity medium)."""


def kind_of(check_type: str, failed: Sequence[Any], error_kind: str | None = "condition") -> str:
    """Why a result fails, as an incident kind: a heartbeat check's missing ping; for a target
    that answered (the error is a condition), a certificate close to expiry (only
    ``[CERTIFICATE_EXPIRATION]`` fails) or a slow answer (only ``[RESPONSE_TIME]`` fails:
    degraded); anything else is down (refused, timeout, TLS, ... whatever the conditions say)."""
    if check_type == "heartbeat":
        return "heartbeat"
    if error_kind != "condition":
        return "down"
    exprs = [str(getattr(c, "expr", c)) for c in failed]
    if exprs and all("[CERTIFICATE_EXPIRATION]" in e for e in exprs):
        return "certificate"
    if exprs and all("[RESPONSE_TIME]" in e for e in exprs):
        return "degraded"
    return "down"


def check_status(last_ok: bool | None, kind: str) -> str:
    """A check's state (``check_state.status``) after its last result: ``up``, ``down``,
    ``degraded`` (it failed with a warning kind, see :data:`WARNING_KINDS`) or ``unknown``."""
    if last_ok is None:
        return "unknown"
    if last_ok:
        return "up"
    return "degraded" if kind in WARNING_KINDS else "down"


FLAP_MEMORY = 100  # flaps kept in the state (more than any sensible flap_threshold)


@dataclass(frozen=True, slots=True)
class Rules:
    """The thresholds the machine follows for one check (from ``defaults`` and the check)."""

    failure_threshold: int = 3
    success_threshold: int = 2
    flap_threshold: int = 6
    flap_window: float = 3600.0
    flap_stable: float = 600.0
    remind_every: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judged result: passed or not (for several locations: the quorum's verdict)."""

    ts: float
    ok: bool
    kind: str = "down"
    """Why it fails (down, degraded, certificate, heartbeat); ignored when ``ok``."""
    error_kind: str | None = None
    maintenance: bool = False
    result_id: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """What a step asks the caller to do: open, update, remind or resolve the incident."""

    type: str  # OPENED, UPDATED, REMINDER or RESOLVED
    kind: str
    at: float
    """opened_at for OPENED, resolved_at for RESOLVED, the result's time otherwise."""
    first_result_id: int | None = None
    error_kind: str | None = None


@dataclass(slots=True)
class MachineState:
    """Everything the machine remembers per (check, environment); stored in ``check_state``."""

    consecutive_failures: int = 0
    consecutive_successes: int = 0
    last_ts: float | None = None
    last_ok: bool | None = None
    last_error_kind: str | None = None
    flaps: list[float] = field(default_factory=list)
    first_failure_ts: float | None = None
    first_failure_result_id: int | None = None
    recovery_start_ts: float | None = None
    last_change_ts: float | None = None
    open_incident_id: int | None = None
    open_kind: str | None = None
    opened_at: float | None = None
    open_error_kind: str | None = None
    last_reminder_at: float | None = None

    @property
    def phase(self) -> str:
        if self.open_kind == "flapping":
            return "flapping"
        if self.open_kind is not None:
            return "recovering" if self.consecutive_successes else "down"
        return "failing" if self.consecutive_failures else "up"

    def as_row(self) -> dict[str, Any]:
        """The ``check_state`` columns (``flaps`` is stored in ``transitions``)."""
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["transitions"] = list(row.pop("flaps"))
        return row

    @classmethod
    def from_row(cls, row: Any) -> MachineState:
        """A state from a ``check_state`` row (mapping); missing columns keep their defaults."""
        get = row.get if hasattr(row, "get") else (lambda k, d=None: getattr(row, k, d))
        values: dict[str, Any] = {}
        for f in fields(cls):
            column = "transitions" if f.name == "flaps" else f.name
            value = get(column, None)
            if value is not None:
                values[f.name] = value
        values["flaps"] = [float(x) for x in values.get("flaps") or []]
        state = cls(**values)
        state.consecutive_failures = int(state.consecutive_failures or 0)
        state.consecutive_successes = int(state.consecutive_successes or 0)
        return state

    def forget_incident(self) -> MachineState:
        """The state once its incident was resolved by hand (the next failures start afresh)."""
        return replace(
            self,
            open_incident_id=None,
            open_kind=None,
            opened_at=None,
            open_error_kind=None,
            last_reminder_at=None,
            flaps=[],
            consecutive_failures=0,
            first_failure_ts=None,
            first_failure_result_id=None,
        )


def quorum_fails(votes: Mapping[str, bool], quorum: int) -> bool:
    """Whether a check run from several locations fails: at least ``quorum`` of the locations
    reporting fail (all of them when fewer than ``quorum`` report). ``votes``: location -> ok."""
    failing = sum(1 for ok in votes.values() if not ok)
    return bool(votes) and failing >= min(quorum, len(votes))


def step(state: MachineState, verdict: Verdict, rules: Rules) -> tuple[MachineState, list[Event]]:
    """The next state and the events one verdict causes; ``state`` is not modified."""
    if state.last_ts is not None and verdict.ts <= state.last_ts:
        return state, []  # late, out of order or a duplicate: stored, not judged
    if not verdict.ok and verdict.maintenance:
        # A failure in a maintenance window is recorded, never counted: it neither starts nor
        # extends a streak, opens nothing and breaks no recovery.
        return replace(state, last_ts=verdict.ts), []
    s = replace(state, flaps=list(state.flaps))
    events: list[Event] = []
    _count(s, verdict, rules)
    if s.open_kind is None:
        _maybe_open(s, events, verdict, rules)
    else:
        _while_open(s, s.open_kind, events, verdict, rules)
    return s, events


def _count(s: MachineState, verdict: Verdict, rules: Rules) -> None:
    """The streaks, the flaps in the window and the last verdict, updated in ``s``."""
    ts = verdict.ts
    changed = s.last_ok is not None and s.last_ok != verdict.ok
    if changed:
        s.last_change_ts = ts
        short = (
            s.consecutive_successes < rules.success_threshold
            if verdict.ok is False
            else s.consecutive_failures < rules.failure_threshold
        )
        if short:
            s.flaps.append(ts)
    s.flaps = [f for f in s.flaps if f > ts - rules.flap_window][-FLAP_MEMORY:]
    if s.last_change_ts is None:
        s.last_change_ts = ts
    if verdict.ok:
        if s.consecutive_successes == 0:
            s.recovery_start_ts = ts
        s.consecutive_successes += 1
        s.consecutive_failures = 0
        s.first_failure_ts = None
        s.first_failure_result_id = None
    else:
        if s.consecutive_failures == 0:
            s.first_failure_ts = ts
            s.first_failure_result_id = verdict.result_id
        s.consecutive_failures += 1
        s.consecutive_successes = 0
        s.recovery_start_ts = None
    s.last_ok = verdict.ok
    s.last_ts = ts
    s.last_error_kind = None if verdict.ok else verdict.error_kind


def _maybe_open(s: MachineState, events: list[Event], verdict: Verdict, rules: Rules) -> None:
    """No incident open: a failure opens one when the flaps or the failure streak reach their
    threshold."""
    if verdict.ok:
        return
    if len(s.flaps) >= rules.flap_threshold:
        _open(s, events, "flapping", verdict.ts, verdict.result_id, verdict.error_kind)
    elif s.consecutive_failures >= rules.failure_threshold:
        assert s.first_failure_ts is not None
        _open(
            s,
            events,
            verdict.kind,
            s.first_failure_ts,
            s.first_failure_result_id,
            verdict.error_kind,
        )


def _while_open(
    s: MachineState, open_kind: str, events: list[Event], verdict: Verdict, rules: Rules
) -> None:
    """An incident open: a flapping one resolves once stable long enough; another by enough
    successes, and a failure escalates it, changes its cause, or reminds."""
    ts = verdict.ts
    if open_kind == "flapping":
        stable_since = s.last_change_ts
        assert stable_since is not None  # set by _count
        if verdict.ok and ts - stable_since >= rules.flap_stable:
            _resolve(s, events, ts)
        elif not verdict.ok:
            _remind(s, events, ts, rules)
        return
    if verdict.ok:
        if s.consecutive_successes >= rules.success_threshold:
            assert s.recovery_start_ts is not None
            _resolve(s, events, s.recovery_start_ts)
        return
    if verdict.kind == "down" and open_kind != "down":
        s.open_kind = "down"  # a warning (degraded, certificate) became an outage
        s.open_error_kind = verdict.error_kind
        events.append(Event(UPDATED, "down", ts, error_kind=verdict.error_kind))
    elif verdict.error_kind and verdict.error_kind != s.open_error_kind:
        s.open_error_kind = verdict.error_kind
        events.append(Event(UPDATED, open_kind, ts, error_kind=verdict.error_kind))
    else:
        _remind(s, events, ts, rules)


def _open(
    s: MachineState,
    events: list[Event],
    kind: str,
    opened_at: float,
    first_result_id: int | None,
    error_kind: str | None,
) -> None:
    s.open_kind = kind
    s.opened_at = opened_at
    s.open_error_kind = error_kind
    s.open_incident_id = None  # the caller stores the incident and fills its id
    s.last_reminder_at = s.last_ts
    events.append(Event(OPENED, kind, opened_at, first_result_id, error_kind))


def _resolve(s: MachineState, events: list[Event], resolved_at: float) -> None:
    kind = s.open_kind or "down"
    # Never before the incident opened (a resolution can only follow the results that opened it).
    at = max(resolved_at, s.opened_at if s.opened_at is not None else resolved_at)
    events.append(Event(RESOLVED, kind, at))
    s.open_kind = None
    s.open_incident_id = None
    s.opened_at = None
    s.open_error_kind = None
    s.last_reminder_at = None
    s.flaps = []  # a new flapping period needs flap_threshold new flaps


def _remind(s: MachineState, events: list[Event], ts: float, rules: Rules) -> None:
    if rules.remind_every and s.open_kind is not None:
        since = s.last_reminder_at if s.last_reminder_at is not None else s.opened_at
        if since is not None and ts - since >= rules.remind_every:
            s.last_reminder_at = ts
            events.append(Event(REMINDER, s.open_kind, ts))
