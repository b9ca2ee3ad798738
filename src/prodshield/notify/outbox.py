"""The outbox: notifications wait in the store until a notifier confirms them.

One row per (notifier, idempotency key), so enqueuing an event twice is a no-op. A worker claims
rows with a lease (``lease_owner``/``lease_until``; PostgreSQL adds ``FOR UPDATE SKIP LOCKED``,
SQLite serialises claims with ``BEGIN IMMEDIATE``), so two workers never send one row at once; a
worker that dies loses its lease when it expires and the row is claimed again. Rows of one
(notifier, subject) are delivered in order: a row is not claimed while an older one of its thread
is still pending. Failures are retried with exponential backoff and jitter (half the delay fixed, half random), never
sooner than
the provider's ``Retry-After``; after ``max_attempts`` (or a permanent error) the row is dead.
"""

from __future__ import annotations

import random
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from prodshield.errors import Conflict, NotFound, NotifyError
from prodshield.notify.event import Event, clean_payload
from prodshield.store import tables as t
from prodshield.store.store import Store
from prodshield.text import plural

PENDING, SENT, DEAD = "pending", "sent", "dead"
STATUSES = (PENDING, SENT, DEAD)
MAX_ERROR_CHARS = 2000


@dataclass
class OutboxRow:
    """One notification waiting for, or done with, one notifier."""

    id: int
    notifier: str
    idempotency_key: str
    event_type: str
    subject: str | None
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    sent_at: float | None
    result: dict[str, Any] | None
    lease_owner: str | None
    lease_until: float | None

    @property
    def event(self) -> Event:
        return Event.from_dict(self.payload)

    @classmethod
    def from_row(cls, row: Any) -> OutboxRow:
        m = row._mapping
        return cls(**{name: m[name] for name in cls.__dataclass_fields__})


@dataclass
class RetryPolicy:
    """How a notifier retries: from its config (``max_attempts``, ``backoff``, ``max_backoff``)."""

    max_attempts: int = 8
    backoff: float = 5.0
    max_backoff: float = 900.0

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds before attempt ``attempt + 1``: between half and all of an exponential
        ceiling (so ``backoff: 1h`` never retries in a second, and workers that failed together
        still spread out), never less than ``retry_after``."""
        ceiling = min(self.max_backoff, self.backoff * (2 ** max(0, attempt - 1)))
        jittered = (rng or random).uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            return max(float(retry_after), jittered)
        return jittered


def enqueue(
    store: Store, notifiers: Iterable[str], event: Event, *, now: float | None = None
) -> int:
    """Queue ``event`` for each notifier; return how many rows were new (0 when all existed)."""
    now = time.time() if now is None else now
    insert_fn = postgresql.insert if store.backend == "postgresql" else sqlite.insert
    payload = event.to_dict()
    added = 0
    with store.begin() as conn:
        for name in dict.fromkeys(notifiers):
            stmt = (
                insert_fn(t.outbox)
                .values(
                    idempotency_key=event.key,
                    notifier=name,
                    event_type=event.type,
                    subject=event.subject,
                    payload=payload,
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["notifier", "idempotency_key"])
                .returning(t.outbox.c.id)
            )
            added += len(conn.execute(stmt).all())
    return added


def _pending_of(notifiers: Collection[str], ids: Collection[int] | None) -> list[Any]:
    o = t.outbox
    conds: list[Any] = [
        o.c.status == PENDING,
        o.c.notifier.in_(list(notifiers)),
    ]
    if ids is not None:
        conds.append(o.c.id.in_(list(ids)))
    return conds


def _blocked_by_older() -> Any:
    """An older row of the same (notifier, subject) is still pending: keep the thread's order."""
    o = t.outbox
    older = t.outbox.alias("older")
    return exists().where(
        older.c.notifier == o.c.notifier,
        older.c.subject == o.c.subject,
        older.c.status == PENDING,
        older.c.id < o.c.id,
    )


def claim(
    store: Store,
    owner: str,
    *,
    notifiers: Collection[str],
    limit: int = 20,
    lease_s: float = 300.0,
    ids: Collection[int] | None = None,
    now: float | None = None,
) -> list[OutboxRow]:
    """Lease up to ``limit`` due rows of ``notifiers`` to ``owner`` and count the attempt."""
    if not notifiers:
        return []
    now = time.time() if now is None else now
    o = t.outbox
    query = (
        select(o.c.id)
        .where(
            *_pending_of(notifiers, ids),
            o.c.next_attempt_at <= now,
            or_(o.c.lease_until.is_(None), o.c.lease_until <= now),
            ~_blocked_by_older(),
        )
        .order_by(o.c.next_attempt_at, o.c.id)
        .limit(limit)
    )
    if store.backend == "postgresql":
        query = query.with_for_update(skip_locked=True, of=o)
    with store.begin() as conn:
        picked = [r.id for r in conn.execute(query)]
        if not picked:
            return []
        conn.execute(
            update(o)
            .where(o.c.id.in_(picked))
            .values(lease_owner=owner, lease_until=now + lease_s, attempts=o.c.attempts + 1)
        )
        rows = conn.execute(select(o).where(o.c.id.in_(picked)).order_by(o.c.id))
        return [OutboxRow.from_row(r) for r in rows]


def renew(
    store: Store,
    owner: str,
    ids: Collection[int],
    *,
    lease_s: float,
    now: float | None = None,
) -> int:
    """Extend ``owner``'s lease on the still-pending rows ``ids``; return how many it still holds.

    A worker renews while its sends run, so the lease can be short: a row held by a process that
    died is claimed again within one lease, not after the longest send a provider might take.
    """
    if not ids:
        return 0
    now = time.time() if now is None else now
    o = t.outbox
    with store.begin() as conn:
        return int(
            conn.execute(
                update(o)
                .where(o.c.id.in_(list(ids)), o.c.status == PENDING, o.c.lease_owner == owner)
                .values(lease_until=now + lease_s)
            ).rowcount
        )


def next_wake(
    store: Store,
    *,
    notifiers: Collection[str],
    ids: Collection[int] | None = None,
    now: float | None = None,
) -> float | None:
    """When the earliest pending row of ``notifiers`` may be claimed (None: nothing pending)."""
    if not notifiers:
        return None
    now = time.time() if now is None else now
    o = t.outbox
    ready = func.coalesce(o.c.lease_until, 0)
    with store.connect() as conn:
        rows = conn.execute(
            select(o.c.next_attempt_at, ready.label("lease")).where(
                *_pending_of(notifiers, ids), ~_blocked_by_older()
            )
        ).all()
    if not rows:
        return None
    return float(min(max(r.next_attempt_at, r.lease) for r in rows))


def mark_sent(
    store: Store, row_id: int, result: dict[str, Any] | None, *, now: float | None = None
) -> None:
    """Record a confirmed delivery and release the lease."""
    mark_sent_many(store, [(row_id, result)], now=now)


def mark_sent_many(
    store: Store,
    done: Sequence[tuple[int, dict[str, Any] | None]],
    *,
    now: float | None = None,
) -> None:
    """Record several confirmed deliveries in one transaction (one commit, one fsync)."""
    if not done:
        return
    now = time.time() if now is None else now
    o = t.outbox
    stmt = (
        update(o)
        .where(o.c.id == bindparam("row_id"), o.c.status == PENDING)
        .values(
            status=SENT,
            sent_at=now,
            result=bindparam("row_result", type_=o.c.result.type),
            last_error=None,
            lease_owner=None,
            lease_until=None,
        )
    )
    with store.begin() as conn:
        conn.execute(stmt, [{"row_id": i, "row_result": r} for i, r in done])


def record_progress(store: Store, row_id: int, progress: dict[str, Any]) -> None:
    """Keep what a provider did so far on a still-pending row (its ``result``), before the row is
    marked sent: a retry after a crash in between reads it back (``OutboxRow.result``)."""
    o = t.outbox
    with store.begin() as conn:
        conn.execute(
            update(o).where(o.c.id == row_id, o.c.status == PENDING).values(result=progress)
        )


def latest_in_thread(
    store: Store, notifier: str, subject: str, event_type: str, *, before_id: int
) -> OutboxRow | None:
    """The newest row of ``event_type`` in (``notifier``, ``subject``) older than ``before_id``
    that has a recorded result (a thread's first message, for providers that reply under it)."""
    o = t.outbox
    with store.connect() as conn:
        rows = conn.execute(
            select(o)
            .where(
                o.c.notifier == notifier,
                o.c.subject == subject,
                o.c.event_type == event_type,
                o.c.id < before_id,
            )
            .order_by(o.c.id.desc())
            .limit(1)
        ).all()
    found = [OutboxRow.from_row(r) for r in rows]
    return found[0] if found and isinstance(found[0].result, dict) else None


@dataclass
class FailureOutcome:
    status: str
    """``pending`` (retry scheduled) or ``dead``."""
    error: str
    """The error as stored in ``last_error``."""
    next_attempt_at: float | None = None


def mark_failed(
    store: Store,
    row: OutboxRow,
    error: NotifyError,
    policy: RetryPolicy,
    *,
    now: float | None = None,
    rng: random.Random | None = None,
) -> FailureOutcome:
    """Schedule the next attempt of ``row``, or mark it dead when retrying cannot help."""
    now = time.time() if now is None else now
    message = str(error)[:MAX_ERROR_CHARS]
    o = t.outbox
    if error.permanent or row.attempts >= policy.max_attempts:
        if not error.permanent:
            tries = f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}"
            message = f"gave up after {tries}: {message}"[:MAX_ERROR_CHARS]
        with store.begin() as conn:
            conn.execute(
                update(o)
                .where(o.c.id == row.id, o.c.status == PENDING)
                .values(status=DEAD, last_error=message, lease_owner=None, lease_until=None)
            )
        return FailureOutcome(DEAD, message)
    when = now + policy.delay(row.attempts, error.retry_after, rng)
    with store.begin() as conn:
        conn.execute(
            update(o)
            .where(o.c.id == row.id, o.c.status == PENDING)
            .values(next_attempt_at=when, last_error=message, lease_owner=None, lease_until=None)
        )
    return FailureOutcome(PENDING, message, when)


def retry_dead(store: Store, row_id: int, *, now: float | None = None) -> OutboxRow:
    """Give a dead row a fresh retry budget; it is sent by the next delivery run (``serve``'s
    worker, or ``notify retry``'s own delivery). The one owner of this write: the CLI, the API and
    the dashboard call it. Raises NotFound for no such row, Conflict for a row that is not dead."""
    now = time.time() if now is None else now
    o = t.outbox
    with store.begin() as conn:
        row = conn.execute(select(o).where(o.c.id == row_id)).first()
        if row is None:
            raise NotFound(f"no outbox row {row_id}")
        if row.status != DEAD:
            raise Conflict(f"outbox row {row_id} is {row.status}, not dead")
        done = conn.execute(
            update(o)
            .where(o.c.id == row_id, o.c.status == DEAD)  # two retries at once: one wins
            .values(
                status=PENDING, attempts=0, next_attempt_at=now, lease_owner=None, lease_until=None
            )
        ).rowcount
        if not done:
            raise Conflict(f"outbox row {row_id} is no longer dead")
        return OutboxRow.from_row(conn.execute(select(o).where(o.c.id == row_id)).one())


def get(store: Store, row_id: int) -> OutboxRow | None:
    with store.connect() as conn:
        row = conn.execute(select(t.outbox).where(t.outbox.c.id == row_id)).first()
    return None if row is None else OutboxRow.from_row(row)


def find(store: Store, notifier: str, key: str) -> OutboxRow | None:
    """The row of ``key`` for ``notifier``, if queued."""
    o = t.outbox
    with store.connect() as conn:
        row = conn.execute(
            select(o).where(and_(o.c.notifier == notifier, o.c.idempotency_key == key))
        ).first()
    return None if row is None else OutboxRow.from_row(row)


DEAD_WINDOW = 86400.0
"""Dead notifications created this long ago or less count as a notifier problem."""


def delivery_problems(store: Store, *, now: float | None = None) -> dict[str, str]:
    """What is wrong with delivery, per notifier (``/readyz`` shows it as degraded): events
    waiting after failed attempts (an API down), and events that died (a revoked token is a
    permanent error: nothing stays pending, every notification is lost) since the notifier's last
    successful send, within :data:`DEAD_WINDOW`."""
    now = time.time() if now is None else now
    o = t.outbox
    out: dict[str, str] = {}
    with store.connect() as conn:
        waiting = conn.execute(
            select(o.c.notifier, func.count(), func.min(o.c.created_at), func.max(o.c.last_error))
            .where(o.c.status == PENDING, o.c.attempts > 0)
            .group_by(o.c.notifier)
        ).all()
        last_sent = dict(
            conn.execute(
                select(o.c.notifier, func.max(o.c.id))
                .where(o.c.status == SENT)
                .group_by(o.c.notifier)
            ).all()
        )
        dead = conn.execute(
            select(o.c.notifier, func.count(), func.max(o.c.id))
            .where(o.c.status == DEAD, o.c.created_at >= now - DEAD_WINDOW)
            .group_by(o.c.notifier)
        ).all()
        lost = []
        for notifier, _count, newest in dead:
            after = last_sent.get(notifier) or 0
            if newest <= after:
                continue  # a later notification went through: the notifier works
            count = conn.execute(
                select(func.count()).where(
                    o.c.notifier == notifier,
                    o.c.status == DEAD,
                    o.c.created_at >= now - DEAD_WINDOW,
                    o.c.id > after,
                )
            ).scalar_one()
            error = conn.execute(select(o.c.last_error).where(o.c.id == newest)).scalar_one()
            lost.append((notifier, count, error))
    for notifier, count, oldest, last_error in waiting:
        age = max(0.0, now - float(oldest))
        out[f"notify:{notifier}"] = (
            f"{plural(count, 'event')} waiting for {age:.0f} s after failed attempts; last error: "
            f"{(last_error or '')[:200]}"
        )
    for notifier, count, error in lost:
        dead_part = (
            f"{plural(count, 'notification')} dead (not delivered, not retried) since the last one "
            f"delivered; last error: {(error or '')[:200]}; fix the cause, then "
            "`prodshield notify retry ID` or the dashboard's Retry"
        )
        key = f"notify:{notifier}"
        out[key] = f"{out[key]}; {dead_part}" if key in out else dead_part
    return out


def discard(store: Store, row_id: int) -> bool:
    """Delete a row that was not sent (pending or dead): a failed test message is reported to
    whoever asked for it, never retried later, never counted as undelivered."""
    o = t.outbox
    with store.begin() as conn:
        gone = conn.execute(delete(o).where(o.c.id == row_id, o.c.status != SENT))
        return bool(gone.rowcount)


@dataclass
class OutboxStatus:
    """Counts per notifier and status, the dead rows with their last error, and the pending rows
    that failed at least once (retrying: their last error and next attempt)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    dead: list[OutboxRow] = field(default_factory=list)
    oldest_pending_at: float | None = None
    retrying: list[OutboxRow] = field(default_factory=list)

    def total(self, status: str) -> int:
        return sum(c.get(status, 0) for c in self.counts.values())


def status(store: Store, *, dead_limit: int = 50) -> OutboxStatus:
    """What the outbox holds: counts by notifier and status, the most recent dead rows, the
    retrying rows (pending after a failed attempt), next due first."""
    o = t.outbox
    out = OutboxStatus()
    with store.connect() as conn:
        for r in conn.execute(
            select(o.c.notifier, o.c.status, func.count()).group_by(o.c.notifier, o.c.status)
        ):
            out.counts.setdefault(r[0], {s: 0 for s in STATUSES})[r[1]] = int(r[2])
        out.dead = [
            OutboxRow.from_row(r)
            for r in conn.execute(
                select(o).where(o.c.status == DEAD).order_by(o.c.id.desc()).limit(dead_limit)
            )
        ]
        out.oldest_pending_at = conn.execute(
            select(func.min(o.c.created_at)).where(o.c.status == PENDING)
        ).scalar()
        out.retrying = [
            OutboxRow.from_row(r)
            for r in conn.execute(
                select(o)
                .where(o.c.status == PENDING, o.c.attempts > 0)
                .order_by(o.c.next_attempt_at, o.c.id)
                .limit(dead_limit)
            )
        ]
    return out


def pending_count(
    store: Store, *, notifiers: Collection[str] | None = None, ids: Collection[int] | None = None
) -> int:
    o = t.outbox
    query = select(func.count()).select_from(o).where(o.c.status == PENDING)
    if notifiers is not None:
        query = query.where(o.c.notifier.in_(list(notifiers)))
    if ids is not None:
        query = query.where(o.c.id.in_(list(ids)))
    with store.connect() as conn:
        return int(conn.execute(query).scalar_one())


def enqueue_in(
    conn: Connection,
    notifiers: Sequence[str],
    event: dict[str, Any],
    now: float | None = None,
    *,
    due: float | None = None,
) -> int:
    """Insert one outbox row per notifier inside the caller's transaction; duplicates are ignored.
    ``due``: not sent before then (a grouping window), default now."""
    now = time.time() if now is None else now
    rows = [
        {
            "idempotency_key": event["key"],
            "notifier": name,
            "event_type": event["type"],
            "subject": event.get("subject"),
            "payload": clean_payload(event),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now if due is None else max(now, due),
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
