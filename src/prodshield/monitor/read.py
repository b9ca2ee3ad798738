"""The monitor's read model: checks, incidents, silences, SLOs, the status page's services.

What the status page, the dashboard, ``/metrics`` and the JSON API show of the monitor; the API's
answers are the view models of ``monitor/views.py`` (the OpenAPI document is generated from them).

Every list is one SQL statement (no query per check): the current state joins its last result on
``check_state.last_ts`` through ``ix_check_results_check_env_ts``; uptime and charts come from the
:class:`~prodshield.monitor.aggregates.AggregateCache` of hourly aggregates. Writes belong to their
capability (``monitor.incidents``' acknowledge / add_note / resolve_by_hand / post_update /
open_manual / set_postmortem, ``monitor.silences``' create / of_incident / end,
``notify.outbox``'s retry_dead, ``monitor.heartbeats``' record_signal): the API, the dashboard
and the CLI call those, and this model only reads.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast, get_args

from sqlalchemy import and_, case, desc, func, select

from prodshield import deploys, evidence
from prodshield.config.schema import ShieldConfig
from prodshield.monitor import incidents as incident_actions
from prodshield.monitor import series
from prodshield.monitor import silences as silence_store
from prodshield.monitor import slo as slo_measure
from prodshield.monitor.aggregates import AggregateCache, Key
from prodshield.monitor.heartbeats import (
    WAITING,
    WAITING_LABEL,
    PingBase,
    curl_line,
)
from prodshield.monitor.incidents import check_and_service, severity_of
from prodshield.monitor.job_runs import job_run
from prodshield.monitor.overall import ServiceState, headline, service_status
from prodshield.monitor.status import in_maintenance, shown_statuses
from prodshield.monitor.views import (
    BadgeView,
    CheckCharts,
    CheckDetailView,
    CheckEnvironmentView,
    CheckStatus,
    CheckView,
    ConditionValueView,
    DailyView,
    EvidenceView,
    HourlyView,
    IncidentView,
    NoteView,
    PingsView,
    ResultView,
    ServiceSloSummaryView,
    ServiceSloView,
    ServicesView,
    ServiceView,
    SilenceView,
    SloView,
    Uptime90View,
)
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.text import UPTIME_DIGITS

STATUS_ORDER = {
    "down": 0,
    "degraded": 1,
    "unknown": 2,
    "waiting": 2,
    "maintenance": 3,
    "up": 4,
}
BEATS = 30
"""Results in a heartbeat bar."""
CHART_MEMBERS = 5
"""Checks of one service whose raw results its status-page chart reads."""
STATUS_RAW_SPAN = 3600.0
"""The status page's 24 h charts read raw results since the last hour boundary but one (1-2 h);
whole hours before come from the aggregates (a check page reads 3 h of raw results)."""


BADGE_STATES = frozenset(get_args(CheckStatus))


@dataclass(slots=True)
class _Service:
    """A service while the status page is put together (its members are not shown)."""

    environment: str
    name: str
    status: str
    open_incidents: int
    members: list[TargetInfo]


@dataclass(frozen=True, slots=True)
class TargetInfo:
    """A check crossed with one of its environments, as configured."""

    name: str
    environment: str
    type: str
    group: str
    description: str | None
    interval: float
    timeout: float
    failure_threshold: int
    success_threshold: int
    conditions: tuple[str, ...]
    service: str = ""

    @property
    def key(self) -> Key:
        return (self.name, self.environment)


def targets(config: ShieldConfig) -> list[TargetInfo]:
    """Every enabled check crossed with its environments ("" when it names none)."""
    out: list[TargetInfo] = []
    d = config.defaults
    for check in config.checks:
        if not check.enabled:
            continue
        for env_name in check.environments or [""]:
            env = config.environments.get(env_name)
            out.append(
                TargetInfo(
                    name=check.name,
                    environment=env_name,
                    type=check.type,
                    group=check.group or check.name,
                    description=check.description,
                    interval=float(
                        (env.interval if env and env.interval else None)
                        or check.interval
                        or d.interval
                    ),
                    timeout=float(
                        (env.timeout if env and env.timeout else None) or check.timeout or d.timeout
                    ),
                    failure_threshold=check.failure_threshold or d.failure_threshold,
                    success_threshold=check.success_threshold or d.success_threshold,
                    conditions=tuple(check.conditions),
                    service=check.service or check.name,
                )
            )
    return out


class ReadModel:
    """The web's view of the store for one configuration."""

    def __init__(self, store: Store, config: ShieldConfig, cache: AggregateCache | None = None):
        self.store = store
        self.config = config
        self.cache = cache or AggregateCache(store)
        self.targets = targets(config)
        self.by_key = {x.key: x for x in self.targets}
        self.names = {x.name for x in self.targets}
        self.environments = {x.environment for x in self.targets}
        self._services = len({(x.environment, x.group) for x in self.targets})

    def service_pages(self, per_page: int) -> int:
        """How many pages of ``per_page`` services the status page has (at least one)."""
        return max(1, -(-self._services // per_page))

    # --- checks ----------------------------------------------------------------------------

    def _states(self, name: str | None = None) -> dict[Key, dict[str, Any]]:
        s, r = t.check_state, t.check_results
        query = select(
            s.c.check_name,
            s.c.environment,
            s.c.status,
            s.c.consecutive_failures,
            s.c.consecutive_successes,
            s.c.last_ts,
            s.c.last_ok,
            s.c.last_error_kind,
            r.c.response_time_ms,
            r.c.error_message,
        ).select_from(
            s.outerjoin(
                r,
                and_(
                    r.c.check_name == s.c.check_name,
                    r.c.environment == s.c.environment,
                    r.c.ts == s.c.last_ts,
                ),
            )
        )
        if name is not None:
            query = query.where(s.c.check_name == name)
        out: dict[Key, dict[str, Any]] = {}
        with self.store.connect() as conn:
            for row in conn.execute(query):
                key = (row[0], row[1])
                if key in out:
                    continue
                out[key] = {
                    "status": row[2],
                    "consecutive_failures": row[3],
                    "consecutive_successes": row[4],
                    "last_result": None
                    if row[5] is None
                    else {
                        "ts": row[5],
                        "ok": bool(row[6]),
                        "error_kind": row[7],
                        "response_time_ms": row[8],
                        "error": row[9],
                    },
                }
        return out

    def _open_incidents(self, name: str | None = None) -> dict[Key, int]:
        i = t.incidents
        query = select(i.c.check_name, i.c.environment, i.c.id).where(i.c.status == "open")
        if name is not None:
            query = query.where(i.c.check_name == name)
        with self.store.connect() as conn:
            return {(a, b): int(c) for a, b, c in conn.execute(query)}

    def checks(
        self, *, environment: str | None = None, status: str | None = None
    ) -> list[CheckView]:
        """Every configured check and environment with its state, last result and uptime."""
        states = self._states()
        incidents = self._open_incidents()
        summaries = self.cache.summaries_for(x.key for x in self.targets)
        shown = self.statuses({k: v["status"] for k, v in states.items()})
        out: list[CheckView] = []
        for x in self.targets:
            if environment is not None and x.environment != environment:
                continue
            st = states.get(x.key)
            current = shown[x.key]
            if status is not None and current != status:
                continue
            # a heartbeat waiting for its first ping has no uptime yet (not 100 %)
            sm = None if current == WAITING else summaries.get(x.key)
            out.append(
                {
                    "name": x.name,
                    "environment": x.environment or None,
                    "type": x.type,
                    "group": x.group,
                    "status": cast(CheckStatus, current),
                    "consecutive_failures": st["consecutive_failures"] if st else 0,
                    "last_result": st["last_result"] if st else None,
                    "uptime": {
                        "24h": sm.uptime_24h if sm else None,
                        "7d": sm.uptime_7d if sm else None,
                        "30d": sm.uptime_30d if sm else None,
                    },
                    "avg_response_time_ms_24h": sm.avg_ms_24h if sm else None,
                    "open_incident": incidents.get(x.key),
                }
            )
        return out

    def check(self, name: str, *, recent: int = 20, charts: bool = False) -> CheckDetailView | None:
        """One check: per environment its state, uptime, recent results with condition values.

        With ``charts``, each environment also has ``charts`` (not in the API's JSON): response
        time points from raw results (last 3 h, ``recent``), the last 24 h (``latency``), 30 days
        (``month``) and the deploy markers, for the dashboard's charts.
        """
        mine = [x for x in self.targets if x.name == name]
        if not mine:
            return None
        states = self._states(name)
        incidents = self._open_incidents(name)
        summaries = self.cache.summaries_for(x.key for x in mine)
        shown = self.statuses({k: v["status"] for k, v in states.items()}, [x.key for x in mine])
        slos = self.slo_statuses(name)
        service_slos = self.service_slo_statuses() if self.config.services else {}
        r = t.check_results
        envs: list[CheckEnvironmentView] = []
        with self.store.connect() as conn:
            for x in mine:
                rows = conn.execute(
                    select(
                        r.c.id,
                        r.c.ts,
                        r.c.ok,
                        r.c.response_time_ms,
                        r.c.error_kind,
                        r.c.error_message,
                        r.c.conditions,
                        r.c.location,
                        r.c.degraded,
                    )
                    .where(r.c.check_name == x.name, r.c.environment == x.environment)
                    .order_by(desc(r.c.ts))
                    .limit(recent)
                ).all()
                st = states.get(x.key)
                current = shown[x.key]
                sm = None if current == WAITING else summaries.get(x.key)
                envs.append(
                    CheckEnvironmentView(
                        environment=x.environment or None,
                        status=cast(CheckStatus, current),
                        consecutive_failures=st["consecutive_failures"] if st else 0,
                        consecutive_successes=st["consecutive_successes"] if st else 0,
                        last_result=st["last_result"] if st else None,
                        interval_s=x.interval,
                        timeout_s=x.timeout,
                        uptime={
                            "24h": sm.uptime_24h if sm else None,
                            "7d": sm.uptime_7d if sm else None,
                            "30d": sm.uptime_30d if sm else None,
                            "90d": sm.uptime_90d if sm else None,
                        },
                        avg_response_time_ms_24h=sm.avg_ms_24h if sm else None,
                        open_incident=incidents.get(x.key),
                        slo=slos.get(x.key),
                        service_slo=service_slos.get((x.service or x.name, x.environment)),
                        recent_results=[
                            ResultView(
                                id=int(row.id),
                                ts=row.ts,
                                ok=bool(row.ok),
                                response_time_ms=row.response_time_ms,
                                error_kind=row.error_kind,
                                error=row.error_message,
                                conditions=[
                                    ConditionValueView.model_validate(c)
                                    for c in row.conditions or []
                                    if isinstance(c, dict)
                                ],
                                location=row.location,
                                degraded=not row.ok and bool(row.degraded),
                            )
                            for row in rows
                        ],
                        hourly=self.series_hourly([x.key]),
                        daily=self.series_daily([x.key]),
                        charts=self._charts(x) if charts else None,
                        job=job_run(conn, x.name, x.environment) if x.type == "heartbeat" else None,
                    )
                )
        first = mine[0]
        return CheckDetailView(
            name=name,
            type=first.type,
            group=first.group,
            description=first.description,
            conditions=list(first.conditions),
            environments=envs,
        )

    def _month(self, key: Key) -> list[series.LatencyPoint]:
        """The 30-day chart's days; today from raw results while its aggregate is not there
        yet, so a check added a minute ago shows its first day, not "no results yet"."""
        days, degraded = self.cache.daily([key], 30), self.cache.daily_degraded([key], 30)
        if days and days[-1][1] == 0:
            count, failures, sum_ms, deg = self.cache.today_from_results(key)
            if count:
                days[-1] = (days[-1][0], count, failures, sum_ms)
                degraded[-1] = deg
        return series.daily_points(days, degraded=degraded)

    def _charts(self, x: TargetInfo) -> CheckCharts:
        return CheckCharts(
            recent=self.latency_points([[x.key]], hours=3)[0],
            latency=self.latency_points([[x.key]], hours=24)[0],
            month=self._month(x.key),
            deploys=deploys.deploys(
                self.store,
                environment=x.environment,
                service=x.service,
                since=time.time() - 31 * 86400,
                limit=200,
            ),
        )

    def statuses(
        self, stored: dict[Key, str] | None = None, keys: list[Key] | None = None
    ) -> dict[Key, str]:
        """The state each target shows (:func:`prodshield.monitor.status.shown_statuses`)."""
        return shown_statuses(
            self.store,
            self.config,
            [x.key for x in self.targets] if keys is None else keys,
            stored=stored,
        )

    def series_daily(self, keys: list[Key], days: int = 90) -> list[DailyView]:
        degraded = self.cache.daily_degraded(keys, days)
        return [
            DailyView(
                day=d,
                count=c,
                failures=f,
                degraded=g,
                uptime=None if c == 0 else round(100.0 * (c - (f - g)) / c, UPTIME_DIGITS),
            )
            for (d, c, f, _), g in zip(self.cache.daily(keys, days), degraded, strict=True)
        ]

    def series_hourly(self, keys: list[Key], hours: int = 24) -> list[HourlyView]:
        return [
            HourlyView(
                hour=h,
                count=c,
                failures=f,
                avg_ms=None if c == 0 else round(s / c, 2),
            )
            for h, c, f, s in self.cache.hourly(keys, hours)
        ]

    # --- status page -----------------------------------------------------------------------

    def status_counts_by_key(self) -> dict[Key, str]:
        """The state every configured target shows (``monitor status``, the pages, /metrics)."""
        return self.statuses()

    def in_maintenance(self, now: float | None = None) -> set[Key]:
        """The targets inside a maintenance window at ``now``."""
        return in_maintenance(self.config, [x.key for x in self.targets], now)

    def maintenance(self, now: float | None = None) -> list[dict[str, Any]]:
        """Maintenance ongoing at ``now`` and announced ahead (``maintenance[].announce``), with
        the services each one covers, ongoing first, then soonest first."""
        from prodshield.monitor.maintenance import covers, schedule

        now = time.time() if now is None else now
        windows = self.config.maintenance
        out = []
        for occ in schedule(windows, now):
            window = windows[occ.window]
            services = sorted(
                {
                    (x.group, x.environment)
                    for x in self.targets
                    if covers(window, x.name, x.environment)
                }
            )
            out.append(
                {
                    "name": occ.name,
                    "description": occ.description,
                    "start": occ.start,
                    "end": occ.end,
                    "ongoing": occ.ongoing,
                    "window": occ.window,
                    "services": [{"name": g, "environment": e or None} for g, e in services],
                }
            )
        return out

    def status_counts(self) -> dict[str, int]:
        """How many configured targets are in each state."""
        known = self.status_counts_by_key()
        counts: dict[str, int] = defaultdict(int)
        for x in self.targets:
            counts[known.get(x.key, "unknown")] += 1
        return dict(counts)

    def services(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        open_incidents: list[IncidentView] | None = None,
        now: float | None = None,
    ) -> ServicesView:
        """Services (a check's ``group``, else its name) per environment, problems first.

        A service with an open incident is never "up" (see :mod:`prodshield.monitor.overall`),
        and ``headline`` states the worst of the services and the incidents. Each shown service
        has its response-time points (raw results for the recent hours, hourly aggregates
        before) and its last results.
        """
        now = time.time() if now is None else now
        known = self.status_counts_by_key()
        if open_incidents is None:
            open_incidents = self.incidents(status="open", limit=500)
        open_by_key: dict[Key, int] = defaultdict(int)
        for inc in open_incidents:
            open_by_key[(inc.check, inc.environment or "")] += 1
        grouped: dict[tuple[str, str], list[TargetInfo]] = defaultdict(list)
        for x in self.targets:
            grouped[(x.environment, x.group)].append(x)
        services: list[_Service] = []
        for (env, group), members in grouped.items():
            statuses = [known.get(m.key, "unknown") for m in members]
            opened = sum(open_by_key.get(m.key, 0) for m in members)
            services.append(_Service(env, group, service_status(statuses, opened), opened, members))
        services.sort(key=lambda v: (STATUS_ORDER.get(v.status, 2), v.environment, v.name))
        total = len(services)
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        shown = services[(page - 1) * per_page : page * per_page]
        summaries = self.cache.summaries_for(m.key for svc in shown for m in svc.members)
        # a service of many checks charts the first CHART_MEMBERS of them and takes its last
        # results a few from each check (BEATS in all), so a page stays one bounded read; a
        # heartbeat has no response time: it stays out of the chart (a service of heartbeats
        # only shows its last ping instead)
        timed = [[m.key for m in svc.members if m.type != "heartbeat"] for svc in shown]
        charts = self.latency_points(
            [
                (keys or [m.key for m in svc.members])[:CHART_MEMBERS]
                for svc, keys in zip(shown, timed, strict=True)
            ],
            hours=24,
            now=now,
            raw_span=STATUS_RAW_SPAN,
        )
        limits = {
            m.key: max(1, -(-BEATS // len(svc.members))) for svc in shown for m in svc.members
        }
        beats = self.beats(list(limits), limits, now=now)
        pinged = self._pings(
            {m.key for svc, k in zip(shown, timed, strict=True) if not k for m in svc.members}
        )
        public_slos = self._public_slos(shown, now)
        views: list[ServiceView] = []
        for svc, points, timed_keys in zip(shown, charts, timed, strict=True):
            keys = [m.key for m in svc.members]
            mine = [summaries[k] for k in keys if k in summaries and known.get(k) != WAITING]
            uptime = {
                window: _mean([getattr(sm, f"uptime_{window}") for sm in mine])
                for window in ("24h", "7d", "30d", "90d")
            }
            views.append(
                ServiceView(
                    environment=svc.environment,
                    name=svc.name,
                    status=cast(CheckStatus, svc.status),
                    open_incidents=svc.open_incidents,
                    checks=[m.name for m in svc.members],
                    descriptions=list(
                        dict.fromkeys(m.description for m in svc.members if m.description)
                    ),
                    daily=self.series_daily(keys),
                    uptime=cast(Uptime90View, uptime),
                    uptime_90d=uptime["90d"],
                    slo=public_slos.get((svc.environment, svc.name)),
                    latency=points,
                    timed=bool(timed_keys),
                    pings=None if timed_keys else _service_pings(pinged, svc.members),
                    beats=series.merged_beats(beats, keys, BEATS),
                )
            )
        environments: dict[str, int] = defaultdict(int)
        counts: dict[str, int] = defaultdict(int)
        for svc in services:
            environments[svc.environment] += 1
            counts[svc.status] += 1
        states = [
            ServiceState(svc.name, svc.environment, svc.status, svc.open_incidents)
            for svc in services
        ]
        head = headline(states, len(open_incidents))
        return ServicesView(
            services=views,
            total=total,
            page=page,
            pages=pages,
            environments=dict(environments),
            counts=dict(counts),
            headline=head,
            until=now,
        )

    def latency_points(
        self,
        groups: list[list[Key]],
        *,
        hours: int = 24,
        now: float | None = None,
        raw_span: float = series.RAW_SPAN,
    ) -> list[list[series.LatencyPoint]]:
        """Response-time points per group of keys over the last ``hours`` (one list per group).

        Raw results cover the last ``raw_span`` (from an hour boundary), hourly
        aggregates the hours before; buckets are sized for about 120 points from the first
        result there is, the same width for every group.
        """
        now = time.time() if now is None else now
        if not groups:
            return []
        raw_from = series.raw_since(now, min(raw_span, hours * 3600))
        hourly = [self.cache.hourly(keys, hours) for keys in groups]
        older = [
            series.hourly_points(
                rows, before=raw_from, degraded=self.cache.hourly_degraded(keys, hours)
            )
            for rows, keys in zip(hourly, groups, strict=True)
        ]
        starts = [pts[0].ts - 1800 for pts in older if pts]
        all_keys = [k for keys in groups for k in keys]
        if not starts:
            first = series.earliest_result(self.store, all_keys, raw_from, now)
            starts = [first] if first is not None else [now - 60]
        bucket = series.bucket_seconds(min(starts), now, 120)
        recent = series.recent_points(self.store, groups, since=raw_from, until=now, bucket=bucket)
        return [old + new for old, new in zip(older, recent, strict=True)]

    def beats(
        self, keys: list[Key], n: int | dict[Key, int] = BEATS, *, now: float | None = None
    ) -> dict[Key, list[series.Beat]]:
        """The last ``n`` results of each key, for heartbeat bars: looked for within four times
        ``n + 2`` of its intervals (a late or paused scheduler), at least 10 minutes and at most
        two days back."""
        if not keys:
            return {}
        now = time.time() if now is None else now
        limits = n if isinstance(n, dict) else dict.fromkeys(keys, n)
        since = {}
        for key in keys:
            target = self.by_key.get(key)
            interval = target.interval if target else 60.0
            back = interval * (limits.get(key, 1) + 2) * 4
            since[key] = now - min(2 * 86400.0, max(600.0, back))
        return series.last_results(self.store, keys, limits, since=since, until=now)

    # --- incidents -------------------------------------------------------------------------

    def incidents(
        self,
        *,
        status: str | None = None,
        check: str | None = None,
        since: float | None = None,
        limit: int = 100,
    ) -> list[IncidentView]:
        """Open ones first, then the others; each newest first (the CLI, the API and the
        dashboard list them in this order)."""
        i = t.incidents
        still_open = case((i.c.status == "open", 0), else_=1)
        query = select(i).order_by(still_open, desc(i.c.opened_at), desc(i.c.id)).limit(limit)
        if status is not None:
            query = query.where(i.c.status == status)
        if check is not None:
            query = query.where(i.c.check_name == check)
        if since is not None:
            query = query.where(i.c.opened_at >= since)
        with self.store.connect() as conn:
            rows = [_incident(row._mapping) for row in conn.execute(query)]
        # opened in the same second (one outage, as every list shows it): the later id first
        return sorted(
            rows,
            key=lambda r: (r.status == "open", math.floor(r.opened_at), r.id),
            reverse=True,
        )

    def incident(self, incident_id: int) -> IncidentView | None:
        i = t.incidents
        with self.store.connect() as conn:
            row = conn.execute(select(i).where(i.c.id == incident_id)).first()
            if row is None:
                return None
            found = evidence.of_incident(conn, incident_id)
            updates = incident_actions.updates_of(conn, [incident_id]).get(incident_id, [])
            target = next(
                (x for x in self.targets if x.key == (row.check_name, row.environment)), None
            )
            job = (
                job_run(conn, target.name, target.environment)
                if target and target.type == "heartbeat"
                else None
            )
        view = _incident(
            row._mapping,
            evidence=[
                EvidenceView(kind=e.kind, at=e.at, summary=e.summary, details=e.details)
                for e in found
            ],
            updates=updates,
        )
        view.job = job
        return view

    def with_updates(self, incidents: list[IncidentView]) -> list[IncidentView]:
        """The incidents, each with its status updates (``updates``, oldest first)."""
        with self.store.connect() as conn:
            found = incident_actions.updates_of(conn, [i.id for i in incidents])
        for i in incidents:
            i.updates = found.get(i.id, [])
        return incidents

    def badge(self, name: str | None, environment: str | None) -> BadgeView | None:
        """A check's state (the worst of its environments, or one) and 30-day uptime; with no
        name, an environment's: the worst state and the lowest uptime of its checks."""
        mine = [
            x
            for x in self.targets
            if (name is None or x.name == name)
            and (environment is None or x.environment == environment)
        ]
        if not mine:
            return None
        states = self._states(name)
        summaries = self.cache.summaries_for(x.key for x in mine)
        order = ["down", "degraded", "unknown", "up"]
        statuses = [(states.get(x.key) or {}).get("status") or "unknown" for x in mine]
        status = min(statuses, key=lambda st: order.index(st) if st in order else 2)
        uptimes = [
            sm.uptime_30d
            for sm in (summaries.get(x.key) for x in mine)
            if sm is not None and sm.uptime_30d is not None
        ]
        return BadgeView(
            status=cast(CheckStatus, status if status in BADGE_STATES else "unknown"),
            uptime_30d=min(uptimes) if uptimes else None,
        )

    def incident_timeline(self, incident_id: int, limit: int = 300) -> dict[str, Any] | None:
        """An incident with its evidence, notes and the check's results from a little before it
        opened until it resolved (or now), as one list in time order."""
        incident = self.incident(incident_id)
        if incident is None:
            return None
        start = incident["opened_at"] - evidence.LOOKBACK_S
        end = incident["resolved_at"] or time.time()
        r = t.check_results
        with self.store.connect() as conn:
            rows = conn.execute(
                select(r.c.ts, r.c.ok, r.c.response_time_ms, r.c.error_kind, r.c.error_message)
                .where(
                    r.c.check_name == incident["check"],
                    r.c.environment == (incident["environment"] or ""),
                    r.c.ts >= start,
                    r.c.ts <= end,
                )
                .order_by(desc(r.c.ts))
                .limit(limit)
            ).all()
        entries: list[dict[str, Any]] = [
            {
                "ts": row.ts,
                "type": "result",
                "ok": bool(row.ok),
                "text": "ok" if row.ok else _failure_text(row.error_kind, row.error_message),
                "response_time_ms": row.response_time_ms,
            }
            for row in rows
        ]
        entries += [
            {"ts": e.at, "type": "evidence", "kind": e.kind, "text": e.summary}
            for e in incident.evidence or []
        ]
        with self.store.connect() as conn:
            updates = incident_actions.updates_of(conn, [incident_id])[incident_id]
        entries += [
            {"ts": u["ts"], "type": "update", "text": f"{u['by']}: {u['text']}"} for u in updates
        ]
        entries += [
            {"ts": n.ts or 0.0, "type": "note", "text": f"{n.by}: {n.text}"} for n in incident.notes
        ]
        for entry in [
            *((incident["refs"] or {}).get("silences_before") or []),
            (incident["refs"] or {}).get("silence"),
        ]:
            if entry:
                entries.append(
                    {
                        "ts": entry.get("created_at") or incident["opened_at"],
                        "type": "silenced",
                        "text": silence_text(entry),
                    }
                )
        entries.append({"ts": incident["opened_at"], "type": "opened", "text": "incident opened"})
        if incident["resolved_at"]:
            entries.append(
                {"ts": incident["resolved_at"], "type": "resolved", "text": "incident resolved"}
            )
        entries.sort(key=lambda e: (e["ts"], e["type"] != "opened"))
        return {"incident": incident, "timeline": _collapse_results(entries)}

    # --- SLOs -------------------------------------------------------------------------------

    def _public_slos(
        self, shown: list[_Service], now: float
    ) -> dict[tuple[str, str], ServiceSloSummaryView]:
        """For the status page: per shown service, the SLO (``status_page: true``) of its member
        with the least error budget left."""
        specs = {c.name: c.slo for c in self.config.checks if c.slo and c.slo.status_page}
        wanted = {m.name for svc in shown for m in svc.members if m.name in specs}
        if not wanted:
            return {}
        with self.store.connect() as conn:
            found = slo_measure.statuses(conn, {n: specs[n] for n in wanted}, now)
        out: dict[tuple[str, str], ServiceSloSummaryView] = {}
        for svc in shown:
            mine = [
                found.get(m.key) or slo_measure.status_without_results(specs[m.name])
                for m in svc.members
                if m.name in specs
            ]
            if not mine:
                continue
            worst = min(
                mine, key=lambda st: 2.0 if st.budget_remaining is None else st.budget_remaining
            )
            out[(svc.environment, svc.name)] = ServiceSloSummaryView(
                objective=worst.objective,
                window_s=worst.window,
                budget_remaining=worst.budget_remaining,
            )
        return out

    def slo_statuses(self, name: str | None = None, now: float | None = None) -> dict[Key, SloView]:
        """The SLO of every target whose check has one (or of check ``name``): its error budget
        left and burn rates, measured from the stored results."""
        now = time.time() if now is None else now
        specs = {c.name: c.slo for c in self.config.checks if c.slo is not None}
        out: dict[Key, SloView] = {}
        if not specs:
            return out
        if name is not None:
            specs = {k: v for k, v in specs.items() if k == name}
        with self.store.connect() as conn:
            found = slo_measure.statuses(conn, specs, now)
        for x in self.targets:
            spec = specs.get(x.name)
            if spec is not None:
                measured = found.get(x.key) or slo_measure.status_without_results(spec)
                out[x.key] = SloView.model_validate(measured.as_dict())
        return out

    def service_slo_statuses(self, now: float | None = None) -> dict[Key, ServiceSloView]:
        """The SLO of every (service, environment) of ``services:`` with an ``slo``, over the
        results of all the service's checks."""
        now = time.time() if now is None else now
        members: dict[str, list[str]] = defaultdict(list)
        for c in self.config.checks:
            members[c.service or c.name].append(c.name)
        specs = {
            name: (svc.slo, members[name])
            for name, svc in self.config.services.items()
            if svc.slo is not None
        }
        if not specs:
            return {}
        with self.store.connect() as conn:
            found = slo_measure.service_statuses(conn, specs, now)
        out: dict[Key, ServiceSloView] = {}
        for x in self.targets:
            name = x.service or x.name
            if name in specs and (name, x.environment) not in out:
                measured = found.get((name, x.environment))
                if measured is None:
                    measured = slo_measure.status_without_results(specs[name][0])
                out[(name, x.environment)] = ServiceSloView.model_validate(
                    {"service": name, **measured.as_dict()}
                )
        return out

    # --- silences ---------------------------------------------------------------------------

    def silences(self, *, include_past: bool = False) -> list[SilenceView]:
        """The active silences (with ``include_past``, the ended ones too), newest first."""
        return [
            SilenceView.model_validate(row)
            for row in silence_store.listing(self.store, include_past=include_past)
        ]

    # --- metrics ---------------------------------------------------------------------------

    def metric_counts(self) -> dict[str, Any]:
        """The monitor's grouped counts for ``/metrics`` (open incidents by check, service,
        environment and kind; heartbeat pings), each one GROUP BY statement. The other areas'
        counts come from their read models (``web/metrics.py`` puts them together)."""
        i = t.incidents
        with self.store.connect() as conn:
            open_incidents: dict[tuple[str, str, str, str], int] = defaultdict(int)
            for target, env, kind, n in conn.execute(
                select(i.c.check_name, i.c.environment, i.c.kind, func.count())
                .where(i.c.status == "open")
                .group_by(i.c.check_name, i.c.environment, i.c.kind)
            ):
                check, service = check_and_service(self.config, target, kind)
                open_incidents[(check, service, env, kind)] += int(n)
            heartbeat_pings = int(
                conn.execute(select(func.coalesce(func.sum(t.heartbeats.c.pings), 0))).scalar() or 0
            )
        return {"open_incidents": open_incidents, "heartbeat_pings": heartbeat_pings}

    def latency_hours(self) -> list[tuple[str, str, float | None, float | None]]:
        """Per target, the last complete hour's p50 and p95 from ``check_hourly``."""
        h = t.check_hourly
        hour = int(time.time()) // 3600 * 3600 - 3600
        with self.store.connect() as conn:
            return [
                (a, b, p50, p95)
                for a, b, p50, p95 in conn.execute(
                    select(h.c.check_name, h.c.environment, h.c.p50_ms, h.c.p95_ms).where(
                        h.c.hour == hour
                    )
                )
            ]

    def _pings(self, keys: set[Key]) -> dict[Key, tuple[float | None, int]]:
        """Each heartbeat check's (check, environment) last ping and ping count."""
        if not keys:
            return {}
        hb = t.heartbeats
        query = select(hb.c.check_name, hb.c.environment, hb.c.last_ping, hb.c.pings).where(
            hb.c.check_name.in_(sorted({name for name, _ in keys}))
        )
        with self.store.connect() as conn:
            rows = conn.execute(query).all()
        return {
            (r.check_name, r.environment): (r.last_ping, int(r.pings or 0))
            for r in rows
            if (r.check_name, r.environment) in keys
        }

    def heartbeats(self, bound: tuple[str, int] | None = None) -> list[dict[str, Any]]:
        """Each heartbeat row with its ping URL; ``bound``: the (host, port) the running
        ``serve`` listens on, used instead of ``serve.host``/``serve.port`` (see PingBase)."""
        hb = t.heartbeats
        with self.store.connect() as conn:
            rows = conn.execute(select(hb).order_by(hb.c.check_name, hb.c.environment)).all()
        base = PingBase.of(self.config, bound)
        return [
            {
                "check": r.check_name,
                "environment": r.environment or None,
                "url": f"{base.url}/heartbeat/{r.token}",
                "curl": curl_line(f"{base.url}/heartbeat/{r.token}"),
                "base_configured": base.configured,
                "last_ping": r.last_ping,
                "pings": int(r.pings),
                "state": WAITING_LABEL if r.last_ping is None else "pinged",
            }
            for r in rows
        ]


def _service_pings(
    pinged: dict[Key, tuple[float | None, int]], members: list[TargetInfo]
) -> PingsView:
    """A heartbeat service's last ping (its checks' latest, in its environment) and how many
    pings came in."""
    known = [pinged[m.key] for m in members if m.key in pinged]
    last = [ts for ts, _ in known if ts is not None]
    return PingsView(last_ping=max(last) if last else None, count=sum(n for _, n in known))


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), UPTIME_DIGITS) if known else None


def silence_text(entry: dict[str, Any]) -> str:
    """How the dashboard words a silence recorded on an incident."""
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(entry.get("until") or 0)))
    held = len(entry.get("held") or [])
    text = f"silenced by {entry.get('by')} until {until}: {entry.get('reason')}"
    if held:
        text += f" ({held} notification{'s' if held != 1 else ''} held)"
    return text


def _failure_text(kind: str | None, message: str | None) -> str:
    """``failed: connection refused``, not ``failed: refused connection refused``: the error's
    kind is said only when its message does not already say it."""
    kind, message = (kind or "").strip(), (message or "").strip()
    if kind and message and kind.lower() in message.lower():
        kind = ""
    return " ".join(["failed:", *(x for x in (kind, message) if x)])


def _collapse_results(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results in a row that say the same thing (a check failing every 2 s for an hour) become
    one entry with ``count`` and ``until`` (the last one's time) and the last response time, so
    the timeline shows what changed, not 1,800 copies of one line."""
    out: list[dict[str, Any]] = []
    for entry in entries:
        last = out[-1] if out else None
        if (
            last is not None
            and entry["type"] == "result"
            and last["type"] == "result"
            and last["ok"] == entry["ok"]
            and last["text"] == entry["text"]
        ):
            last["count"] = int(last.get("count", 1)) + 1
            last["until"] = entry["ts"]
            last["response_time_ms"] = entry["response_time_ms"]
            continue
        out.append(dict(entry))
    return out


def _incident(
    m: Any,
    evidence: list[EvidenceView] | None = None,
    updates: list[dict[str, Any]] | None = None,
) -> IncidentView:
    end = m["resolved_at"] if m["resolved_at"] is not None else time.time()
    refs = m["refs"] if isinstance(m["refs"], dict) else {}
    fields: dict[str, Any] = {}
    if evidence is not None:
        fields["evidence"] = evidence
    if updates is not None:
        fields["updates"] = updates
    return IncidentView(
        id=int(m["id"]),
        check=m["check_name"],
        environment=m["environment"] or None,
        kind=m["kind"],
        severity=m.get("severity") or severity_of(m["kind"]),
        title=m.get("title"),
        status=m["status"],
        opened_at=m["opened_at"],
        resolved_at=m["resolved_at"],
        # never negative, whatever the clock or an old bug wrote
        duration_s=round(max(0.0, end - m["opened_at"]), 1),
        acknowledged_at=m["acknowledged_at"],
        acknowledged_by=m["acknowledged_by"],
        resolved_by=m["resolved_by"],
        last_error_kind=m["last_error_kind"],
        error_kinds=m["error_kinds"],
        failing_conditions=m["failing_conditions"],
        notes=[NoteView.model_validate(n) for n in m["notes"] or [] if isinstance(n, dict)],
        refs=m["refs"] if isinstance(m["refs"], dict) else None,
        manual=m["kind"] == "manual",
        postmortem=_postmortem(m["refs"]),
        silence=refs.get("silence"),
        suppressed_by=refs.get("suppressed_by"),
        **fields,
    )


def _postmortem(refs: Any) -> str | None:
    found = (refs or {}).get("postmortem") if isinstance(refs, dict) else None
    url = found.get("url") if isinstance(found, dict) else None
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
