"""The monitor's view models: what its read model (``monitor/read.py``) returns and the JSON API
sends for checks, incidents, silences and instances (``web/openapi.py`` documents these classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from prodshield.monitor.job_runs import JobRunView
from prodshield.monitor.overall import Headline
from prodshield.views import JSONObject, View

CheckStatus = Literal["up", "down", "degraded", "unknown", "waiting", "maintenance"]


# The check list holds every configured target (10,000 and more): its rows are TypedDicts, typed
# for mypy and documented by pydantic like the models, but built and encoded as plain dicts (a
# model per row cost 8x the CPU of the whole encoding, measured with benchmarks/web.py's list).
_CLOSED = ConfigDict(extra="forbid")

UptimeView = TypedDict("UptimeView", {"24h": float | None, "7d": float | None, "30d": float | None})
"""Percent of ok results per window (null: no results)."""
Uptime90View = TypedDict(
    "Uptime90View",
    {"24h": float | None, "7d": float | None, "30d": float | None, "90d": float | None},
)
UptimeView.__pydantic_config__ = Uptime90View.__pydantic_config__ = _CLOSED  # type: ignore[attr-defined]


@with_config(_CLOSED)
class LastResultView(TypedDict):
    ts: float
    ok: bool
    error_kind: str | None
    response_time_ms: float | None
    error: str | None


@with_config(_CLOSED)
class CheckView(TypedDict):
    """A configured check in one environment with its state, last result and uptime."""

    name: str
    environment: str | None
    type: str
    group: str
    status: CheckStatus
    consecutive_failures: int
    last_result: LastResultView | None
    uptime: UptimeView
    avg_response_time_ms_24h: float | None
    open_incident: int | None


class ChecksView(View):
    checks: list[CheckView]
    count: int
    generated_at: float


class ConditionValueView(View):
    """A condition and the value it saw (stored with the result)."""

    model_config = ConfigDict(extra="ignore")  # read from a JSON column: unknown keys dropped
    expr: str
    ok: bool
    actual: str | None


class ResultView(View):
    id: int
    ts: float
    ok: bool
    response_time_ms: float | None
    error_kind: str | None
    error: str | None
    conditions: list[ConditionValueView]
    location: str | None
    degraded: bool = False
    """A failure that is only degraded (it answered; only a certificate-expiry or response-time
    condition failed): not downtime, shown amber."""


class BurnRateView(View):
    long_s: float
    short_s: float
    threshold: float
    long: float | None
    short: float | None
    firing: bool
    enough_data: bool = Field(description="the long window holds enough results to judge")


class SloView(View):
    """An SLO's error budget and burn rates, measured from the stored results."""

    objective: float = Field(description="percent")
    window_s: float
    results: int
    failed: int
    budget_remaining: float | None = Field(
        description="share of the error budget left (1: untouched, below 0: overspent)"
    )
    firing: str | None
    burn_rates: list[BurnRateView]


class ServiceSloView(SloView):
    service: str


@with_config(_CLOSED)
class HourlyView(TypedDict):
    """One hour of a check's results (``hour``: epoch seconds); a plain dict, like the list's
    rows: the status page draws 90 days of these per service."""

    hour: int
    count: int
    failures: int
    avg_ms: float | None


@with_config(_CLOSED)
class DailyView(TypedDict):
    """One UTC day of a check's results (``day``: epoch seconds)."""

    day: int
    count: int
    failures: int
    degraded: int
    """Failures that were only degraded (a certificate close to expiry, a slow answer): not
    downtime, so ``uptime`` counts them as up."""
    uptime: float | None


@dataclass(frozen=True, slots=True)
class CheckCharts:
    """The dashboard's charts of one check in one environment (never in the API's JSON):
    response-time points (``monitor.series``) and the deploy markers drawn on them."""

    recent: list[Any]
    latency: list[Any]
    month: list[Any]
    deploys: list[Any]


class CheckEnvironmentView(View):
    environment: str | None
    status: CheckStatus
    consecutive_failures: int
    consecutive_successes: int
    last_result: LastResultView | None
    interval_s: float
    timeout_s: float
    uptime: Uptime90View
    avg_response_time_ms_24h: float | None
    open_incident: int | None
    slo: SloView | None
    service_slo: ServiceSloView | None
    recent_results: list[ResultView]
    hourly: list[HourlyView]
    daily: list[DailyView]
    charts: CheckCharts | None = Field(default=None, exclude=True)
    job: JobRunView | None = None
    """A heartbeat check's last job run (null for other checks and before a job reported)."""


class CheckDetailView(View):
    """One check, per environment, with its recent results and their condition values."""

    name: str
    type: str
    group: str
    description: str | None
    conditions: list[str]
    environments: list[CheckEnvironmentView]


class NoteView(View):
    """A note on an incident (stored in its JSON ``notes``)."""

    model_config = ConfigDict(extra="ignore")
    ts: float | None = None
    by: str | None = None
    text: str | None = None


class EvidenceView(View):
    kind: str
    at: float
    summary: str
    details: JSONObject


class IncidentView(View):
    """An incident (``evidence`` only on one incident, ``updates`` where updates are shown)."""

    id: int
    check: str
    environment: str | None
    kind: str = Field(
        description="down, degraded, certificate, heartbeat, flapping, manual, slo, ..."
    )
    severity: str = Field(description="info, low, medium, high or critical")
    title: str | None
    status: Literal["open", "resolved"]
    opened_at: float
    resolved_at: float | None
    duration_s: float
    acknowledged_at: float | None
    acknowledged_by: str | None
    resolved_by: str | None
    last_error_kind: str | None
    error_kinds: list[str] | None
    failing_conditions: list[str] | None
    notes: list[NoteView]
    refs: JSONObject | None = Field(description="links: GitHub issue, silence, post-mortem, ...")
    manual: bool = Field(description="opened by hand (`incident open`)")
    postmortem: str | None = Field(
        description="the post-mortem's URL, once linked on a resolved incident"
    )
    silence: JSONObject | None
    suppressed_by: Any = Field(description="the parent incident whose outage suppressed it")
    evidence: list[EvidenceView] | None = Field(
        default=None,
        description="one incident: what was known about its service (docs/monitor.md)",
    )
    job: JobRunView | None = Field(
        default=None,
        description="one incident of a heartbeat check: its job's last run and output's end",
    )
    updates: list[JSONObject] | None = None
    changed: bool | None = Field(
        default=None,
        description="ack and resolve only: false when it already was (the action changed nothing)",
    )
    message: str | None = Field(
        default=None, description="ack, note and resolve only: what the action did, in one line"
    )


class IncidentsView(View):
    incidents: list[IncidentView]


class SilenceView(View):
    id: int
    check: str | None = Field(description="null: every check")
    environment: str | None = Field(description="null: every one")
    reason: str
    by: str
    created_at: float
    until: float = Field(description="when it ends (epoch seconds)")
    ended_by: str | None
    active: bool
    ended_now: bool | None = Field(
        default=None, description="expire only: false when it had already ended"
    )


class SilencesView(View):
    silences: list[SilenceView]


class InstanceView(View):
    id: str
    hostname: str
    pid: int
    location: str | None
    started_at: float
    last_seen: float
    heartbeat_s: float
    state: Literal["live", "dead"]
    owned: int = Field(description="checks whose lease it holds")
    targets: int
    group: str | None

    @property
    def live(self) -> bool:
        return self.state == "live"


class InstancesView(View):
    instances: list[InstanceView]
    count: int
    live: int


class RunResultsView(View):
    results: list[JSONObject] = Field(description="the results of the run, one per environment")


# --- the status page ----------------------------------------------------------------------------


class ServiceSloSummaryView(View):
    """A service's SLO on the status page (``slo.status_page: true``): its member with the
    least error budget left."""

    objective: float = Field(description="percent")
    window_s: float
    budget_remaining: float | None = Field(
        description="share of the error budget left (1: untouched, below 0: overspent)"
    )


class PingsView(View):
    """A heartbeat service's pings: the last one's time (Unix seconds) and how many came in."""

    last_ping: float | None
    count: int


class ServiceView(View):
    """A service (a check's ``group``, else its name) in one environment on the status page:
    its state, its 90 days and its last results."""

    environment: str
    name: str
    status: CheckStatus = Field(description="never up while it has an open incident")
    open_incidents: int
    checks: list[str]
    descriptions: list[str] = Field(
        default_factory=list, description="its checks' `description`s (shown beside it), once each"
    )
    daily: list[DailyView]
    uptime: Uptime90View
    uptime_90d: float | None
    slo: ServiceSloSummaryView | None
    latency: list[Any] = Field(
        default_factory=list, exclude=True, description="response-time points (monitor.series)"
    )
    timed: bool = Field(
        default=True,
        exclude=True,
        description="has a check with a response time (not heartbeats only): its chart is drawn",
    )
    pings: PingsView | None = Field(
        default=None, exclude=True, description="heartbeats only: the pings, shown for a chart"
    )
    beats: list[Any] = Field(
        default_factory=list, exclude=True, description="the last results (monitor.series.Beat)"
    )


class ServicesView(View):
    """One page of the status page's services, problems first, with the headline and counts
    over every page."""

    services: list[ServiceView]
    total: int
    page: int
    pages: int
    environments: dict[str, int] = Field(description="services per environment")
    counts: dict[str, int] = Field(description="services per state")
    headline: Headline
    until: float = Field(description="the time the charts end (epoch seconds)")


class BadgeView(View):
    """What a badge shows: a check's (or an environment's) worst state and its lowest 30-day
    uptime."""

    status: CheckStatus
    uptime_30d: float | None = Field(description="percent (null: no results)")
