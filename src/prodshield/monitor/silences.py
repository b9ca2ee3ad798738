"""Silences: an operator's "I know, stop paging me" for one check (or every check, or a
service's SLO as ``service:NAME``), with an expiry and a reason.

While a silence covers a check in an environment, the incidents keep opening and resolving as
usual, but their notifications are held and the incident records the silence (who, why, until
when). When the silence expires (or is lifted) the notifications resume: an incident that opened
silenced and still fails is announced then, once; one that resolved meanwhile never pages.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, or_, select

from prodshield.config.schema import ShieldConfig
from prodshield.errors import Conflict, Invalid, NotFound
from prodshield.monitor.slo import SERVICE_PREFIX
from prodshield.store import tables as t
from prodshield.text import for_terminal

MAX_SILENCE_S = 90 * 86400.0
"""The longest silence (a forgotten one must end by itself)."""
MAX_REASON = 500


def active(conn: Connection, check: str, environment: str, now: float) -> Any:
    """The silence covering ``check`` in ``environment`` at ``now`` (the one ending last), or
    None."""
    s = t.silences
    return conn.execute(
        select(s)
        .where(
            or_(s.c.check_name.is_(None), s.c.check_name == check),
            or_(s.c.environment.is_(None), s.c.environment == environment),
            s.c.created_at <= now,
            s.c.expires_at > now,
            or_(s.c.ended_at.is_(None), s.c.ended_at > now),
        )
        .order_by(s.c.expires_at.desc())
        .limit(1)
    ).first()


def as_dict(row: Any, now: float | None = None) -> dict[str, Any]:
    """A silence for the API, the CLI and the incident it is recorded on."""
    now = time.time() if now is None else now
    until = row.expires_at if row.ended_at is None else min(row.expires_at, row.ended_at)
    return {
        "id": int(row.id),
        "check": row.check_name,
        "environment": row.environment,
        "reason": row.reason,
        "by": row.created_by,
        "created_at": row.created_at,
        "until": until,
        "ended_by": row.ended_by,
        "active": row.created_at <= now < until,
    }


MANUAL = "manual"
"""The kind of a hand-opened incident (``incidents.MANUAL``, which imports this module)."""


def is_target(config: ShieldConfig, name: str) -> bool:
    """Whether a silence may name ``name``: a check, or ``service:NAME`` of a configured
    service (the target its SLO incidents are kept on, so the silence holds them)."""
    if name.startswith(SERVICE_PREFIX):
        return name[len(SERVICE_PREFIX) :] in config.services
    return any(c.name == name for c in config.checks)


MANUAL_NOT_SILENCED = (
    "an incident opened by hand is not silenced: it pages only when someone acts on it "
    "(an update, an acknowledgement, its resolution), and a silence holds what the checks send"
)


def create(
    store: Any,
    config: ShieldConfig,
    *,
    check: str | None,
    environment: str | None,
    seconds: float,
    reason: str,
    by: str,
    now: float | None = None,
) -> dict[str, Any]:
    """Silence ``check`` (None: every check) in ``environment`` (None: every one) for
    ``seconds``; the open incidents it covers record it. :class:`Invalid` on bad input (a
    check or environment the config does not name included)."""
    now = time.time() if now is None else now
    # printed by `incident silences` and shown on incidents: escape sequences kept as marks
    reason = " ".join(for_terminal(reason or "").split())
    by = " ".join(for_terminal(by or "").split()) or "operator"
    if not reason:
        raise Invalid("a silence needs a reason")
    if len(reason) > MAX_REASON:
        raise Invalid(f"the reason is longer than {MAX_REASON} characters")
    if not 0 < seconds <= MAX_SILENCE_S:
        raise Invalid("a silence lasts more than 0 seconds and at most 90 days")
    if check is not None and not is_target(config, check):
        raise Invalid(f"no check named {check!r}")
    if environment is not None and environment and environment not in config.environments:
        raise Invalid(f"no environment named {environment!r}")
    s = t.silences
    with store.begin() as conn:
        result = conn.execute(
            s.insert().values(
                check_name=check,
                environment=environment,
                reason=reason,
                created_by=by[:128],
                created_at=now,
                expires_at=now + seconds,
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        row = conn.execute(select(s).where(s.c.id == int(pk[0]))).one()
        _record_on_open(conn, row, now)
        return as_dict(row, now)


def of_incident(
    store: Any,
    config: ShieldConfig,
    incident_id: int,
    *,
    seconds: float,
    reason: str,
    by: str,
    now: float | None = None,
) -> dict[str, Any]:
    """Silence what an incident is about in its environment (the dashboard's button), as
    :func:`create` does: its check (a check's outage or SLO), or ``service:NAME`` for a
    service's SLO. NotFound when there is no such incident; Conflict for a hand-opened one,
    which pages only when someone acts on it, so nothing automatic is there to hold."""
    i = t.incidents
    with store.connect() as conn:
        row = conn.execute(
            select(i.c.check_name, i.c.environment, i.c.kind).where(i.c.id == incident_id)
        ).first()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    if row.kind == MANUAL:
        raise Conflict(MANUAL_NOT_SILENCED)
    return create(
        store,
        config,
        check=row.check_name,
        environment=row.environment or "",
        seconds=seconds,
        reason=reason,
        by=by,
        now=now,
    )


def end(store: Any, silence_id: int, by: str, now: float | None = None) -> dict[str, Any]:
    """Lift a silence before it expires (NotFound when there is no such silence); ``ended_now``
    in the answer is False when it had already ended or expired (nothing changed)."""
    now = time.time() if now is None else now
    s = t.silences
    with store.begin() as conn:
        row = conn.execute(select(s).where(s.c.id == silence_id)).first()
        if row is None:
            raise NotFound(f"no silence {silence_id}")
        ended_now = row.ended_at is None and row.expires_at > now
        if ended_now:
            conn.execute(s.update().where(s.c.id == silence_id).values(ended_at=now, ended_by=by))
            row = conn.execute(select(s).where(s.c.id == silence_id)).one()
        return {**as_dict(row, now), "ended_now": ended_now}


def listing(
    store: Any, *, include_past: bool = False, now: float | None = None
) -> list[dict[str, Any]]:
    """The active silences (and, with ``include_past``, the last 100 ended ones), newest first."""
    now = time.time() if now is None else now
    s = t.silences
    query = select(s).order_by(s.c.created_at.desc(), s.c.id.desc()).limit(200)
    if not include_past:
        query = query.where(s.c.expires_at > now, or_(s.c.ended_at.is_(None), s.c.ended_at > now))
    with store.connect() as conn:
        return [as_dict(r, now) for r in conn.execute(query)]


def record(conn: Connection, incident: Any, silence: Any, held: str | None, now: float) -> None:
    """Write ``silence`` on the incident (``refs.silence``); ``held``: an event type whose
    notification it held back."""
    refs = dict(incident.refs or {})
    before = dict(refs.get("silence") or {})
    entry = {k: v for k, v in as_dict(silence, now).items() if k != "active"}
    # what an earlier silence held and never released is still owed
    entry["held"] = [] if before.get("released_at") else list(before.get("held") or [])
    if held and held not in entry["held"]:
        entry["held"].append(held)
    if before and before.get("id") != entry["id"]:
        refs["silences_before"] = [*(refs.get("silences_before") or []), before][-10:]
    refs["silence"] = entry
    i = t.incidents
    conn.execute(i.update().where(i.c.id == incident.id).values(refs=refs))


def released(conn: Connection, incident: Any, now: float) -> bool:
    """Mark the incident's silence over; True when it held the opening notification back (the
    caller announces the incident now)."""
    refs = dict(incident.refs or {})
    entry = dict(refs.get("silence") or {})
    if not entry or entry.get("released_at") is not None:
        return False
    entry["released_at"] = now
    refs["silence"] = entry
    i = t.incidents
    conn.execute(i.update().where(i.c.id == incident.id).values(refs=refs))
    return "incident.opened" in (entry.get("held") or [])


def _record_on_open(conn: Connection, silence: Any, now: float) -> None:
    i = t.incidents
    query = select(i).where(i.c.status == "open")
    if silence.check_name is not None:
        query = query.where(i.c.check_name == silence.check_name)
    if silence.environment is not None:
        query = query.where(i.c.environment == silence.environment)
    for incident in conn.execute(query).all():
        record(conn, incident, silence, None, now)


def held_opening(incident: Any) -> bool:
    """Whether a silence held the incident's opening back (and never announced it since)."""
    entry = (incident.refs or {}).get("silence") or {}
    return "incident.opened" in (entry.get("held") or []) and not entry.get("released_at")
