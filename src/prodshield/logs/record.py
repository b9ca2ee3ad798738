"""The log capability's writer: findings into ``log_findings``, for ``serve``'s log service
(every window) and for ``logs scan`` / ``logs digest`` (once per run), so both paths store the same
rows and the incident evidence (prodshield/evidence.py) reads them the same way.

A finding is stored with the service and environment of the log source it came from
(``details.service`` / ``details.environment``): the source whose file it names, or, for a finding
that names no file (an access log's endpoint), the one service every file read belongs to. A
one-shot run also records itself (``kv`` logs/last_scan: when, what it read), so the monitor of a
one-shot setup (GitHub Actions) attaches the findings of the last run to the incidents it opens.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from prodshield.logs.findings import LogFinding
from prodshield.severity import worst_first
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.store.bulk import execute_many
from prodshield.text import reclip

CONTINUES_S = 3600.0
"""A finding stored less than this long ago and seen again is the same finding (its row grows)."""
KV_NAMESPACE = "logs"
LAST_SCAN = "last_scan"
"""The ``kv`` key (namespace ``logs``) of the last ``logs scan``/``digest`` run that stored its
findings."""


@dataclass
class Row:
    """A finding's stored row as the writer remembers it: its id, the count stored before this
    epoch's detectors started, and what was last written (to skip unchanged findings)."""

    id: int
    base: int
    written: tuple[Any, ...] = ()
    details: dict[str, Any] | None = None
    """The details stored before this epoch, for a kind that carries them on (``CARRY``)."""
    created: float | None = None
    """For a row this writer inserted and whose id it has not needed yet (``id`` 0): its
    ``created_at``. The id is looked up when the row is first updated (most findings, a new
    address's failed login, never are)."""


def _carry_secret_places(
    before: dict[str, Any], message: str, now: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    from prodshield.logs.detectors.secrets import carry_places

    return carry_places(before, message, now)


CARRY = {"secret_in_log": _carry_secret_places}
"""Kinds whose details list what was seen (secret_in_log's places): a row continued after a
restart keeps what it listed before, and adds what is seen since."""


def service_of(source: Any) -> tuple[str, str | None]:
    """A configured log source's service (default: its name) and environment."""
    return str(getattr(source, "service", None) or source.name), getattr(
        source, "environment", None
    )


def attribute(findings: Iterable[LogFinding], files: Iterable[Any]) -> None:
    """Name, in each finding's details, the service and environment of the configured file
    (``ConfiguredFile``: path and source) it came from; a finding without a file belongs to the
    service of every file read when they are all of one."""
    by_path: dict[str, tuple[str, str | None]] = {}
    for f in files:
        place = service_of(f.source)
        by_path[f.path] = place
        by_path[os.path.realpath(f.path)] = place
    everyone = set(by_path.values())
    only = next(iter(everyone)) if len(everyone) == 1 else None
    for finding in findings:
        file = str(finding.source.get("file") or "")
        found = (by_path.get(file) or by_path.get(os.path.realpath(file))) if file else only
        if found is None:
            continue
        service, environment = found
        finding.details["service"] = service
        if environment:
            finding.details["environment"] = environment


@dataclass
class RecordedScan:
    at: float
    stored: int
    services: list[str] = field(default_factory=list)


def record_scan(
    store: Store,
    findings: list[LogFinding],
    files: Iterable[Any] = (),
    *,
    read: int = 0,
    window: tuple[datetime | None, datetime | None] = (None, None),
    now: float | None = None,
) -> RecordedScan:
    """Store a one-shot run's findings (``logs scan``, ``logs digest``) with their service and
    environment, and the run itself (``kv`` logs/last_scan), in one transaction. Running the same
    scan again updates its rows instead of adding to their counts (a finding's row is found by
    its fingerprint and first-seen time)."""
    now = time.time() if now is None else now
    files = list(files)
    findings = [replace(f, details=dict(f.details)) for f in findings]
    attribute(findings, files)
    merged = _merge_same(findings)
    f_t = t.log_findings
    rows: dict[str, Row] = {}
    with store.begin() as conn:
        for chunk in _chunks(list(merged)):
            for r in conn.execute(
                select(f_t.c.id, f_t.c.fingerprint, f_t.c.first_seen).where(
                    f_t.c.fingerprint.in_(chunk)
                )
            ):
                f = merged[r.fingerprint]
                first = f.first_seen.timestamp() if f.first_seen else None
                if first is not None and r.first_seen == first:
                    rows[r.fingerprint] = Row(int(r.id), 0)  # this run again: replace, not add
        stored = store_findings(conn, list(merged.values()), rows, now, continues=False)
        services = sorted({str(f.details["service"]) for f in findings if f.details.get("service")})
        value = {
            "at": now,
            "files": read or len(files),
            "findings": len(merged),
            "services": services,
            "window": [w.isoformat() if w else None for w in window],
        }
        table = t.kv
        conn.execute(
            table.delete().where(table.c.namespace == KV_NAMESPACE, table.c.key == LAST_SCAN)
        )
        conn.execute(
            table.insert().values(
                namespace=KV_NAMESPACE, key=LAST_SCAN, value=value, updated_at=now
            )
        )
    return RecordedScan(now, len(stored), services)


def store_findings(
    conn: Any,
    findings: list[LogFinding],
    rows: dict[str, Row],
    now: float,
    *,
    continues: bool = True,
) -> list[LogFinding]:
    """Upsert each finding's row (a few statements for all of them); returns the findings
    that changed since the last window, sealed. ``rows`` (fingerprint -> its row) is the caller's
    memory between windows; with ``continues`` a fingerprint it does not know continues the row
    stored less than :data:`CONTINUES_S` ago (its count adds up), otherwise it gets a new row.

    Findings may come unsealed (the service's, straight from the detectors): only those that
    changed are sealed (redacted and bounded), together (:func:`seal_many`)."""
    from prodshield.logs.findings import seal_many, seal_sources

    f_t = t.log_findings
    seal_sources(findings)  # the fingerprint is the one of the stored (sealed) source
    merged = _merge_same(findings)
    missing = [fp for fp in merged if fp not in rows] if continues else []
    scanned_at: list[float | None] = []
    for chunk in _chunks(missing):
        for r in conn.execute(
            select(
                f_t.c.id,
                f_t.c.fingerprint,
                f_t.c["count"],
                f_t.c.first_seen,
                f_t.c.updated_at,
                f_t.c.kind,
                f_t.c.details,
            )
            .where(f_t.c.fingerprint.in_(chunk), f_t.c.updated_at >= now - CONTINUES_S)
            .order_by(f_t.c.id)
        ):  # the newest row of a fingerprint wins
            began = merged[r.fingerprint].first_seen
            base = int(r._mapping["count"])
            if began is not None and r.first_seen == began.timestamp():
                # the last `logs scan` wrote this row from the lines serve now reads again from
                # the file's start: they are counted once (replaced, not added to)
                if not scanned_at:
                    scanned_at.append(_last_scan_at(conn))
                if r.updated_at == scanned_at[0]:
                    base = 0
            kept = r.details if base and r.kind in CARRY and isinstance(r.details, dict) else None
            rows[r.fingerprint] = Row(int(r.id), base, details=kept)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    todo = []
    for fp, f in merged.items():
        # a finding without timestamps (lines without one) is last seen when its count grows:
        # its row is not written again every window while nothing changed
        seen = f.last_seen.timestamp() if f.last_seen else None
        last = now if seen is None else seen
        state = (f.count, f.severity, seen, f.message)
        row = rows.get(fp)
        if row is not None and row.written == state:
            continue
        todo.append((fp, f, last, state, row))
    changed = seal_many([f for _, f, *_ in todo])
    for fp, f, last, state, row in todo:
        message = (f.message or f.kind)[:1000]  # sealed: redacted already
        values = {
            "category": f.category,
            "kind": f.kind,
            "severity": f.severity,
            "source": _jsonable(f.source),
            "samples": [reclip(s, 500) for s in f.samples[:3]],
            "details": _jsonable(f.details),
            "message": message,
            "last_seen": last,
            "updated_at": now,
        }
        if row is None:
            first = f.first_seen.timestamp() if f.first_seen else now
            inserts.append(
                {"fingerprint": fp, "count": f.count, "first_seen": first, "created_at": now}
                | values
            )
            rows[fp] = Row(0, 0, state, created=now)
        else:
            if row.details is not None:
                values["details"], message = CARRY[f.kind](row.details, message, values["details"])
                values["message"] = message[:1000]
            updates.append(
                {"b_id": row.id, "fingerprint": fp, "count": row.base + f.count} | values
            )
            rows[fp] = Row(row.id, row.base, state, row.details, row.created)
    if updates:
        _find_ids(conn, updates, rows)
        execute_many(
            conn,
            _UPDATE_FINDING,
            [{"b_id": u["b_id"]} | {"v_" + c: u[c] for c in _UPDATED} for u in updates],
        )
    if inserts:
        # no ids back: a row's id is looked up when it is first updated (``Row.created``)
        execute_many(conn, _INSERT_FINDING, inserts)
    return changed


_UPDATED = (
    "count",
    "category",
    "kind",
    "severity",
    "source",
    "samples",
    "details",
    "message",
    "last_seen",
    "updated_at",
)
"""The columns a finding's update writes (its identity and first sighting stay)."""
_UPDATE_FINDING = (
    t.log_findings.update()
    .where(t.log_findings.c.id == bindparam("b_id"))
    .values({c: bindparam("v_" + c) for c in _UPDATED})
)
_INSERT_FINDING = t.log_findings.insert()


def _find_ids(conn: Any, updates: list[dict[str, Any]], rows: dict[str, Row]) -> None:
    """The ids of the rows to update that this writer inserted without asking for theirs: the
    row of the fingerprint created at the time the writer inserted it (the newest if several);
    a row gone since (retention) keeps id 0, and its update changes nothing, as it would have."""
    f_t = t.log_findings
    todo = {u["fingerprint"]: u for u in updates if not u["b_id"]}
    for chunk in _chunks(list(todo)):
        for r in conn.execute(
            select(f_t.c.id, f_t.c.fingerprint, f_t.c.created_at)
            .where(f_t.c.fingerprint.in_(chunk))
            .order_by(f_t.c.id)
        ):
            row = rows[r.fingerprint]
            if row.created is not None and r.created_at == row.created:
                todo[r.fingerprint]["b_id"] = int(r.id)
    for fp, u in todo.items():
        if u["b_id"]:
            row = rows[fp]
            rows[fp] = Row(u["b_id"], row.base, row.written, row.details)


def retire_absorbed(
    conn: Any, absorbed: list[LogFinding], rows: dict[str, Row], now: float, done: set[str]
) -> int:
    """Take back what this epoch stored of the findings a burst took since (``absorbed``: the
    ``auth_failure``/``invalid_user`` of a brute force's address and file, the ``error_logged``
    a rule's burst emptied): the burst's row counts the same lines, so the address has one
    finding in the store, as ``logs scan`` gives it. Only what this epoch wrote is taken back:
    a row it wrote alone is deleted, one continued from an earlier hour (or run) goes back to
    the count it had then (those lines are not the burst's), and one it never wrote is left as
    it is. ``done``: the failed logins' fingerprints taken back this epoch (a brute force takes
    them again every window; an ``error_logged`` finding comes once each time a burst empties
    it). Returns the rows deleted."""
    from prodshield.logs.findings import seal_sources

    todo = [
        f
        for f in absorbed
        if f.category == "performance" or f.kind == "error_logged" or f.fingerprint not in done
    ]
    if not todo:
        return 0
    seal_sources(todo)  # the fingerprint is the one of the stored (sealed) source
    f_t = t.log_findings
    lowered: list[dict[str, Any]] = []
    ids: list[int] = []
    inserted: list[dict[str, Any]] = []
    for fp in sorted({f.fingerprint for f in todo}):
        done.add(fp)
        row = rows.pop(fp, None)
        if row is None:  # not stored this epoch: an earlier hour's row keeps its lines
            continue
        if row.base:
            lowered.append({"b_id": row.id, "v_count": row.base})
        elif row.id:
            ids.append(row.id)
        elif row.created is not None:  # inserted this epoch, its id never looked up
            inserted.append({"b_fingerprint": fp, "b_created": row.created})
    if lowered:
        execute_many(conn, _LOWER_FINDING, lowered)
    deleted = 0
    for chunk in _chunks(ids):
        deleted += int(conn.execute(f_t.delete().where(f_t.c.id.in_(chunk))).rowcount or 0)
    if inserted:
        deleted += execute_many(conn, _DELETE_INSERTED, inserted)
    return deleted


_LOWER_FINDING = (
    t.log_findings.update()
    .where(t.log_findings.c.id == bindparam("b_id"))
    .values(count=bindparam("v_count"))
)
_DELETE_INSERTED = t.log_findings.delete().where(
    t.log_findings.c.fingerprint == bindparam("b_fingerprint"),
    t.log_findings.c.created_at == bindparam("b_created"),
)


def _last_scan_at(conn: Any) -> float | None:
    """When the last one-shot run stored its findings (``kv`` logs/last_scan), if one did."""
    table = t.kv
    value = conn.execute(
        select(table.c.value).where(table.c.namespace == KV_NAMESPACE, table.c.key == LAST_SCAN)
    ).scalar()
    at = value.get("at") if isinstance(value, dict) else None
    return float(at) if isinstance(at, int | float) else None


class Written:
    """The findings a writer handed to :func:`store_findings` at its last window, as they were:
    the ones that did not change since are left out of the next call (``store_findings`` would
    skip them, after sealing their source and hashing their fingerprint: the bulk of a window's
    work when thousands of findings go on and a few grow). A finding is the same object from
    window to window while its detector keeps it; one that changed brings along every finding of
    its fingerprint (their counts add up in one row). Forget everything whenever the writer's
    ``rows`` are forgotten."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[LogFinding, tuple[Any, ...], str]] = {}
        self._states: dict[int, tuple[Any, ...]] = {}
        """The states :meth:`changed` took of the findings it handed back (the others are as
        they were)."""

    def changed(self, findings: list[LogFinding]) -> list[LogFinding]:
        """The findings to store: those that changed (or are new), with their fingerprints'.
        Their state is taken now, as ``store_findings`` takes it (before it seals them)."""
        known = self._known
        states = self._states = {}
        todo: list[LogFinding] = []
        same: list[tuple[LogFinding, tuple[Any, ...], str]] = []
        for f in findings:
            state = (f.count, f.severity, f.last_seen, f.message)
            was = known.get(id(f))
            if was is not None and was[0] is f and was[1] == state:
                same.append(was)
            else:
                todo.append(f)
                states[id(f)] = state
        if same and todo:
            from prodshield.logs.findings import seal_sources

            # the new ones' sources sealed a block at a time (one literal pass for all, not one
            # each: each new IP of a brute force is a new text), as store_findings seals them
            seal_sources([f for f in todo if (was := known.get(id(f))) is None or was[0] is not f])
            fps = set()
            for f in todo:
                was = known.get(id(f))
                fps.add(was[2] if was is not None and was[0] is f else f.fingerprint)
            todo += [f for f, _, fp in same if fp in fps]
        return todo

    def stored(self, findings: list[LogFinding]) -> None:
        """The findings :meth:`changed` was given are stored: remember them (those it left out
        as they were, the others as they are now)."""
        known, states = self._known, self._states
        fresh: dict[int, tuple[LogFinding, tuple[Any, ...], str]] = {}
        for f in findings:
            key = id(f)
            was = known.get(key)
            state = states.get(key)
            if state is None and was is not None and was[0] is f:
                fresh[key] = was
                continue
            fp = was[2] if was is not None and was[0] is f else f.fingerprint
            fresh[key] = (f, state or (f.count, f.severity, f.last_seen, f.message), fp)
        self._known, self._states = fresh, {}

    def forget(self) -> None:
        self._known, self._states = {}, {}


def _chunks(items: list[Any], size: int = 500) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _merge_same(findings: list[LogFinding]) -> dict[str, LogFinding]:
    """One finding per fingerprint: the same kind and key from two files or two detectors (a
    brute force seen in sshd's log and as HTTP 401s) is one row, its counts added."""
    out: dict[str, LogFinding] = {}
    for f in findings:
        fp = f.fingerprint
        seen = out.get(fp)
        if seen is None:
            out[fp] = f
            continue
        both = replace(seen, samples=list(seen.samples), details=dict(seen.details))
        both.count = seen.count + f.count
        if f.first_seen and (both.first_seen is None or _earlier(f.first_seen, both.first_seen)):
            both.first_seen = f.first_seen
        if f.last_seen and (both.last_seen is None or _earlier(both.last_seen, f.last_seen)):
            both.last_seen = f.last_seen
        if worst_first(f.severity) < worst_first(both.severity):
            both.severity, both.message = f.severity, f.message
        both.samples = (both.samples + f.samples)[:3]
        out[fp] = both
    return out


def _earlier(a: datetime, b: datetime) -> bool:
    if (a.tzinfo is None) != (b.tzinfo is None):
        a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
    return a < b


_PLAIN = frozenset((str, int, float, bool, type(None)))
"""The types a finding's source and details mostly hold, stored as they are."""


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:  # the common case first (a subclass takes the checks below)
        return value
    if type(value) is dict and all(
        type(k) is str and type(v) in _PLAIN for k, v in value.items()
    ):  # a flat dict of plain values (a sealed source): copied as it is
        return dict(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
