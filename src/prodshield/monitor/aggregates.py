"""Uptime as every view shows it, and an in-process read model of the hourly aggregates:
daily buckets for 90 days, hourly for 48 h.

One computation answers the CLI (``monitor status``), the web (API, status page, dashboard,
badges) and ``status build``: :meth:`AggregateCache.summaries_for`, or :func:`uptime_summaries`
for a one-shot reader. A window (24 h: the current hour and the 23 before it; 7, 30, 90 days:
today and the whole days before) counts the hours the rollup has finished (every hour before the
one it last ran in, ``store.retention.ROLLUP_WATERMARK``) from ``check_hourly`` and the rest from
the raw results, brought up to date at most every :data:`RAW_TTL` seconds. No result is counted
twice (the current hour's partial aggregate is never read) or missed (an hour whose aggregate may
still change is read raw), so the figure is as fresh as the raw results whatever the age of the
aggregates, and the same as a reader of only raw results would count. The 90-day bars and the
hourly series (:meth:`AggregateCache.daily`, :meth:`AggregateCache.hourly`) take the same raw
hours in place of their aggregates, so today's bar agrees with the uptime beside it.

The raw part is kept per (check, environment) and hour (:class:`RawHours`): read once in full,
then only the results with an id above the last one read (the primary key), added to running
counts; hours the rollup has finished are dropped. A count of the results read so far that no
longer matches the store's (results deleted, or a lower id committed late on PostgreSQL) reads
the whole raw part again.

Loading 30 days of hourly rows for 10,000 checks takes seconds, so it is done once (and again every
``full_every`` seconds); in between, each refresh re-reads only the hours that can still change
(``hour >= last refresh - 1 h``, served by ``ix_check_hourly_hour``) and applies the difference.
Refreshes after the first run in a background thread; requests read a snapshot of the
aggregates' counts computed once per refresh (or hour).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, cast, func, select

from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.store.retention import ROLLUP_WATERMARK
from prodshield.text import UPTIME_DIGITS

HOUR = 3600
DAY = 86400
RAW_TTL = 5.0
"""How long the raw results' part of a summary (the hours not rolled up for good) is reused."""
RAW_AUDIT = 60.0
"""How often the results counted raw are counted again in the store (deleted, or committed late)."""
Key = tuple[str, str]
Bucket = tuple[int, int, float, int]
"""(results, failures, sum of response times in ms, degraded results among the failures).

A degraded result (the target answered but failed only a quality condition: a certificate close
to expiry, a slow answer) is a failure for the charts and bars but not downtime: the uptime
figures count ``failures - degraded``."""


@dataclass(frozen=True, slots=True)
class Summary:
    """Uptime and mean latency of one (check, environment) over the usual windows."""

    uptime_24h: float | None
    uptime_7d: float | None
    uptime_30d: float | None
    uptime_90d: float | None
    avg_ms_24h: float | None
    count_24h: int


Counts = tuple[int, int, float, int, int, int, int, int, int]
"""(results, down, sum_ms) over 24 h, then (results, down) over 7, 30 and 90 days; ``down`` is
failures that were not only degraded."""
NO_COUNTS: Counts = (0, 0, 0.0, 0, 0, 0, 0, 0, 0)


def _uptime(count: int, failures: int) -> float | None:
    return None if count == 0 else round(100.0 * (count - failures) / count, UPTIME_DIGITS)


def _summary(counts: Counts, days: int) -> Summary:
    """A summary of ``counts``; windows longer than the ``days`` loaded have no figure."""
    c24, f24, s24, c7, f7, c30, f30, c90, f90 = counts
    return Summary(
        uptime_24h=_uptime(c24, f24),
        uptime_7d=_uptime(c7, f7) if days >= 7 else None,
        uptime_30d=_uptime(c30, f30) if days >= 30 else None,
        uptime_90d=_uptime(c90, f90) if days >= 90 else None,
        avg_ms_24h=round(s24 / c24, 2) if c24 else None,
        count_24h=c24,
    )


def _add(a: Counts | None, b: Counts | None) -> Counts:
    if a is None or b is None:
        return a or b or NO_COUNTS
    return (
        a[0] + b[0],
        a[1] + b[1],
        a[2] + b[2],
        a[3] + b[3],
        a[4] + b[4],
        a[5] + b[5],
        a[6] + b[6],
        a[7] + b[7],
        a[8] + b[8],
    )


class RawHours:
    """Raw results from an hour on (``start``), counted per (check, environment) and hour as the
    rollup counts them (maintenance left out), and kept up to date incrementally.

    :meth:`update` reads only the results with an id above ``cursor``; every :data:`RAW_AUDIT`
    seconds ``rows`` (results of any kind read per hour, maintenance included) is checked
    against the store's count of results from ``start`` up to ``cursor``, so a deleted result,
    or one committed late with a lower id (PostgreSQL), makes it read everything again
    (:meth:`load`). ``version`` changes with every full read or dropped hour; ``changed`` holds
    the keys the last update counted a result for.
    """

    def __init__(self) -> None:
        self.start: int | None = None
        self.cursor = 0
        self.buckets: dict[Key, dict[int, Bucket]] = {}
        self.rows: dict[int, int] = {}
        self.read_at = 0.0
        self.audited_at = 0.0
        self.full_reads = 0
        self.version = 0
        self.changed: set[Key] = set()

    def copy(self) -> RawHours:
        """A copy to update while readers keep this one."""
        other = RawHours()
        other.start, other.cursor, other.read_at = self.start, self.cursor, self.read_at
        other.audited_at, other.full_reads, other.version = (
            self.audited_at,
            self.full_reads,
            self.version,
        )
        other.buckets = {k: dict(v) for k, v in self.buckets.items()}
        other.rows = dict(self.rows)
        return other

    def update(self, store: Store, start: int, now: float, *, full: bool = False) -> None:
        """Bring the counts up to ``now`` for the hours from ``start`` on."""
        if full or self.start is None or start < self.start:
            self.load(store, start, now)
            return
        if start > self.start:  # rolled up for good since: the aggregates count those hours
            for hours in self.buckets.values():
                for h in [h for h in hours if h < start]:
                    del hours[h]
            for h in [h for h in self.rows if h < start]:
                del self.rows[h]
            self.start = start
            self.version += 1
        r = t.check_results
        query = (
            select(
                r.c.id,
                r.c.check_name,
                r.c.environment,
                r.c.ts,
                r.c.ok,
                r.c.response_time_ms,
                r.c.degraded,
                r.c.maintenance,
            )
            .where(r.c.id > self.cursor)
            .order_by(r.c.id)
        )
        audit = now - self.audited_at >= RAW_AUDIT
        held = None
        with store.connect() as conn:
            new = conn.execute(query).all()
            cursor = max((int(row[0]) for row in new), default=self.cursor)
            if audit:
                held = conn.execute(
                    select(func.count()).where(r.c.ts >= start, r.c.id <= cursor)
                ).scalar()
        self.changed = set()
        for _, check, env, ts, ok, ms, degraded, maintenance in new:
            if ts < start:
                continue
            hour = int(ts) // HOUR * HOUR
            self.rows[hour] = self.rows.get(hour, 0) + 1
            if maintenance:
                continue
            hours = self.buckets.setdefault((check, env), {})
            self.changed.add((check, env))
            c, f, s, g = hours.get(hour, (0, 0, 0.0, 0))
            failed = not ok
            hours[hour] = (
                c + 1,
                f + failed,
                s + float(ms or 0.0),
                g + (failed and bool(degraded)),
            )
        self.cursor = cursor
        self.read_at = now
        if audit:
            self.audited_at = now
            if int(held or 0) != sum(self.rows.values()):
                self.load(store, start, now)

    def load(self, store: Store, start: int, now: float) -> None:
        """Read every result from ``start`` on again, one statement grouped by hour."""
        r = t.check_results
        if store.engine.dialect.name == "postgresql":
            hour: ColumnElement[Any] = func.floor(r.c.ts / HOUR)
        else:
            hour = cast(r.c.ts / HOUR, Integer)  # SQLite truncates: ts is positive
        counted = t.COUNTS_FOR_UPTIME
        failed = counted & ~r.c.ok

        def total(when: ColumnElement[Any], what: Any = 1) -> ColumnElement[Any]:
            return func.sum(case((when, what), else_=0))

        buckets: dict[Key, dict[int, Bucket]] = {}
        rows: dict[int, int] = {}
        with store.connect() as conn:
            cursor = int(conn.execute(select(func.max(r.c.id))).scalar() or 0)
            query = (
                select(
                    r.c.check_name,
                    r.c.environment,
                    hour,
                    func.count(),
                    total(counted),
                    total(failed),
                    total(counted, func.coalesce(r.c.response_time_ms, 0.0)),
                    total(failed & func.coalesce(r.c.degraded, False)),
                )
                .where(r.c.ts >= start, r.c.id <= cursor)
                .group_by(r.c.check_name, r.c.environment, hour)
            )
            for check, env, h, n, c, f, s, g in conn.execute(query):
                at = int(h) * HOUR
                rows[at] = rows.get(at, 0) + int(n)
                if c:
                    buckets.setdefault((check, env), {})[at] = (
                        int(c),
                        int(f or 0),
                        float(s or 0.0),
                        int(g or 0),
                    )
        self.start, self.cursor, self.buckets, self.rows = start, cursor, buckets, rows
        self.read_at = self.audited_at = now
        self.full_reads += 1
        self.version += 1
        self.changed = set()

    def counts(self, key: Key, now: float) -> Counts | None:
        """``key``'s counts over the windows at ``now`` (None: no result)."""
        hours = self.buckets.get(key)
        if not hours:
            return None
        since_24h, d7, d30, d90 = _windows(now)
        c24 = f24 = c7 = f7 = c30 = f30 = c90 = f90 = 0
        s24 = 0.0
        for hour, (c, f, s, g) in hours.items():
            down = f - g
            if hour >= since_24h:
                c24 += c
                f24 += down
                s24 += s
            if hour >= d7:
                c7 += c
                f7 += down
            if hour >= d30:
                c30 += c
                f30 += down
            if hour >= d90:
                c90 += c
                f90 += down
        return (c24, f24, s24, c7, f7, c30, f30, c90, f90)


def uptime_summaries(
    store: Store, keys: Iterable[Key], *, days: int = 7, now: float | None = None
) -> dict[Key, Summary]:
    """The summaries of ``keys`` over the windows up to ``days`` days, read once: the figures
    ``serve`` shows (:meth:`AggregateCache.summaries_for`), for a command that asks once."""
    at = time.time() if now is None else now
    cache = AggregateCache(store, days=days, background=False, clock=lambda: at)
    return cache.summaries_for(keys)


class AggregateCache:
    """Hourly and daily buckets per (check, environment), kept fresh within ``ttl`` seconds.

    The default ``ttl`` matches :class:`~prodshield.web.rollup.RollupService`'s minute: the
    aggregates do not change faster than that.
    """

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = 60.0,
        days: int = 90,
        full_every: float = 3600.0,
        clock: Callable[[], float] = time.time,
        background: bool = True,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.days = days
        self.full_every = full_every
        self.clock = clock
        self._lock = threading.Lock()
        self._hourly: dict[Key, dict[int, Bucket]] = {}
        self._daily: dict[Key, dict[int, Bucket]] = {}
        self._ready = False
        self._raw_from = 0
        """Hours from here on are counted from raw results, those before from the aggregates."""
        self._counts: dict[Key, Counts] = {}
        self._counted_for: tuple[object, ...] = ()
        self._refreshed_at = 0.0
        self._loaded_at = 0.0
        self._refreshing = threading.Lock()
        self.background = background
        self.generation = 0
        self.raw = RawHours()
        """The hours from ``_raw_from`` on, counted from raw results."""
        self._raw_reading = threading.Lock()
        self._summaries: dict[Key, Summary | None] = {}
        """Per key, its summary (None: no result) for ``_summarised_for``; a key the raw results
        changed is left out, so a refresh computes again only those."""
        self._summarised_for: tuple[object, ...] = ()

    # --- loading ---------------------------------------------------------------------------

    def _read(
        self, since_hour: int, *, scan: bool = False
    ) -> Iterator[tuple[str, str, int, int, int, float, int]]:
        """Hourly rows since ``since_hour``, streamed (a full load never holds them all)."""
        h = t.check_hourly
        # A full load reads most of the table: ``hour + 0`` keeps the planner off the hour index
        # (a scan beats millions of index lookups); a refresh reads a few hours through it.
        column = h.c.hour + 0 if scan else h.c.hour
        query = select(
            h.c.check_name,
            h.c.environment,
            h.c.hour,
            h.c.count,
            h.c.failures,
            h.c.sum_ms,
            h.c.degraded,
        ).where(column >= since_hour)
        with self.store.connect() as conn:
            for r in conn.execute(query.execution_options(yield_per=20000)):
                yield (
                    r[0],
                    r[1],
                    int(r[2]),
                    int(r[3]),
                    int(r[4]),
                    float(r[5] or 0.0),
                    int(r[6] or 0),
                )

    def _full_load(
        self,
    ) -> tuple[dict[Key, dict[int, Bucket]], dict[Key, dict[int, Bucket]], float]:
        now = self.clock()
        first_day = (int(now) // DAY - self.days + 1) * DAY
        hourly_from = (int(now) // HOUR) * HOUR - 48 * HOUR
        hourly: dict[Key, dict[int, Bucket]] = {}
        daily: dict[Key, dict[int, Bucket]] = {}
        for check, env, hour, count, failures, sum_ms, deg in self._read(first_day, scan=True):
            key = (check, env)
            day = hour - hour % DAY
            days = daily.setdefault(key, {})
            c, f, s, g = days.get(day, (0, 0, 0.0, 0))
            days[day] = (c + count, f + failures, s + sum_ms, g + deg)
            if hour >= hourly_from:
                hourly.setdefault(key, {})[hour] = (count, failures, sum_ms, deg)
        return hourly, daily, now

    def _apply(self, rows: list[tuple[str, str, int, int, int, float, int]]) -> None:
        """Fold re-read hourly rows into the buckets (daily buckets take the difference)."""
        for check, env, hour, count, failures, sum_ms, deg in rows:
            key = (check, env)
            hours = self._hourly.setdefault(key, {})
            oc, of, os_, og = hours.get(hour, (0, 0, 0.0, 0))
            hours[hour] = (count, failures, sum_ms, deg)
            day = hour - hour % DAY
            days = self._daily.setdefault(key, {})
            c, f, s, g = days.get(day, (0, 0, 0.0, 0))
            days[day] = (c + count - oc, f + failures - of, s + sum_ms - os_, g + deg - og)

    def refresh(self, *, force: bool = False) -> None:
        """Bring the buckets up to date when older than ``ttl`` (or when forced).

        The first load is synchronous; later refreshes run in a background thread (when
        ``background``) while readers keep the previous snapshot, so no request waits for one.
        """
        now = self.clock()
        fresh = now - self._refreshed_at < self.ttl
        if self._ready and fresh and not force:
            return
        if not self._ready or force or not self.background:
            with self._refreshing:
                if not self._ready or force or not self.background:
                    self._refresh_now()
            return
        if self._refreshing.acquire(blocking=False):
            thread = threading.Thread(target=self._refresh_in_background, daemon=True)
            thread.name = "prodshield-aggregates"
            thread.start()

    def _refresh_in_background(self) -> None:
        try:
            self._refresh_now()
        finally:
            self._refreshing.release()

    def _final_before(self, now: float) -> int:
        """The hour from which results are counted raw: the one the rollup last ran in (every
        hour before it is final in ``check_hourly``), or the current one; never before the
        first hour raw results still hold (retention rolled up those before deleting them). The
        current hour is always counted raw: its aggregate is partial.
        Past the 48 hourly buckets, the start of its day (the daily buckets are whole)."""
        current = int(now) // HOUR * HOUR
        first_day = (int(now) // DAY - self.days + 1) * DAY
        mark = self.store.kv_get(*ROLLUP_WATERMARK)
        rolled = int(mark) // HOUR * HOUR if isinstance(mark, int | float) else first_day
        r = t.check_results
        with self.store.connect() as conn:
            oldest = conn.execute(select(func.min(r.c.ts)).where(r.c.ts >= first_day)).scalar()
        kept = current if oldest is None else int(oldest) // HOUR * HOUR
        start = max(min(current, rolled), min(current, kept))
        if start < current - 48 * HOUR:
            start -= start % DAY
        return max(start, first_day)

    def _refresh_now(self) -> None:
        """One refresh; the caller holds ``_refreshing``. Reads the store outside ``_lock``.

        The rollup's watermark is read before the rows: every hour it says is final is then in
        the rows read."""
        now = self.clock()
        raw_from = self._final_before(now)
        since = min((int(self._refreshed_at) // HOUR) * HOUR - HOUR, self._raw_from)
        hourly_from = (int(now) // HOUR) * HOUR - 48 * HOUR
        if (
            self._loaded_at == 0.0
            or now - self._loaded_at >= self.full_every
            or since < hourly_from
        ):
            hourly, daily, loaded_at = self._full_load()
            with self._lock:
                self._hourly, self._daily, self._loaded_at = hourly, daily, loaded_at
        else:
            rows = list(self._read(since))
            with self._lock:
                self._apply(rows)
                self._trim(now)
        with self._lock:
            self._raw_from = raw_from
            self._refreshed_at = now
            self.generation += 1
            self._counts_at(now)
            self._ready = True

    def _trim(self, now: float) -> None:
        hourly_from = (int(now) // HOUR) * HOUR - 48 * HOUR
        first_day = (int(now) // DAY - self.days + 1) * DAY
        for hours in self._hourly.values():
            for h in [h for h in hours if h < hourly_from]:
                del hours[h]
        for days in self._daily.values():
            for d in [d for d in days if d < first_day]:
                del days[d]

    def _counts_at(self, now: float) -> dict[Key, Counts]:
        """The aggregates' counts at ``now`` (the caller holds ``_lock``); computed again only
        when the snapshot or the windows changed."""
        marker = (_windows(now), self._raw_from, self.generation)
        if marker != self._counted_for:
            self._counts = self._summarise(now)
            self._counted_for = marker
        return self._counts

    def _summarise(self, now: float) -> dict[Key, Counts]:
        """Per key, what the aggregates of the hours before ``_raw_from`` count in each window."""
        since_24h, d7, d30, d90 = _windows(now)
        raw_from = self._raw_from
        out: dict[Key, Counts] = {}
        empty: dict[int, Bucket] = {}
        for key in self._daily.keys() | self._hourly.keys():
            c24 = f24 = 0
            s24 = 0.0
            later: dict[int, tuple[int, int]] = {}  # per day, its hours counted raw
            for hour, (c, f, s, g) in self._hourly.get(key, empty).items():
                if hour >= raw_from:
                    day = hour - hour % DAY
                    lc, lf = later.get(day, (0, 0))
                    later[day] = (lc + c, lf + f - g)
                elif hour >= since_24h:
                    c24 += c
                    f24 += f - g
                    s24 += s
            c7 = f7 = c30 = f30 = c90 = f90 = 0
            for day, (c, f, _, g) in self._daily.get(key, empty).items():
                if day < d90 or day >= raw_from:  # a day from raw_from on is counted raw
                    continue
                lc, lf = later.get(day, (0, 0))
                c -= lc
                f -= g + lf  # downtime: a degraded result is a failure but not down
                c90 += c
                f90 += f
                if day >= d30:
                    c30 += c
                    f30 += f
                    if day >= d7:
                        c7 += c
                        f7 += f
            out[key] = (c24, f24, s24, c7, f7, c30, f30, c90, f90)
        return out

    # --- reading ---------------------------------------------------------------------------

    def summaries(self) -> dict[Key, Summary]:
        """:meth:`summaries_for` every key the aggregates hold."""
        self.refresh()
        with self._lock:
            keys = list(self._daily.keys() | self._hourly.keys())
        return self.summaries_for(keys)

    def summaries_for(self, keys: Iterable[Key]) -> dict[Key, Summary]:
        """Uptime and mean latency of each of ``keys`` with results: the aggregates' counts of
        the hours rolled up for good plus the raw results' of the rest (brought up to date at
        most every :data:`RAW_TTL` seconds)."""
        self.refresh()
        now = self.clock()
        self._raw_update(now)
        out: dict[Key, Summary] = {}
        with self._lock:
            counts = self._counts_at(now)
            marker = (self._counted_for, self.raw.version)
            if marker != self._summarised_for:
                self._summaries = {}
                self._summarised_for = marker
            done = self._summaries
            for k in keys:
                if k in done:
                    summary = done[k]
                else:
                    part = self.raw.counts(k, now)
                    summary = None
                    if k in counts or part is not None:
                        summary = _summary(_add(counts.get(k), part), self.days)
                    done[k] = summary
                if summary is not None:
                    out[k] = summary
        return out

    def _raw_update(self, now: float, *, full: bool = False) -> None:
        """Bring :attr:`raw` up to date for the current ``_raw_from`` when it was last brought
        up to date :data:`RAW_TTL` seconds ago or more, or for another hour (or when ``full``:
        read in full, the baseline of ``benchmarks/uptime_raw.py``)."""
        with self._raw_reading:
            with self._lock:
                raw_from = self._raw_from
            raw = self.raw
            if not full and raw.start == raw_from and now - raw.read_at < RAW_TTL:
                return
            with self._lock:  # read outside the lock into a copy: readers keep the old counts
                update = raw.copy()
            update.update(self.store, raw_from, now, full=full)
            with self._lock:
                self.raw = update
                for k in update.changed:
                    self._summaries.pop(k, None)

    def _merged_hourly(self, key: Key) -> dict[int, Bucket]:
        """``key``'s hourly buckets: aggregates before ``_raw_from``, raw results from it on
        (the caller holds ``_lock``)."""
        raw_from = self._raw_from
        hours = {h: b for h, b in self._hourly.get(key, {}).items() if h < raw_from}
        hours.update(self.raw.buckets.get(key, {}))
        return hours

    def _merged_daily(self, key: Key) -> dict[int, Bucket]:
        """``key``'s daily buckets with the hours from ``_raw_from`` on counted from raw results,
        as :meth:`summaries_for` counts them (the caller holds ``_lock``)."""
        raw_from = self._raw_from
        hourly = self._hourly.get(key, {})
        days: dict[int, Bucket] = {}
        for day, (c, f, s, g) in self._daily.get(key, {}).items():
            if day >= raw_from:  # a day from raw_from on is counted raw
                continue
            for hour in range(max(day, raw_from), day + DAY, HOUR):
                lc, lf, ls, lg = hourly.get(hour, (0, 0, 0.0, 0))
                c, f, s, g = c - lc, f - lf, s - ls, g - lg
            days[day] = (c, f, s, g)
        for hour, (c, f, s, g) in self.raw.buckets.get(key, {}).items():
            day = hour - hour % DAY
            dc, df, ds, dg = days.get(day, (0, 0, 0.0, 0))
            days[day] = (dc + c, df + f, ds + s, dg + g)
        return days

    def daily(self, keys: list[Key], days: int = 90) -> list[tuple[int, int, int, float]]:
        """``(day, results, failures, sum_ms)`` for the last ``days`` days, summed over ``keys``."""
        self.refresh()
        now = self.clock()
        today = int(now) - int(now) % DAY
        first = today - (days - 1) * DAY
        acc: dict[int, list[float]] = {first + i * DAY: [0, 0, 0.0] for i in range(days)}
        self._raw_update(now)
        with self._lock:
            for key in keys:
                for day, (c, f, s, _) in self._merged_daily(key).items():
                    slot = acc.get(day)
                    if slot is not None:
                        slot[0] += c
                        slot[1] += f
                        slot[2] += s
        return [(d, int(v[0]), int(v[1]), float(v[2])) for d, v in sorted(acc.items())]

    def today_from_results(self, key: Key) -> tuple[int, int, float, int]:
        """``(results, failures, sum_ms, degraded)`` of ``key`` today, counted from its raw
        results as the rollup counts them: for a day the aggregates do not hold yet (a check
        added a minute ago; the rollup and this cache catch up each minute)."""
        now = self.clock()
        today = int(now) - int(now) % DAY
        r = t.check_results
        query = select(
            func.count(),
            func.sum(case((~r.c.ok, 1), else_=0)),
            func.sum(func.coalesce(r.c.response_time_ms, 0.0)),
            func.sum(case((~r.c.ok & func.coalesce(r.c.degraded, False), 1), else_=0)),
        ).where(
            r.c.check_name == key[0],
            r.c.environment == key[1],
            r.c.ts >= today,
            t.COUNTS_FOR_UPTIME,
        )
        with self.store.connect() as conn:
            row = conn.execute(query).one()
        return int(row[0] or 0), int(row[1] or 0), float(row[2] or 0.0), int(row[3] or 0)

    def hourly(self, keys: list[Key], hours: int = 24) -> list[tuple[int, int, int, float]]:
        """``(hour, results, failures, sum_ms)`` for the last ``hours`` hours, summed over ``keys``."""
        self.refresh()
        now = self.clock()
        current = int(now) - int(now) % HOUR
        first = current - (hours - 1) * HOUR
        acc: dict[int, list[float]] = {first + i * HOUR: [0, 0, 0.0] for i in range(hours)}
        self._raw_update(now)
        with self._lock:
            for key in keys:
                for hour, (c, f, s, _) in self._merged_hourly(key).items():
                    slot = acc.get(hour)
                    if slot is not None:
                        slot[0] += c
                        slot[1] += f
                        slot[2] += s
        return [(h, int(v[0]), int(v[1]), float(v[2])) for h, v in sorted(acc.items())]

    def daily_degraded(self, keys: list[Key], days: int = 90) -> list[int]:
        """Per day of :meth:`daily` (same order), its failures that were only degraded."""
        self.refresh()
        now = self.clock()
        today = int(now) - int(now) % DAY
        first = today - (days - 1) * DAY
        acc = {first + i * DAY: 0 for i in range(days)}
        self._raw_update(now)
        with self._lock:
            for key in keys:
                for day, (_, _, _, g) in self._merged_daily(key).items():
                    if day in acc:
                        acc[day] += g
        return [g for _, g in sorted(acc.items())]

    def hourly_degraded(self, keys: list[Key], hours: int = 24) -> list[int]:
        """Per hour of :meth:`hourly` (same order), its failures that were only degraded."""
        self.refresh()
        now = self.clock()
        current = int(now) - int(now) % HOUR
        first = current - (hours - 1) * HOUR
        acc = {first + i * HOUR: 0 for i in range(hours)}
        self._raw_update(now)
        with self._lock:
            for key in keys:
                for hour, (_, _, _, g) in self._merged_hourly(key).items():
                    if hour in acc:
                        acc[hour] += g
        return [g for _, g in sorted(acc.items())]


def _windows(now: float) -> tuple[int, int, int, int]:
    """Where the 24-hour (whole hours) and 7, 30 and 90-day (whole days) windows start."""
    today = int(now) - int(now) % DAY
    return (
        (int(now) // HOUR) * HOUR - 23 * HOUR,
        today - 6 * DAY,
        today - 29 * DAY,
        today - 89 * DAY,
    )
