"""``environments:``, ``defaults:``, ``checks:`` and ``maintenance:``: what the monitor probes.

Each check type has its own model, chosen by ``type:``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from prodshield.conditions.parser import parse_condition
from prodshield.config.alerting import SloConfig
from prodshield.config.base import StrictModel
from prodshield.config.types import Duration, Size, at_most

MAX_INTERVAL = 7 * 86400.0
"""The longest check interval (a check that runs less than weekly watches nothing)."""
MAX_TIMEOUT = 3600.0
"""The longest probe timeout (a probe hung for an hour has failed)."""


def _valid_condition(text: str) -> str:
    """Parse at load time so a bad condition is a located config error, not a 3 a.m. surprise."""
    parse_condition(text)
    return text


ConditionText = Annotated[str, AfterValidator(_valid_condition)]
"""A condition in Gatus's language, e.g. ``[STATUS] == 200``; parsed when the config loads."""


class ServiceConfig(StrictModel):
    """A service: every check whose ``service:`` (default: its name) is this name."""

    slo: SloConfig | None = Field(default=None, examples=[{"objective": 99.9, "window": "30d"}])
    """A service level objective over the results of all its checks in each environment: its
    error budget and burn rates on the API and ``/metrics`` (label ``service``); a firing
    burn-rate alert opens an ``slo`` incident on ``service:NAME``. Its ``status_page`` is not
    supported yet (a check's is)."""

    @model_validator(mode="after")
    def _no_status_page(self) -> ServiceConfig:
        if self.slo is not None and self.slo.status_page:
            raise ValueError(
                "slo.status_page is not supported on a service yet; set it on a check's slo"
            )
        return self


class EnvironmentConfig(StrictModel):
    """One environment (production, staging...): the values its checks fill in as ``{name}``."""

    vars: dict[str, str] = Field(
        default_factory=dict, examples=[{"base_url": "https://example.com"}]
    )
    """Variables a check of this environment uses as ``{name}`` in its URL, host, DSN..."""
    interval: Annotated[Duration | None, at_most(MAX_INTERVAL)] = Field(
        default=None, examples=["2m"]
    )
    """How often this environment's checks run; overrides the check's own ``interval`` (at
    most 7d)."""
    timeout: Annotated[Duration | None, at_most(MAX_TIMEOUT)] = Field(default=None, examples=["5s"])
    """Timeout of this environment's checks; overrides the check's own ``timeout`` (at most
    1h)."""
    labels: list[str] = Field(default_factory=list, examples=[["eu", "customer-facing"]])
    """Labels added, after the environment's name, to the labels of this environment's incident
    notifications (GitHub issue labels, Opsgenie tags)."""


class MonitorDefaults(StrictModel):
    """What every check inherits unless it (or its environment) says otherwise."""

    interval: Annotated[Duration, at_most(MAX_INTERVAL)] = Field(default=60.0, examples=["30s"])
    """How often each check runs (at most 7d)."""
    timeout: Annotated[Duration, at_most(MAX_TIMEOUT)] = Field(default=10.0, examples=["5s"])
    """How long one probe may take before it counts as failed (at most 1h)."""
    failure_threshold: int = Field(default=3, ge=1)
    """Consecutive failures that open an incident."""
    success_threshold: int = Field(default=2, ge=1)
    """Consecutive successes that resolve it."""
    concurrency: int = Field(default=1000, ge=1, examples=[200])
    """Probes in flight at once, at most."""
    flap_threshold: int = Field(default=6, ge=2)
    """Flaps (state changes out of a streak shorter than its threshold) within ``flap_window``
    that open one "flapping" incident instead of many."""
    flap_window: Duration = 3600.0
    """The window in which ``flap_threshold`` flaps are counted."""
    flap_stable: Duration = 600.0
    """A flapping incident resolves once the check has kept one state this long (and passes)."""
    remind_every: Duration | None = Field(default=None, examples=["4h"])
    """Remind on open incidents this often (off by default)."""
    escalation: str | None = Field(default=None, examples=["platform"])
    """The escalation policy (a name under ``escalations``) of every check that names none."""
    group_window: Duration | None = Field(default=None, examples=["30s"])
    """Incidents of one environment opening within this window of the first one send one
    grouped notification listing every check (its opening waits this long; off by default)."""


class CheckBase(StrictModel):
    """The keys every check has, whatever its ``type``."""

    name: str = Field(min_length=1, examples=["website"])
    """The check's name, unique in the file; incidents, the status page and the API use it."""
    environments: list[str] | None = Field(default=None, examples=[["production", "staging"]])
    """Run once per environment named here, with that environment's ``vars`` (unset: once, with
    no variables)."""
    interval: Annotated[Duration | None, at_most(MAX_INTERVAL)] = Field(
        default=None, examples=["30s"]
    )
    """How often it runs (default: ``defaults.interval``; an environment's ``interval`` wins;
    at most 7d)."""
    timeout: Annotated[Duration | None, at_most(MAX_TIMEOUT)] = Field(default=None, examples=["5s"])
    """How long one probe may take (default: ``defaults.timeout``; an environment's wins; at
    most 1h)."""
    conditions: list[ConditionText] = Field(
        default_factory=list, examples=[["[STATUS] == 200", "[RESPONSE_TIME] < 500"]]
    )
    """What must hold for a result to pass, in Gatus's condition language (docs/monitor.md);
    empty: the type's default (``[STATUS] < 400`` for http, connected for the others)."""
    failure_threshold: int | None = Field(default=None, ge=1, examples=[5])
    """Consecutive failures that open an incident (default: ``defaults.failure_threshold``)."""
    success_threshold: int | None = Field(default=None, ge=1, examples=[1])
    """Consecutive successes that resolve it (default: ``defaults.success_threshold``)."""
    alerts: list[str] | None = Field(default=None, examples=[["github", "ops"]])
    """Notifiers (names under ``notifiers``) told about its incidents (unset: all of them; an
    empty list: none)."""
    remind_every: Duration | None = Field(default=None, examples=["4h"])
    """Remind on its open incidents this often (default: ``defaults.remind_every``)."""
    escalation: str | None = Field(default=None, examples=["platform"])
    """Its escalation policy (a name under ``escalations``; default: ``defaults.escalation``;
    ``null``: none): an incident still unacknowledged after each level's ``after`` pages that
    level too."""
    slo: SloConfig | None = Field(default=None, examples=[{"objective": 99.9, "window": "30d"}])
    """A service level objective on its results: the remaining error budget on the dashboard,
    the API and ``/metrics``; multi-window burn-rate alerts open ``slo`` incidents."""
    depends_on: list[str] = Field(default_factory=list, examples=[["database"]])
    """Checks this one depends on: while one of them has an open incident in the same
    environment, an incident of this check is suppressed (recorded, naming the parent, and
    notified to no one) and listed in the parent's notifications."""
    enabled: bool = Field(default=True, examples=[False])
    """A disabled check stays in the file but never runs."""
    group: str | None = Field(default=None, examples=["storefront"])
    """The group the status page and the API show it under (default: its name)."""
    description: str | None = Field(default=None, examples=["The public home page"])
    """A sentence shown beside the check on the status page and in the API."""
    service: str | None = Field(default=None, min_length=1, max_length=255, examples=["shop"])
    """The service this check watches (default: the check's name): deploy markers of the same
    service are drawn on its charts and named in its incidents."""
    locations: int | None = Field(default=None, ge=1, le=32, examples=[3])
    """Run from this many locations at once (several instances, each with a ``location``); the
    check counts as failing only when ``quorum`` of them agree (docs/monitor.md)."""
    quorum: int | None = Field(default=None, ge=1, le=32, examples=[2])
    """Failing locations that make the check fail (default: a majority of ``locations``)."""

    @model_validator(mode="after")
    def _quorum_within_locations(self) -> CheckBase:
        if self.quorum is not None:
            if self.locations is None:
                raise ValueError("quorum needs locations: N")
            if self.quorum > self.locations:
                raise ValueError(f"quorum {self.quorum} is more than locations {self.locations}")
        return self

    @property
    def needed_failures(self) -> int:
        """How many failing locations make the check fail."""
        if self.quorum is not None:
            return self.quorum
        return (self.locations or 1) // 2 + 1


class HttpCheckConfig(CheckBase):
    """An HTTP(S) request; conditions see ``[STATUS]``, ``[BODY]``, ``[RESPONSE_TIME]``,
    ``[CERTIFICATE_EXPIRATION]``..."""

    type: Literal["http"]
    url: str = Field(examples=["{base_url}/healthz"])
    """The URL to request; ``{name}`` is filled from the environment's ``vars``."""
    method: str = Field(default="GET", examples=["POST"])
    """The HTTP method."""
    headers: dict[str, str] = Field(
        default_factory=dict, examples=[{"Authorization": "Bearer ${API_TOKEN}"}]
    )
    """Request headers (their values are hidden by ``config show``)."""
    body: str | None = Field(default=None, examples=['{"ping": true}'])
    """The request body."""
    follow_redirects: bool = Field(default=True, examples=[False])
    """Follow 3xx responses (``[STATUS]`` is then the last response's)."""
    max_redirects: int = Field(default=10, ge=0)
    """Redirects followed at most."""
    verify_tls: bool = Field(default=True, examples=[False])
    """Check the server certificate; turn off only for a lab server."""
    ca_file: str | None = Field(default=None, examples=["certs/internal-ca.pem"])
    """PEM file of the CA that signed the server certificate (default: the system store)."""
    client_cert: str | None = Field(default=None, examples=["certs/client.pem"])
    """PEM client certificate, for servers that ask for one (mutual TLS)."""
    client_key: str | None = Field(default=None, examples=["certs/client.key"])
    """The client certificate's private key (default: in ``client_cert``)."""
    ip_version: Literal[4, 6] | None = Field(default=None, examples=[6])
    """Connect over IPv4 or IPv6 only (default: either)."""
    max_body: Size = Field(default=1024 * 1024, examples=["256KiB"])
    """The response body read at most (what ``[BODY]`` conditions see)."""


class TcpCheckConfig(CheckBase):
    """A TCP connection, optionally sending a line and expecting an answer."""

    type: Literal["tcp"]
    host: str = Field(examples=["{db_host}"])
    """The host to connect to."""
    port: int = Field(ge=1, le=65535, examples=[5432])
    """The port to connect to."""
    send: str | None = Field(default=None, examples=["PING\\r\\n"])
    """Text written once connected (``\\r\\n`` escapes allowed)."""
    expect: str | None = Field(default=None, examples=["+PONG"])
    """Text the answer must contain."""


class TlsCheckConfig(CheckBase):
    """A TLS handshake: the certificate's validity and expiry (``[CERTIFICATE_EXPIRATION]``)."""

    type: Literal["tls"]
    host: str = Field(examples=["example.com"])
    """The host to connect to."""
    port: int = Field(default=443, ge=1, le=65535)
    """The port to connect to."""
    servername: str | None = Field(default=None, examples=["www.example.com"])
    """The name sent as SNI and checked in the certificate (default: ``host``)."""
    ca_file: str | None = Field(default=None, examples=["certs/internal-ca.pem"])
    """PEM file of the CA that signed the certificate (default: the system store)."""
    verify_tls: bool = Field(default=True, examples=[False])
    """Check the certificate chain and name; off: only expiry is observed."""


class DnsCheckConfig(CheckBase):
    """A DNS query; conditions see the answers."""

    type: Literal["dns"]
    query: str = Field(examples=["example.com"])
    """The name to resolve."""
    record: Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS"] = Field(default="A", examples=["MX"])
    """The record type asked for."""
    resolver: str | None = Field(default=None, examples=["1.1.1.1:53"])
    """The resolver, ``host`` or ``host:port`` (default: the system's)."""


class PostgresCheckConfig(CheckBase):
    """A PostgreSQL connection and one query."""

    type: Literal["postgres"]
    dsn: str = Field(examples=["postgresql://monitor:${PG_PASSWORD}@{db_host}:5432/app"])
    """The connection string (its password is hidden by ``config show``)."""
    query: str = Field(default="SELECT 1", examples=["SELECT count(*) FROM pg_stat_activity"])
    """The query run once connected."""


class RedisCheckConfig(CheckBase):
    """A Redis connection and PING; optionally its replication role."""

    type: Literal["redis"]
    url: str = Field(default="redis://127.0.0.1:6379/0", examples=["redis://{cache_host}:6379/0"])
    """The server's URL (``rediss://`` for TLS)."""
    role: Literal["master", "slave", "replica"] | None = Field(default=None, examples=["master"])
    """The replication role the server must have (``slave`` and ``replica`` are the same)."""


class HeartbeatCheckConfig(CheckBase):
    """A job that pings prodshield (``/heartbeat/<token>``, ``/start``, ``/fail``, ``/<exit
    code>``); a late ping, a failure signal or a run that never finishes fails the check."""

    type: Literal["heartbeat"]
    period: Duration | None = Field(default=None, examples=["24h"])
    """How often the job pings (or give ``schedule``)."""
    schedule: str | None = Field(default=None, examples=["0 3 * * *"])
    """When the job runs, as a cron expression in ``tz`` (instead of ``period``): the check
    fails when a run due by then has not pinged success within ``grace``."""
    tz: str | None = Field(default=None, examples=["Europe/Paris"])
    """The time zone of ``schedule`` (default: UTC)."""
    grace: Duration = Field(default=60.0, examples=["1h"])
    """How late a ping may be before the check fails; also how long a started run (``/start``)
    may take before it counts as hung."""

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None:
            from croniter import croniter

            if not croniter.is_valid(v):
                raise ValueError(f"{v!r} is not a cron expression (e.g. '0 3 * * *')")
        return v

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {v!r} (e.g. 'Europe/Paris', 'UTC')") from None
        return v

    @model_validator(mode="after")
    def _not_probed(self) -> HeartbeatCheckConfig:
        if self.locations is not None:
            raise ValueError("a heartbeat check is pinged, not probed: locations do not apply")
        if (self.period is None) == (self.schedule is None):
            raise ValueError("give either period (e.g. 24h) or schedule (e.g. '0 3 * * *')")
        if self.tz is not None and self.schedule is None:
            raise ValueError("tz applies to schedule only")
        return self


def _capture_source(text: str) -> str:
    from prodshield.conditions.parser import parse_placeholder

    parse_placeholder(text)
    return text


CaptureSource = Annotated[str, AfterValidator(_capture_source)]
"""What a step captures: a placeholder with its path, e.g. ``[BODY].token``."""


class SequenceStep(StrictModel):
    """One HTTP request of a ``type: sequence`` check."""

    name: str = Field(min_length=1, examples=["login"])
    """The step's name; a failure names it (``step 2 (get-orders): ...``)."""
    method: str = Field(default="GET", examples=["POST"])
    """The HTTP method."""
    url: str = Field(examples=["{base_url}/api/orders"])
    """The URL; ``{name}`` is an environment variable, ``{captures.NAME}`` a value an earlier
    step captured."""
    headers: dict[str, str] = Field(
        default_factory=dict, examples=[{"Authorization": "Bearer {captures.token}"}]
    )
    """Request headers; ``{captures.NAME}`` is filled in as in ``url``."""
    body: str | None = Field(default=None, examples=['{"user": "probe"}'])
    """The request body; ``{captures.NAME}`` is filled in as in ``url``."""
    conditions: list[ConditionText] = Field(
        default_factory=list, examples=[["[STATUS] == 200", "has([BODY].token) == true"]]
    )
    """What must hold for this step to pass (empty: ``[STATUS] < 400``)."""
    capture: dict[str, CaptureSource] = Field(
        default_factory=dict, examples=[{"token": "[BODY].token"}]
    )
    """Values later steps use as ``{captures.NAME}``: NAME -> a placeholder read from this
    step's response (``[BODY].path``, ``[HEADER].name``, ``[STATUS]``). Captured values are
    masked in results and notifications."""

    @field_validator("capture")
    @classmethod
    def _capture_names(cls, v: dict[str, str]) -> dict[str, str]:
        import re

        for key in v:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"capture name {key!r} must be a word (letters, digits, _)")
        return v


class SequenceCheckConfig(CheckBase):
    """Ordered HTTP steps (log in, take the token, call the API); each step has its own
    conditions, and one result names the step that failed. Check-level conditions see the last
    step's response and ``[RESPONSE_TIME]``, the whole sequence's time."""

    type: Literal["sequence"]
    steps: list[SequenceStep] = Field(
        examples=[
            [
                {
                    "name": "login",
                    "method": "POST",
                    "url": "{base_url}/login",
                    "capture": {"token": "[BODY].token"},
                },
                {
                    "name": "get-orders",
                    "url": "{base_url}/api/orders",
                    "headers": {"Authorization": "Bearer {captures.token}"},
                    "conditions": ["[STATUS] == 200"],
                },
            ]
        ]
    )
    """The requests, run in order; the first failing step ends the run."""
    verify_tls: bool = Field(default=True, examples=[False])
    """Check the server certificates; turn off only for a lab server."""
    ca_file: str | None = Field(default=None, examples=["certs/internal-ca.pem"])
    """PEM file of the CA that signed the server certificates (default: the system store)."""
    follow_redirects: bool = Field(default=True, examples=[False])
    """Follow 3xx responses in every step."""
    max_body: Size = Field(default=1024 * 1024, examples=["256KiB"])
    """The response body read at most, per step."""

    @field_validator("steps")
    @classmethod
    def _some_steps(cls, v: list[SequenceStep]) -> list[SequenceStep]:
        if not v:
            raise ValueError("a sequence needs at least one step")
        names = [s.name for s in v]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"step name {name!r} is used twice")
        return v


CheckConfig = Annotated[
    HttpCheckConfig
    | TcpCheckConfig
    | TlsCheckConfig
    | DnsCheckConfig
    | PostgresCheckConfig
    | RedisCheckConfig
    | HeartbeatCheckConfig
    | SequenceCheckConfig,
    Field(discriminator="type"),
]


class MaintenanceWindow(StrictModel):
    """A recurring (``cron`` + ``duration``) or fixed (``start``/``end``) window, in UTC."""

    name: str | None = Field(default=None, examples=["sunday-patching"])
    """A name for the window, for whoever reads the file."""
    cron: str | None = Field(default=None, examples=["0 3 * * 0"])
    """When a recurring window starts (a cron expression, UTC)."""
    duration: Duration | None = Field(default=None, examples=["1h"])
    """How long a recurring window lasts."""
    start: datetime | None = Field(default=None, examples=["2026-03-01T02:00:00Z"])
    """When a one-off window starts (ISO 8601; UTC unless it says otherwise)."""
    end: datetime | None = Field(default=None, examples=["2026-03-01T04:00:00Z"])
    """When a one-off window ends."""
    environments: list[str] | None = Field(default=None, examples=[["production"]])
    """Only these environments are in maintenance (unset: all)."""
    checks: list[str] | None = Field(default=None, examples=[["website", "database"]])
    """Only these checks are in maintenance (unset: all)."""
    description: str | None = Field(
        default=None, examples=["Database upgrade: checkout may be unavailable for a few minutes"]
    )
    """What the public status page says about the work, while it runs and before it starts."""
    announce: Duration = Field(default=7 * 86400.0, examples=["3d"])
    """How long before it starts the status page announces the window (``0s``: never ahead)."""

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None:
            from croniter import croniter

            if not croniter.is_valid(v):
                raise ValueError(f"{v!r} is not a cron expression (e.g. '0 3 * * 0')")
        return v

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceWindow:
        if self.cron is not None and self.duration is None:
            raise ValueError("a cron window needs a duration (e.g. duration: 1h)")
        if self.cron is None and (self.start is None or self.end is None):
            raise ValueError("give either cron + duration, or start + end")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self
