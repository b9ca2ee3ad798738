"""``logs:``, ``audit:``, ``chaos:``, ``serve:`` and ``retention:`` sections."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from prodshield.config.base import StrictModel
from prodshield.config.types import Duration, Size


class LogSource(StrictModel):
    name: str
    path: str
    """A file, a glob or a directory."""
    format: str = "auto"
    log_format: str | None = None
    """An nginx ``log_format`` string (``$remote_addr - $remote_user [$time_local] ...``): the
    source's layout, compiled to a parser (instead of ``format``)."""
    apache_format: str | None = None
    """An Apache ``LogFormat`` string (``%h %l %u %t \"%r\" %>s %b``), compiled likewise."""
    follow: bool = True
    follow_symlinks: bool = False
    """Follow a path that is (or becomes) a symlink leaving the source's directory. Off by
    default: a log line writer who can replace the file must not make ``serve`` read others."""
    environment: str | None = None
    silent_after: Duration | None = None
    """A finding when no line arrives for this long (default: learnt from the usual gaps)."""
    max_lines_per_hour: int | None = Field(default=None, ge=1)
    """Volume budget: a finding when the source grows by more lines than this in an hour."""
    max_bytes_per_hour: Size | None = None
    """Volume budget in bytes per hour (``500MB``)."""

    @model_validator(mode="after")
    def _one_layout(self) -> LogSource:
        if self.log_format is not None and self.apache_format is not None:
            raise ValueError("give log_format (nginx) or apache_format, not both")
        return self


class LogRule(StrictModel):
    """A user rule: lines matching ``pattern`` are a finding of ``kind``."""

    kind: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    pattern: str | None = None
    patterns: list[str] = Field(default_factory=list)
    severity: Literal["critical", "high", "medium", "low", "info"] = "medium"
    category: Literal["critical", "security", "performance"] = "critical"
    message: str | None = None
    """What the finding says (default: ``<kind>: <n> matching lines``)."""
    field: str | None = None
    """Match this parsed field (``path``, ``user_agent``...) instead of the message."""
    threshold: int = Field(default=1, ge=1)
    """Report only when at least this many lines match within ``window``."""
    window: Duration = 300.0

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            _check_regex(value)
        return value

    @field_validator("patterns")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        for p in value:
            _check_regex(p)
        return value

    @model_validator(mode="after")
    def _some_pattern(self) -> LogRule:
        if self.pattern is None and not self.patterns:
            raise ValueError("a rule needs a pattern")
        return self

    def all_patterns(self) -> list[str]:
        return ([self.pattern] if self.pattern is not None else []) + list(self.patterns)


def _check_regex(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None


class LogsConfig(StrictModel):
    sources: list[LogSource] = Field(default_factory=list)
    rules: list[LogRule] = Field(default_factory=list)
    """User rules, matched beside the shipped packs by ``logs scan``, ``logs digest`` and ``serve``."""
    digest_cron: str = "0 7 * * *"
    baseline: Duration = 7 * 86400.0
    slow_query_ms: float = 500.0
    slow_request_ms: float = 1000.0
    brute_force_failures: int = Field(default=10, ge=1)
    brute_force_window: Duration = 300.0
    http_auth_burst: int = Field(default=20, ge=1)
    http_5xx_burst: int = Field(default=5, ge=1)
    """5xx responses on one endpoint within ``http_5xx_window`` that make a burst."""
    http_5xx_window: Duration = 60.0
    error_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    error_rate_min_requests: int = Field(default=20, ge=1)
    alerts: list[str] | None = None
    window: Duration = 30.0
    """How often the service stores findings and the followed files' offsets (one transaction)."""
    max_lag: Duration = 300.0
    """``/readyz`` is degraded when a followed source is this far behind."""
    max_lag_bytes: Size = 64 * 1024 * 1024
    """... or this many bytes behind."""


class TlsTarget(StrictModel):
    host: str
    port: int = Field(default=443, ge=1, le=65535)
    servername: str | None = None


class AuditSecretsConfig(StrictModel):
    """``audit.secrets``: how `prodshield audit secrets` reads trees and what it keeps."""

    allow_paths: list[str] = Field(default_factory=list)
    """Glob patterns of files never reported (in addition to ``audit.exclude``)."""
    allow_rules: list[str] = Field(default_factory=list)
    """Secret rule ids never reported (in addition to ``audit.allow_rules``)."""
    include_tests: bool = False
    """Also report values under test/fixture directories (tests/, fixtures/, testdata/...)."""
    test_dirs: list[str] | None = None
    baseline: str | None = None
    """Baseline file of accepted fingerprints; only new findings are reported."""
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    git_history: bool = False


class AuditConfig(StrictModel):
    paths: list[str] = Field(default_factory=list)
    tls: list[TlsTarget] = Field(default_factory=list)
    fail_on: Literal["critical", "high", "medium", "low"] = "high"
    ca_file: str | None = None
    exclude: list[str] = Field(default_factory=list)
    allow_rules: list[str] = Field(default_factory=list)
    secrets: AuditSecretsConfig = Field(default_factory=AuditSecretsConfig)
    schedule: str | None = None
    """Cron expression for the periodic audit in ``prodshield serve``."""
    expiry_warn_days: float = Field(default=30.0, gt=0)
    expiry_critical_days: float = Field(default=7.0, gt=0)
    revocation: bool = False
    """Check OCSP/CRL (only against ``revocation_hosts``)."""
    revocation_hosts: list[str] = Field(default_factory=list)
    proc_environ: bool = False
    """Also read /proc/<pid>/environ of processes owned by the same user."""
    owner: str | int | None = None
    """Expected owner of sensitive files (default: the owner of the audited folder)."""
    timeout: Duration = 5.0
    baseline: str | None = None


class ToxicSpec(StrictModel):
    name: str | None = None
    type: str
    stream: Literal["upstream", "downstream", "both"] = "downstream"
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0)
    attributes: dict[str, float | int | bool] = Field(default_factory=dict)


class ProxySpec(StrictModel):
    name: str
    listen: str
    upstream: str
    enabled: bool = True
    toxics: list[ToxicSpec] = Field(default_factory=list)


class ChaosApi(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8474, ge=0, le=65535)


class ChaosConfig(StrictModel):
    api: ChaosApi = Field(default_factory=ChaosApi)
    proxies: list[ProxySpec] = Field(default_factory=list)


MIN_TOKEN_CHARS = 16


class ServeLimits(StrictModel):
    """Bounds on HTTP clients (docs/security.md): see ``prodshield.web.connections``."""

    header_timeout: Duration = Field(default=10.0, gt=0, le=600)
    """A connection must send a whole request within this long of opening (or of its previous
    response), else it is closed."""
    max_connections: int = Field(default=1000, ge=1)
    """Connections held at once (lowered at start to what the descriptor limit leaves after the
    checks' reserve)."""
    max_connections_per_client: int = Field(default=100, ge=1)
    """Connections held at once from one client address (trusted proxies count only overall)."""


class ServeConfig(StrictModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: str | None = None
    """The dashboard and API token; empty or absent: one is generated for each run. What is done
    with it is recorded as done by ``operator``."""
    users: dict[str, str] = Field(default_factory=dict)
    """Named tokens (name: token), e.g. ``{alice: "${ALICE_TOKEN}"}``: acknowledgements, notes and
    resolutions made with one (API or dashboard login) carry its name, on the incident and in the
    GitHub issue's comment."""
    public_url: str | None = None
    title: str = "Status"
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses or networks of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are
    believed (the client address for throttling, HTTPS for the Secure cookie)."""
    limits: ServeLimits = Field(default_factory=ServeLimits)

    @field_validator("token")
    @classmethod
    def _token(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None  # "${PRODSHIELD_TOKEN:-}" unset: generate one
        if len(v) < MIN_TOKEN_CHARS:
            raise ValueError(
                f"token is too short ({len(v)} characters; at least {MIN_TOKEN_CHARS}): generate "
                "one with `python -c 'import secrets; print(secrets.token_urlsafe(24))'`"
            )
        return v

    @field_validator("users")
    @classmethod
    def _users(cls, v: dict[str, str]) -> dict[str, str]:
        for name, secret in v.items():
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name):
                raise ValueError(
                    f"user name {name!r}: letters, digits, '-' and '_' only (at most 64)"
                )
            if len(secret or "") < MIN_TOKEN_CHARS:
                raise ValueError(
                    f"users.{name}: token is too short (at least {MIN_TOKEN_CHARS} characters)"
                )
        return v

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, v: list[str]) -> list[str]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return v


class ClusterConfig(StrictModel):
    """Several instances on one PostgreSQL store (docs/monitor.md, "Several instances")."""

    location: str | None = Field(default=None, min_length=1, max_length=128)
    """Where this instance probes from (overridden by --location / PRODSHIELD_LOCATION)."""
    heartbeat: Duration | None = Field(default=None, ge=0.1, le=60.0)
    """How often an instance renews its heartbeat and leases (default: from the shortest
    interval, between 0.25 s and 5 s); it is presumed dead after three missed ones."""


class RetentionConfig(StrictModel):
    """How long the store keeps each kind of row; ``serve`` applies it every ``every``."""

    raw_results: Duration = 30 * 86400.0
    """Raw check results (rolled up into hourly aggregates first)."""
    aggregates: Duration = 400 * 86400.0
    """Hourly aggregates of check results."""
    log_findings: Duration = 90 * 86400.0
    """Log findings, by when they were last seen."""
    log_counts: Duration = 90 * 86400.0
    """Hourly counts per log template."""
    journals: Duration = 365 * 86400.0
    """Chaos experiment journals and stored audit runs."""
    outbox: Duration = 30 * 86400.0
    """Delivered (and dead) notifications."""
    every: Duration = Field(default=600.0, ge=1.0)
    """How often ``serve`` applies retention."""
    batch: int = Field(default=2000, ge=10, le=100_000)
    """Rows deleted per transaction, so pruning never holds the store's write lock for long."""
    max_store_size: Size | None = None
    """A budget for the store (e.g. 20GB): past 80 % ``serve`` warns (``/readyz``, a notification);
    past 100 % raw results are pruned oldest hour first (down to one day) until it fits."""
