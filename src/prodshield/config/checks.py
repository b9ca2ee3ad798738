"""``environments:``, ``defaults:``, ``checks:`` and ``maintenance:``: what the monitor probes.

Each check type has its own model, chosen by ``type:``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from prodshield.conditions.parser import parse_condition
from prodshield.config.base import StrictModel
from prodshield.config.types import Duration, Size


def _valid_condition(text: str) -> str:
    """Parse at load time so a bad condition is a located config error, not a 3 a.m. surprise."""
    parse_condition(text)
    return text


ConditionText = Annotated[str, AfterValidator(_valid_condition)]
"""A condition in Gatus's language, e.g. ``[STATUS] == 200``; parsed when the config loads."""


class EnvironmentConfig(StrictModel):
    vars: dict[str, str] = Field(default_factory=dict)
    interval: Duration | None = None
    timeout: Duration | None = None
    labels: list[str] = Field(default_factory=list)


class MonitorDefaults(StrictModel):
    interval: Duration = 60.0
    timeout: Duration = 10.0
    failure_threshold: int = Field(default=3, ge=1)
    success_threshold: int = Field(default=2, ge=1)
    concurrency: int = Field(default=1000, ge=1)
    flap_threshold: int = Field(default=6, ge=2)
    """Flaps (state changes out of a streak shorter than its threshold) within ``flap_window``
    that open one "flapping" incident instead of many."""
    flap_window: Duration = 3600.0
    flap_stable: Duration = 600.0
    """A flapping incident resolves once the check has kept one state this long (and passes)."""
    remind_every: Duration | None = None
    """Remind on open incidents this often (off by default)."""


class CheckBase(StrictModel):
    name: str = Field(min_length=1)
    environments: list[str] | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    conditions: list[ConditionText] = Field(default_factory=list)
    failure_threshold: int | None = Field(default=None, ge=1)
    success_threshold: int | None = Field(default=None, ge=1)
    alerts: list[str] | None = None
    remind_every: Duration | None = None
    enabled: bool = True
    group: str | None = None
    description: str | None = None
    locations: int | None = Field(default=None, ge=1, le=32)
    """Run from this many locations at once (several instances, each with a ``location``); the
    check counts as failing only when ``quorum`` of them agree (docs/monitor.md)."""
    quorum: int | None = Field(default=None, ge=1, le=32)
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
    type: Literal["http"]
    url: str
    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    follow_redirects: bool = True
    max_redirects: int = Field(default=10, ge=0)
    verify_tls: bool = True
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    ip_version: Literal[4, 6] | None = None
    max_body: Size = 1024 * 1024


class TcpCheckConfig(CheckBase):
    type: Literal["tcp"]
    host: str
    port: int = Field(ge=1, le=65535)
    send: str | None = None
    expect: str | None = None


class TlsCheckConfig(CheckBase):
    type: Literal["tls"]
    host: str
    port: int = Field(default=443, ge=1, le=65535)
    servername: str | None = None
    ca_file: str | None = None
    verify_tls: bool = True


class DnsCheckConfig(CheckBase):
    type: Literal["dns"]
    query: str
    record: Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS"] = "A"
    resolver: str | None = None


class PostgresCheckConfig(CheckBase):
    type: Literal["postgres"]
    dsn: str
    query: str = "SELECT 1"


class RedisCheckConfig(CheckBase):
    type: Literal["redis"]
    url: str = "redis://127.0.0.1:6379/0"
    role: Literal["master", "slave", "replica"] | None = None


class HeartbeatCheckConfig(CheckBase):
    type: Literal["heartbeat"]
    period: Duration
    grace: Duration = 60.0

    @model_validator(mode="after")
    def _not_probed(self) -> HeartbeatCheckConfig:
        if self.locations is not None:
            raise ValueError("a heartbeat check is pinged, not probed: locations do not apply")
        return self


CheckConfig = Annotated[
    HttpCheckConfig
    | TcpCheckConfig
    | TlsCheckConfig
    | DnsCheckConfig
    | PostgresCheckConfig
    | RedisCheckConfig
    | HeartbeatCheckConfig,
    Field(discriminator="type"),
]


class MaintenanceWindow(StrictModel):
    """A recurring (``cron`` + ``duration``) or fixed (``start``/``end``) window, in UTC."""

    name: str | None = None
    cron: str | None = None
    duration: Duration | None = None
    start: datetime | None = None
    end: datetime | None = None
    environments: list[str] | None = None
    checks: list[str] | None = None

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
