"""Several monitor instances on one PostgreSQL store: membership, leases, the split of the checks.

PostgreSQL is the coordination engine; there is no protocol between the instances.

- **Membership.** Each instance has a row in ``monitor_instances`` (id, hostname, pid, location,
  started_at, last_seen) that it refreshes every heartbeat, and holds a session-level advisory lock
  on a connection of its own for as long as its process lives. An instance is *live* while its
  heartbeat is fresher than three periods and its lock is held: a process killed with ``kill -9``
  loses its lock at once (its connections close), a frozen or cut-off machine after three
  heartbeats.
- **Placement.** Every instance computes the same split: rendezvous hashing of each target key over
  the live instances of its group (instances with the same target list), so a join or a departure
  only moves the checks of the instance that came or went.
- **Locations.** A check with ``locations: N`` is run from N locations at once: the N live locations
  with the highest rendezvous hash for it, each by one of its instances (a lease row per location,
  ``slot`` = the location). The first of those locations is the *lead*: its instance judges the
  check over the latest result of every location (``incidents``: down only when a quorum of them
  fail); the others are *witnesses* whose results are stored, never judged on their own.
- **Leases.** ``check_leases`` has one row per target (per target and location for a check run
  from several): owner and expiry. An instance claims the
  targets the split gives it with ``INSERT ... ON CONFLICT DO UPDATE`` that only takes a row over
  when its owner is no longer live (or, as a backstop, its lease has expired), renews its own
  leases' expiry, and deletes the leases the split no longer gives it. The split decides who *should*
  run a check; the lease decides who *may*: two instances with different views never run it both.
- **Fencing.** Results are written only for targets whose lease row the writer still owns, locked
  ``FOR SHARE`` in the writing transaction (see ``recorder.write_batch``), so a result produced by
  an instance that lost the lease meanwhile is dropped, and incident state for a check changes
  only in its owner's transactions.
- **Handover.** A new owner schedules a target's first run one interval after the last stored
  result (``check_state.last_ts``), so a handover neither repeats nor skips a slot.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    cast,
    column,
    delete,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from prodshield import __version__
from prodshield.errors import Conflict, Invalid
from prodshield.monitor.target import Target
from prodshield.monitor.views import InstanceView
from prodshield.store import Store
from prodshield.store import tables as t

log = logging.getLogger("prodshield.monitor")
LOCK_CLASS = 7243020
"""The first key of every instance's advisory lock (the second is the instance's ``lock_key``)."""
MISSES = 3
"""Heartbeats an instance may miss before it is presumed dead (and its leases expire)."""
FORGET_AFTER = 3600.0
"""Dead instances stay listed (as dead) this long, then their rows are deleted."""
MIN_HEARTBEAT, MAX_HEARTBEAT = 1.0, 5.0
LEASE_SPAN, RENEW_BELOW = 10, 5
"""A lease runs LEASE_SPAN x 3 heartbeats and is renewed once less than RENEW_BELOW x 3 are left.
A lease is taken over when its owner is no longer live, or (backstop) when it has expired."""

Key = tuple[str, str]


def heartbeat_for(targets: Sequence[Target], configured: float | None = None) -> float:
    """The heartbeat period: configured, else a fifth of the shortest interval (1 s to 5 s),
    so that a dead instance's checks move within two of their intervals."""
    if configured:
        return float(configured)
    shortest = min((tg.interval for tg in targets), default=60.0)
    return min(MAX_HEARTBEAT, max(MIN_HEARTBEAT, shortest / 5.0))


def resolve_location(configured: str | None, flag: str | None = None) -> str | None:
    """``--location``, else ``$PRODSHIELD_LOCATION``, else ``cluster.location``."""
    for source, value in (
        ("--location", flag),
        ("PRODSHIELD_LOCATION", os.environ.get("PRODSHIELD_LOCATION")),
    ):
        if value is None:
            continue
        value = value.strip()
        if not value or len(value) > 128 or any(c.isspace() for c in value):
            raise Invalid(f"{source}: a location is 1-128 characters without spaces")
        return value
    return configured


def group_of(keys: Iterable[Key]) -> str:
    """Instances running the same targets split them among themselves."""
    digest = hashlib.blake2b(digest_size=8)
    for check, env in sorted(keys):
        digest.update(f"{check}\0{env}\n".encode())
    return digest.hexdigest()


def _weight(member: str, key: Key) -> int:
    h = hashlib.blake2b(f"{member}\0{key[0]}\0{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big")


def rendezvous(keys: Iterable[Key], members: Sequence[str]) -> dict[Key, str]:
    """Each key's owner among ``members``: the member with the highest hash of (member, key)."""
    ordered = sorted(members)
    if not ordered:
        return {}
    return {key: max(ordered, key=lambda m, k=key: _weight(m, k)) for key in keys}  # type: ignore[misc]


@dataclass
class Assignment:
    """What one coordination round changed for this instance."""

    acquired: dict[Key, float | None] = field(default_factory=dict)
    """Targets this instance now owns, with the time of their last stored result."""
    released: set[Key] = field(default_factory=set)
    """Targets it no longer owns (released by the split, or taken over)."""
    live: list[str] = field(default_factory=list)


def db_now(conn: Connection) -> float:
    """The database's clock: every instance compares heartbeats and leases against one clock."""
    return float(conn.execute(text("SELECT extract(epoch from clock_timestamp())")).scalar_one())


def held_locks(conn: Connection) -> set[int]:
    """The lock keys whose advisory lock some session of this database holds."""
    rows = conn.execute(
        text(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = :cls AND objsubid = 2"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"cls": LOCK_CLASS},
    )
    return {int(r[0]) for r in rows}


def _live_ids(now: float) -> Any:
    """The live instances' ids as a subquery, evaluated by the statement that uses it: a claim
    judges the current owner by the registrations and locks of that moment, not of a snapshot
    taken earlier in the round (an instance that has just joined is never mistaken for dead)."""
    m = t.monitor_instances
    locks = table(
        "pg_locks",
        column("locktype"),
        column("classid"),
        column("objid"),
        column("objsubid"),
        column("granted"),
        column("database"),
    )
    held = select(cast(locks.c.objid, BigInteger)).where(
        locks.c.locktype == "advisory",
        locks.c.granted.is_(True),
        locks.c.classid == LOCK_CLASS,
        locks.c.objsubid == 2,
        locks.c.database
        == literal_column("(SELECT oid FROM pg_database WHERE datname = current_database())"),
    )
    return select(m.c.id).where(
        m.c.last_seen > now - MISSES * m.c.heartbeat_s,
        or_(m.c.lock_key.is_(None), m.c.lock_key.in_(held)),
    )


def _is_live(row: Any, now: float, locks: set[int] | None) -> bool:
    fresh = row.last_seen > now - MISSES * row.heartbeat_s
    if locks is not None and row.lock_key is not None and row.lock_key not in locks:
        return False
    return bool(fresh)


class Cluster:
    """This instance's membership and leases. All methods block (call them in a thread)."""

    def __init__(
        self,
        store: Store,
        targets: Sequence[Target],
        *,
        heartbeat: float,
        location: str | None = None,
    ) -> None:
        if store.backend != "postgresql":
            raise Conflict("several instances need a PostgreSQL store")
        self.store = store
        self.keys: list[Key] = [tg.key for tg in targets]
        self.located: dict[Key, int] = {
            tg.key: int(tg.check.locations)
            for tg in targets
            if (getattr(tg.check, "locations", None) or 1) > 1
        }
        """Checks run from several locations, and from how many."""
        self.heartbeat = heartbeat
        self.ttl = MISSES * heartbeat
        self.location = location
        self.slot = location or ""
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.hostname[:40]}-{self.pid}-{uuid.uuid4().hex[:6]}"
        self.group = group_of(self.keys)
        self.lock_key = random.randint(1, 2**31 - 1)
        self.owned: set[Key] = set()
        self.rounds = 0
        self.round_errors = 0
        self._lock_conn: Connection | None = None
        self.mutex = threading.Lock()
        """Held by a coordination round and by this instance's writes: both lock this instance's
        lease rows, so letting them overlap could deadlock the two."""
        self._split: (
            tuple[tuple[tuple[str, str], ...], set[Key], set[Key], dict[Key, int]] | None
        ) = None
        self.witness: set[Key] = set()
        """Located checks this instance runs but does not judge (another location leads them)."""
        self.short: dict[Key, int] = {}
        """Located checks with fewer live locations than they ask for: how many they have."""

    # --- membership ------------------------------------------------------------------------

    def _ensure_lock(self) -> None:
        """Hold the advisory lock on a connection of its own (reconnect if it broke)."""
        if self._lock_conn is not None:
            try:
                self._lock_conn.execute(text("SELECT 1"))
                return
            except Exception:
                self._close_lock()
        conn = self.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            conn.execute(
                text("SELECT pg_advisory_lock(:cls, :key)"),
                {"cls": LOCK_CLASS, "key": self.lock_key},
            )
        except Exception:
            conn.close()
            raise
        self._lock_conn = conn

    def _close_lock(self) -> None:
        if self._lock_conn is not None:
            try:
                self._lock_conn.invalidate()  # the session ends: PostgreSQL drops the lock
                self._lock_conn.close()
            except Exception:
                pass
            self._lock_conn = None

    def _register(self, conn: Connection, now: float) -> None:
        m = t.monitor_instances
        done = conn.execute(
            update(m).where(m.c.id == self.id).values(last_seen=now, heartbeat_s=self.heartbeat)
        )
        if done.rowcount:
            return
        conn.execute(
            pg_insert(m)
            .values(
                id=self.id,
                hostname=self.hostname,
                pid=self.pid,
                location=self.location,
                started_at=now,
                last_seen=now,
                heartbeat_s=self.heartbeat,
                lock_key=self.lock_key,
                group_key=self.group,
                targets=len(self.keys),
                version=__version__,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )

    def join(self) -> None:
        """Take the lock and register; the first :meth:`round` claims this instance's share."""
        self._ensure_lock()
        with self.store.begin() as conn:
            self._register(conn, db_now(conn))

    def leave(self) -> None:
        """A clean stop: give every lease back and deregister, so the others take over at once."""
        try:
            with self.mutex, self.store.begin() as conn:
                conn.execute(delete(t.check_leases).where(t.check_leases.c.owner == self.id))
                conn.execute(delete(t.monitor_instances).where(t.monitor_instances.c.id == self.id))
        finally:
            self.owned.clear()
            self._close_lock()

    # --- one coordination round ----------------------------------------------------------------

    def _desired(self, live: Sequence[tuple[str, str]]) -> set[Key]:
        """The keys the split gives this instance, from the live members' (id, location); sets
        :attr:`witness` and :attr:`short` for the checks run from several locations."""
        members = tuple(sorted(live))
        if self._split is None or self._split[0] != members:
            ids = [i for i, _ in members]
            plain = [k for k in self.keys if k not in self.located]
            mine = {k for k, owner in rendezvous(plain, ids).items() if owner == self.id}
            by_location: dict[str, list[str]] = {}
            for i, loc in members:
                by_location.setdefault(loc, []).append(i)
            locations = sorted(by_location)
            witness: set[Key] = set()
            short: dict[Key, int] = {}
            for key, wanted in self.located.items():
                chosen = choose_locations(key, locations, wanted)
                if len(chosen) < wanted:
                    short[key] = len(chosen)
                if self.slot not in chosen:
                    continue
                if rendezvous([key], by_location[self.slot])[key] == self.id:
                    mine.add(key)
                    if chosen[0] != self.slot:
                        witness.add(key)
            if short and (self._split is None or set(short) != set(self._split[3])):
                log.warning(
                    "monitor: %d checks run from fewer locations than they ask for (live: %s)",
                    len(short),
                    ", ".join(loc or "default" for loc in locations),
                )
            self._split = (members, mine, witness, short)
        self.witness = self._split[2] & self._split[1]
        self.short = self._split[3]
        return self._split[1]

    def slot_of(self, key: Key) -> str:
        """The lease slot this instance claims for ``key``."""
        return self.slot if key in self.located else ""

    def round(self) -> Assignment:
        """Heartbeat, then bring this instance's leases in line with the split.

        The heartbeat is its own short transaction, outside the mutex: a long write of results
        may delay the lease work, never the heartbeat that keeps this instance live."""
        self._ensure_lock()
        with self.store.begin() as conn:
            self._register(conn, db_now(conn))
        with self.mutex:
            return self._round()

    def _round(self) -> Assignment:
        lease = t.check_leases
        m = t.monitor_instances
        out = Assignment()
        with self.store.begin() as conn:
            now = db_now(conn)
            locks = held_locks(conn)
            rows = conn.execute(
                select(
                    m.c.id,
                    m.c.last_seen,
                    m.c.heartbeat_s,
                    m.c.lock_key,
                    m.c.group_key,
                    m.c.location,
                )
            ).all()
            live_all = [r.id for r in rows if _is_live(r, now, locks)]
            if self.id not in live_all:
                live_all.append(self.id)  # our own lock is held by construction
            live_set = set(live_all)
            live = {
                r.id: r.location or ""
                for r in rows
                if r.id in live_set and r.group_key == self.group
            }
            live.setdefault(self.id, self.slot)
            out.live = sorted(live)
            desired = self._desired(list(live.items()))

            have = {
                (r.check_name, r.environment)
                for r in conn.execute(
                    select(lease.c.check_name, lease.c.environment).where(lease.c.owner == self.id)
                )
            }
            give_back = sorted(have - desired)
            for chunk in _chunks(give_back, 1000):
                conn.execute(
                    delete(lease).where(
                        lease.c.owner == self.id,
                        tuple_(lease.c.check_name, lease.c.environment).in_(chunk),
                    )
                )
            # The owner being live is what keeps a lease; the expiry is a backstop, pushed far
            # ahead now and then rather than rewritten for every lease at every heartbeat.
            conn.execute(
                update(lease)
                .where(lease.c.owner == self.id, lease.c.expires_at < now + RENEW_BELOW * self.ttl)
                .values(expires_at=now + LEASE_SPAN * self.ttl)
            )
            wanted = sorted(desired - have)
            gained: list[Key] = []
            for chunk in _chunks(wanted, 1000):
                stmt = pg_insert(lease).values(
                    [
                        {
                            "check_name": c,
                            "environment": e,
                            "slot": self.slot_of((c, e)),
                            "owner": self.id,
                            "acquired_at": now,
                            "expires_at": now + LEASE_SPAN * self.ttl,
                        }
                        for c, e in chunk
                    ]
                )
                upsert = stmt.on_conflict_do_update(
                    index_elements=[lease.c.check_name, lease.c.environment, lease.c.slot],
                    set_={
                        "owner": stmt.excluded.owner,
                        "acquired_at": stmt.excluded.acquired_at,
                        "expires_at": stmt.excluded.expires_at,
                    },
                    where=(lease.c.expires_at < now) | lease.c.owner.not_in(_live_ids(now)),
                ).returning(lease.c.check_name, lease.c.environment)
                gained += [(r.check_name, r.environment) for r in conn.execute(upsert)]
            # Read the last results after the claim: a previous owner's write that held the
            # lease row has committed by now (the claim waited for it).
            last: dict[Key, float | None] = dict.fromkeys(gained)
            s = t.check_state
            for chunk in _chunks(gained, 1000):
                for r in conn.execute(
                    select(s.c.check_name, s.c.environment, s.c.last_ts).where(
                        tuple_(s.c.check_name, s.c.environment).in_(chunk)
                    )
                ):
                    last[(r.check_name, r.environment)] = r.last_ts
            if self.rounds % 100 == 0:
                conn.execute(delete(m).where(m.c.last_seen < now - FORGET_AFTER))
                # A live owner renews its leases long before they expire: an expired one is a dead
                # instance's, in a slot nobody claims any more (a location that went away).
                conn.execute(delete(lease).where(lease.c.expires_at < now))
        owned = (have - set(give_back)) | set(gained)
        # A key gained that this instance thought it still held was taken over meanwhile (it was
        # presumed dead for a moment) and run elsewhere: it is rescheduled from its last result
        # like any other acquisition, never continued on its old rhythm.
        out.acquired = {k: last[k] for k in gained}
        out.released = self.owned - owned
        self.owned = owned
        self.rounds += 1
        return out


def choose_locations(key: Key, locations: Sequence[str], wanted: int) -> list[str]:
    """The ``wanted`` locations that run ``key``, the lead first: those with the highest hash of
    (location, key), so a location that comes or goes moves only the checks it ran."""
    ranked = sorted(locations, key=lambda loc: (_weight("@" + loc, key), loc), reverse=True)
    return ranked[:wanted]


def _chunks(items: Sequence[Key], size: int) -> Iterable[Sequence[Key]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- reading the cluster (CLI, API) ---------------------------------------------------------


def list_instances(store: Store) -> list[InstanceView]:
    """Every registered instance (live ones first) and how many checks each owns."""
    m, lease = t.monitor_instances, t.check_leases
    with store.connect() as conn:
        if store.backend == "postgresql":
            now, locks = db_now(conn), held_locks(conn)
        else:
            now, locks = time.time(), None
        counts: dict[str, int] = {
            r[0]: int(r[1])
            for r in conn.execute(select(lease.c.owner, func.count()).group_by(lease.c.owner))
        }
        rows = conn.execute(select(m)).all()
    out = [
        InstanceView(
            id=r.id,
            hostname=r.hostname,
            pid=r.pid,
            location=r.location,
            started_at=r.started_at,
            last_seen=r.last_seen,
            heartbeat_s=r.heartbeat_s,
            state="live" if _is_live(r, now, locks) else "dead",
            owned=int(counts.get(r.id, 0)),
            targets=r.targets,
            group=r.group_key,
        )
        for r in rows
    ]
    out.sort(key=lambda i: (not i.live, i.started_at, i.id))
    return out


def lease_owners(store: Store) -> dict[Key, dict[str, tuple[str, float]]]:
    """Each leased target's owner and lease expiry, per slot ("" for a check run from one place,
    the location for a check run from several)."""
    lease = t.check_leases
    out: dict[Key, dict[str, tuple[str, float]]] = {}
    with store.connect() as conn:
        for r in conn.execute(
            select(
                lease.c.check_name,
                lease.c.environment,
                lease.c.slot,
                lease.c.owner,
                lease.c.expires_at,
            )
        ):
            out.setdefault((r.check_name, r.environment), {})[r.slot] = (r.owner, r.expires_at)
    return out


def owned_keys_for_update(conn: Connection, owner: str, keys: Sequence[Key]) -> set[Key]:
    """The keys among ``keys`` whose lease ``owner`` still holds, locked ``FOR SHARE`` until the
    caller's transaction ends (a takeover waits for it; a write after a takeover sees it)."""
    lease = t.check_leases
    owned: set[Key] = set()
    for chunk in _chunks(sorted(set(keys)), 1000):
        query = (
            select(lease.c.check_name, lease.c.environment)
            .where(
                lease.c.owner == owner,
                tuple_(lease.c.check_name, lease.c.environment).in_(chunk),
            )
            # Byte order, as the claims sort their rows: lock order is the same everywhere.
            .order_by(lease.c.check_name.collate("C"), lease.c.environment.collate("C"))
            .with_for_update(read=True)
        )
        owned |= {(r.check_name, r.environment) for r in conn.execute(query)}
    return owned
