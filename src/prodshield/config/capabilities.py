"""``logs:``, ``audit:``, ``chaos:``, ``serve:`` and ``retention:`` sections."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from prodshield.config.base import StrictModel, unread
from prodshield.config.types import Duration, Size


class LogSource(StrictModel):
    """One log to read: a file, a glob or a directory, in a known or detected format."""

    name: str = Field(examples=["nginx"])
    """The source's name, on its findings and templates."""
    path: str = Field(examples=["/var/log/nginx/access.log*"])
    """A file, a glob or a directory."""
    format: str = Field(default="auto", examples=["nginx"])
    """The lines' format: ``auto`` (detected from the first lines), ``nginx``, ``apache``,
    ``json``, ``logfmt``, ``syslog``, ``journald``, ``postgres``, ``mysql-slow``, ``python``,
    ``hdfs``, ``spark``, ``openstack``, ``logcat``, ``bgl``, ``cbs``, ``proxifier``,
    ``thunderbird``, ``hpc``, ``healthapp`` or ``raw`` (docs/logs.md, Formats)."""
    log_format: str | None = Field(
        default=None, examples=['$remote_addr - $remote_user [$time_local] "$request" $status']
    )
    """An nginx ``log_format`` string (``$remote_addr - $remote_user [$time_local] ...``): the
    source's layout, compiled to a parser (instead of ``format``)."""
    apache_format: str | None = Field(default=None, examples=['%h %l %u %t "%r" %>s %b'])
    """An Apache ``LogFormat`` string (``%h %l %u %t \"%r\" %>s %b``), compiled likewise."""
    follow: bool = Field(default=True, examples=[False])
    """``serve`` follows the source as it grows (off: read only by ``logs scan``/``digest``)."""
    follow_symlinks: bool = Field(default=False, examples=[True])
    """Follow a path that is (or becomes) a symlink leaving the source's directory. Off by
    default: a log line writer who can replace the file must not make ``serve`` read others."""
    environment: str | None = Field(default=None, examples=["production"])
    """The environment (a name under ``environments``) the source belongs to."""
    service: str | None = Field(default=None, min_length=1, max_length=255, examples=["shop"])
    """The service whose log this is (default: the source's name), as a check's ``service``."""
    silent_after: Duration | None = Field(default=None, examples=["15m"])
    """A finding when no line arrives for this long (default: learnt from the usual gaps)."""
    max_lines_per_hour: int | None = Field(default=None, ge=1, examples=[500000])
    """Volume budget: a finding when the source grows by more lines than this in an hour."""
    max_bytes_per_hour: Size | None = Field(default=None, examples=["500MB"])
    """Volume budget in bytes per hour (``500MB``)."""

    @model_validator(mode="after")
    def _one_layout(self) -> LogSource:
        if self.log_format is not None and self.apache_format is not None:
            raise ValueError("give log_format (nginx) or apache_format, not both")
        return self


class LogRule(StrictModel):
    """A user rule: lines matching ``pattern`` are a finding of ``kind``."""

    kind: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", examples=["payment_declined"]
    )
    """The finding's kind (its name in reports, the digest and the API)."""
    pattern: str | None = Field(default=None, examples=["payment .* declined"])
    """A regular expression (Python syntax) searched in each line's message."""
    patterns: list[str] = Field(
        default_factory=list, examples=[["card declined", "insufficient funds"]]
    )
    """More regular expressions; a line matching any of them counts."""
    severity: Literal["critical", "high", "medium", "low", "info"] = Field(
        default="medium", examples=["high"]
    )
    """The finding's severity (``critical`` ones notify from ``serve``)."""
    category: Literal["critical", "security", "performance"] = Field(
        default="critical", examples=["security"]
    )
    """The digest section the finding is listed in."""
    message: str | None = Field(default=None, examples=["payments are being declined"])
    """What the finding says (default: ``<kind>: <n> matching lines``)."""
    field: str | None = Field(default=None, examples=["user_agent"])
    """Match this parsed field (``path``, ``user_agent``...) instead of the message."""
    threshold: int = Field(default=1, ge=1, examples=[10])
    """Report only when at least this many lines match within ``window``."""
    window: Duration = Field(default=300.0, examples=["1m"])
    """The window ``threshold`` counts in."""
    group_by: str | None = Field(default=None, examples=["detail"])
    """A named group of the pattern whose value splits the findings: one finding, and one
    ``threshold`` count, per value (default: one per rule and file, whatever the groups hold)."""

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
        if self.group_by is not None and self.field is not None:
            raise ValueError("group_by: a rule on a field (field:) has no named groups to split by")
        if self.group_by is not None:
            groups = set().union(*(re.compile(p).groupindex for p in self.all_patterns()))
            if self.group_by not in groups:
                named = ", ".join(sorted(groups)) or "none"
                raise ValueError(
                    f"group_by: {self.group_by!r} is not a named group of the pattern "
                    f"(named groups: {named})"
                )
        return self

    def all_patterns(self) -> list[str]:
        return ([self.pattern] if self.pattern is not None else []) + list(self.patterns)


def _check_regex(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None


class LogsConfig(StrictModel):
    """Log intelligence: the sources ``serve`` follows and the detectors' thresholds."""

    sources: list[LogSource] = Field(default_factory=list)
    """The logs to read."""
    rules: list[LogRule] = Field(default_factory=list)
    """User rules, matched beside the shipped packs by ``logs scan``, ``logs digest`` and ``serve``."""
    digest_cron: str = Field(default="0 7 * * *", examples=["30 6 * * 1-5"])
    """When ``serve`` posts the daily digest (a cron expression, UTC)."""
    baseline: Duration = Field(default=7 * 86400.0, examples=["14d"])
    """The period before the window that trends (new and spiking templates, rates) compare
    against in ``logs digest`` and ``serve``'s daily digest; ``--baseline`` overrides it, and
    ``logs scan`` compares only when given ``--baseline``."""
    slow_query_ms: float = Field(default=500.0, gt=0, examples=[250])
    """A database query slower than this (milliseconds) is a slow query."""
    slow_request_ms: float = Field(default=1000.0, gt=0, examples=[2000])
    """A request slower than this (milliseconds) is a slow request."""
    brute_force_failures: int = Field(default=10, ge=1)
    """Failed logins from one address within ``brute_force_window`` that make a brute-force
    finding."""
    brute_force_window: Duration = Field(default=300.0, examples=["10m"])
    """The window ``brute_force_failures`` counts in."""
    http_auth_burst: int = Field(default=20, ge=1)
    """401/403 responses to one address within ``brute_force_window`` that make a burst."""
    http_5xx_burst: int = Field(default=5, ge=1)
    """5xx responses on one endpoint within ``http_5xx_window`` that make a burst."""
    http_5xx_window: Duration = Field(default=60.0, examples=["2m"])
    """The window ``http_5xx_burst`` counts in."""
    error_rate: float = Field(default=0.05, ge=0.0, le=1.0, examples=[0.02])
    """Share of 5xx responses on one endpoint (0 to 1) that makes an error-rate finding."""
    error_rate_min_requests: int = Field(default=20, ge=1)
    """Requests an endpoint needs before its error rate is judged."""
    detector_keys: int = Field(default=10_000, ge=100, examples=[50_000])
    """Distinct keys (source addresses, endpoints, queries, error templates) each detector tracks
    on its own per hour; beyond, new keys are folded into one finding per kind and file ("12,345
    failed logins from 98,765 other addresses"), so memory and each window's work stay flat when
    an attacker sprays addresses. Addresses that reach the brute-force threshold keep their own
    ``brute_force`` finding."""
    alerts: list[str] | None = Field(default=None, examples=[["ops"]])
    """Notifiers told about critical findings from ``serve`` (unset: all; empty: none)."""
    window: Duration = 30.0
    """How often the service stores findings and the followed files' offsets (one transaction)."""
    max_lag: Duration = 300.0
    """``/readyz`` is degraded when a followed source is this far behind."""
    max_lag_bytes: Size = 64 * 1024 * 1024
    """... or this many bytes behind."""
    partial_line_after: Duration | None = Field(default=5.0, examples=["30s"])
    """How long ``serve`` waits for the newline of a followed file's unfinished last line before
    it takes the line as it stands (``null``: until the file rotates or the line reaches 1 MiB)."""


class TlsTarget(StrictModel):
    """A live TLS endpoint the audit connects to."""

    host: str = Field(examples=["example.com"])
    """The host to connect to."""
    port: int = Field(default=443, ge=1, le=65535)
    """The port to connect to."""
    servername: str | None = Field(default=None, examples=["www.example.com"])
    """The name sent as SNI and checked in the certificate (default: ``host``)."""


class SecretRuleSpec(StrictModel):
    """A user secret rule: a token format of your own (internal API keys, partner tokens)."""

    id: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$", examples=["acme-api-key"]
    )
    """The rule id (reported as the finding's ``rule``; ``kind`` is the id with ``_`` for ``-``)."""
    pattern: str = Field(min_length=1, examples=["acme_[a-z0-9]{32}"])
    """A regular expression (Python syntax) matching the secret; a named group ``value`` marks
    the secret part when the match holds more (``token=(?P<value>...)``)."""
    keywords: list[str] = Field(default_factory=list, examples=[["acme_"]])
    """Literals a line must contain (any case) for the pattern to run: the prefilter that keeps
    scanning fast. Default: the pattern's literal start (at least 3 characters)."""
    min_entropy: float = Field(default=0.0, ge=0.0, le=8.0, examples=[3.5])
    """The least Shannon entropy (bits per character) a matched value needs; lower ones are
    placeholders (``acme_aaaa...``) and are dropped."""
    severity: Literal["critical", "high", "medium", "low"] = Field(
        default="high", examples=["critical"]
    )
    """The finding's severity."""
    description: str | None = Field(default=None, examples=["ACME partner API key"])
    """What the rule finds (shown in SARIF rule descriptions)."""

    @field_validator("id")
    @classmethod
    def _not_shipped(cls, value: str) -> str:
        # a duplicate among your own rules is a cross-check of the loader (it needs the list)
        from prodshield.secrets.rules import REGISTRY

        if value in REGISTRY:
            raise ValueError(f"secret rule id {value!r} is already taken by a shipped rule")
        return value

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        _check_regex(value)
        if re.compile(value).fullmatch(""):
            raise ValueError("the pattern matches an empty string: it would match every line")
        return value

    @field_validator("keywords")
    @classmethod
    def _lowercase(cls, value: list[str]) -> list[str]:
        if any(not k.strip() for k in value):
            raise ValueError("a keyword cannot be empty")
        return [k.lower() for k in value]

    @model_validator(mode="after")
    def _prefilter(self) -> SecretRuleSpec:
        if not self.keywords and len(literal_prefix(self.pattern)) < 3:
            raise ValueError(
                f"rule {self.id!r}: give keywords (the pattern has no literal start of 3 or "
                "more characters to prefilter lines with)"
            )
        return self

    def prefilter_keywords(self) -> tuple[str, ...]:
        return tuple(self.keywords) or (literal_prefix(self.pattern).lower(),)


def literal_prefix(pattern: str) -> str:
    """The literal text every match of `pattern` starts with ('' when there is none)."""
    if "|" in pattern:
        return ""  # an alternation may start anywhere
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            out.append(pattern[i + 1])
            i += 2
        elif char.isalnum() or char in "_-:/@=":
            out.append(char)
            i += 1
        else:
            break
    if i < len(pattern) and pattern[i] in "?*{" and out:
        out.pop()  # the last literal is optional or repeated
    return "".join(out)


class SecretVerifyConfig(StrictModel):
    """``audit.secrets.verify``: ask each provider whether the secrets found still work."""

    enabled: bool = Field(default=False, examples=[True])
    """Verify on every ``audit secrets`` run (as ``--verify``): each distinct secret of a provider
    with a read-only identity call (GitHub, GitLab, Slack, Stripe, OpenAI, SendGrid, npm) is sent
    once to that provider, and only the verdict (live, inactive, unverified) is kept."""
    timeout: float = Field(default=5.0, gt=0, le=60, examples=[3.0])
    """Seconds to wait for one provider's answer; no answer in time is ``unverified``."""
    concurrency: int = Field(default=4, ge=1, le=16, examples=[2])
    """Requests in flight at once."""
    max_secrets: int = Field(default=50, ge=1, le=1000, examples=[20])
    """Distinct secrets verified per run; the rest are ``unverified`` (not asked)."""
    base_urls: dict[str, str] = Field(
        default_factory=dict, examples=[{"gitlab": "https://gitlab.internal.example.com"}]
    )
    """A provider's API base URL when it is not the public one: a self-hosted GitLab, or a
    test stand-in. Keys are provider names (github, gitlab, slack, stripe, openai, sendgrid,
    npm); only shield.yaml can set them, so a secret goes nowhere the operator did not choose."""

    @field_validator("base_urls")
    @classmethod
    def _known_providers(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            return value  # nothing to check: the verifiers are not loaded
        from urllib.parse import urlsplit

        from prodshield.secrets.verifiers import REGISTRY

        for name, url in value.items():
            if name not in REGISTRY:
                raise ValueError(
                    f"unknown provider {name!r} (known: {', '.join(sorted(REGISTRY))})"
                )
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{name}: expected an http(s) URL with a host, not {url!r}")
            if parts.query or parts.fragment or parts.username or parts.password:
                raise ValueError(f"{name}: a base URL has no query, fragment or credentials")
        return value


class AuditSecretsConfig(StrictModel):
    """``audit.secrets``: how `prodshield audit secrets` reads trees and what it keeps."""

    allow_paths: list[str] = Field(default_factory=list, examples=[["docs/*.md"]])
    """Glob patterns of files whose secrets are never reported, by ``audit secrets`` and the full
    audit alike (in addition to ``audit.exclude``; what they hold is counted as suppressed)."""
    allow_rules: list[str] = Field(default_factory=list, examples=[["generic-password"]])
    """Secret rule ids never reported (in addition to ``audit.allow_rules``; counted as
    suppressed)."""
    include_tests: bool = Field(default=False, examples=[True])
    """Also report values under test/fixture directories (tests/, fixtures/, testdata/...)."""
    test_dirs: list[str] | None = Field(default=None, examples=[["tests", "fixtures"]])
    """Directory names that hold tests (replaces the default list: test, tests, testdata,
    fixtures, spec, mocks...)."""
    baseline: str | None = Field(default=None, examples=[".secrets.baseline.json"])
    """Baseline file of accepted fingerprints; only new findings are reported."""
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0, examples=[0.8])
    """Candidates less likely than this to be real secrets (0 to 1) are dropped."""
    git_history: bool = Field(default=False, examples=[True])
    """Also scan the lines added in the repository's git history."""
    rules: list[SecretRuleSpec] = Field(default_factory=list)
    """Your own secret formats, used beside the shipped rules by ``audit``, ``audit secrets``
    and the log scanners (``logs scan``, ``serve``)."""
    verify: SecretVerifyConfig = Field(default_factory=SecretVerifyConfig)
    """Live verification of the secrets found (opt-in)."""


class AuditConfig(StrictModel):
    """The security and configuration audit: what it reads and when it fails the gate."""

    paths: list[str] = Field(default_factory=list, examples=[[".", "/etc/nginx"]])
    """Files and directories to audit (default: the current directory)."""
    tls: list[TlsTarget] = Field(default_factory=list)
    """Live TLS endpoints whose certificates and protocols are checked."""
    fail_on: Literal["critical", "high", "medium", "low"] = Field(
        default="high", examples=["critical"]
    )
    """The gate: ``audit run`` exits 1 when a finding is at least this severe."""
    ca_file: str | None = Field(default=None, examples=["certs/internal-ca.pem"])
    """PEM file of the CA that signed the live endpoints' certificates (default: system store)."""
    exclude: list[str] = Field(default_factory=list, examples=[["node_modules/*", "*.min.js"]])
    """Glob patterns of files and directories never read."""
    allow_rules: list[str] = Field(default_factory=list, examples=[["config.debug-enabled"]])
    """Rule ids never reported (accepted risks)."""
    secrets: AuditSecretsConfig = Field(default_factory=AuditSecretsConfig)
    """How secrets are searched for."""
    schedule: str | None = Field(default=None, examples=["0 */6 * * *"])
    """Cron expression for the periodic audit in ``prodshield serve`` (default: hourly, when
    ``paths`` or ``tls`` is set)."""
    expiry_warn_days: float = Field(default=30.0, gt=0)
    """A certificate expiring within this many days is a medium finding."""
    expiry_critical_days: float = Field(default=7.0, gt=0)
    """... and within this many days, a critical one."""
    revocation: bool = Field(default=False, examples=[True])
    """Check OCSP/CRL (only against ``revocation_hosts``)."""
    revocation_hosts: list[str] = Field(default_factory=list, examples=[["ocsp.example-ca.com"]])
    """The OCSP and CRL hosts revocation checks may contact; no other host is asked."""
    proc_environ: bool = Field(default=False, examples=[True])
    """Also read /proc/<pid>/environ of processes owned by the same user."""
    owner: str | int | None = Field(default=None, examples=["www-data"])
    """Expected owner of sensitive files (default: the owner of the audited folder)."""
    timeout: Duration = Field(default=5.0, examples=["10s"])
    """How long one network check (a TLS handshake, an OCSP request) may take."""
    baseline: str | None = Field(default=None, examples=["audit-baseline.json"])
    """Baseline file of accepted findings (``audit run --write-baseline``); only new findings
    count."""


# A proxy's or toxic's name is one path segment of the chaos API (``/proxies/{name}``,
# ``/proxies/{name}/toxics/{toxic}``): Toxiproxy stores any name but cannot address one with a
# ``/``; we accept only names every client can put in a URL as is. Clients' default toxic names
# (``<type>_<stream>``, e.g. ``latency_downstream``) are such names.
_CHAOS_NAME = re.compile(r"[A-Za-z0-9_.-]{1,200}")


def chaos_name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot name a chaos ``what`` (proxy, toxic), or None when it can."""
    if _CHAOS_NAME.fullmatch(name) is None or name.strip(".") == "":
        shown = name if len(name) <= 60 else name[:60] + "..."
        return (
            f"invalid {what} name {shown!r}: use letters, digits, '-', '_' and '.'"
            " (not only dots, at most 200 characters)"
        )
    return None


def proxy_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a chaos proxy, or None when it can."""
    return chaos_name_problem(name, "proxy")


def toxic_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a toxic, or None when it can."""
    return chaos_name_problem(name, "toxic")


class ToxicSpec(StrictModel):
    """A fault the proxy applies from the start (docs/chaos-proxy.md lists the types)."""

    name: str | None = Field(default=None, examples=["slow-db"])
    """The toxic's name: letters, digits, ``-``, ``_`` and ``.`` (default: ``<type>_<stream>``)."""
    type: str = Field(examples=["latency"])
    """The toxic type: ``latency``, ``bandwidth``, ``slow_close``, ``timeout``, ``reset_peer``,
    ``slicer``, ``limit_data``, ``packet_loss``, ``http_status``, ``http_fail_first``, ``slow_headers`` or
    ``oversized_headers``."""
    stream: Literal["upstream", "downstream", "both"] = Field(
        default="downstream", examples=["upstream"]
    )
    """Which direction it acts on: toward the upstream, back to the client, or both."""
    toxicity: float = Field(default=1.0, ge=0.0, le=1.0, examples=[0.5])
    """The share of connections it applies to (0 to 1)."""
    attributes: dict[str, float | int | bool | str] = Field(
        default_factory=dict, examples=[{"latency": 200, "jitter": 50}]
    )
    """The type's settings, e.g. ``latency`` and ``jitter`` in milliseconds, or ``status`` and
    ``path`` for ``http_status``."""
    limit_time: int = Field(default=0, ge=0, examples=[30000])
    """Milliseconds after which the toxic removes itself (0: it stays)."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        problem = toxic_name_problem(v) if v else None  # unset or empty: the default name
        if problem is not None:
            raise ValueError(problem)
        return v


class ProxySpec(StrictModel):
    """A TCP proxy in front of a dependency, where faults are injected."""

    name: str = Field(examples=["postgres"])
    """The proxy's name in the API and in experiments: letters, digits, ``-``, ``_`` and ``.``."""
    listen: str = Field(examples=["127.0.0.1:25432"])
    """The ``host:port`` clients connect to instead of the dependency."""
    upstream: str = Field(examples=["127.0.0.1:5432"])
    """The dependency's ``host:port``."""
    enabled: bool = Field(default=True, examples=[False])
    """A disabled proxy is defined but does not listen."""
    toxics: list[ToxicSpec] = Field(default_factory=list)
    """Faults active from the start."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        problem = proxy_name_problem(v)
        if problem is not None:
            raise ValueError(problem)
        return v

    @field_validator("listen", "upstream")
    @classmethod
    def _host_port(cls, v: str) -> str:
        host, sep, port = v.strip().rpartition(":")
        if not sep or (":" in host and not host.startswith("[")):
            raise ValueError(f"{v!r} has no port: write host:port, e.g. 127.0.0.1:25432")
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{v!r}: the port must be a number from 0 to 65535")
        return v


class ChaosApi(StrictModel):
    """Where the proxy's Toxiproxy-compatible API listens (no authentication: keep it local)."""

    host: str = "127.0.0.1"
    """The API's address."""
    port: int = Field(default=8474, ge=0, le=65535)
    """The API's port (0: any free port)."""

    @property
    def url(self) -> str:
        """The URL its clients use (a wildcard address is reached on loopback)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"


class ScheduledExperiment(StrictModel):
    """A Chaos Toolkit experiment ``prodshield serve`` runs on a cron schedule (a game day), with
    the guardrails of ``chaos run -c``; its journals are on the dashboard and in the API."""

    name: str = Field(min_length=1, max_length=200, examples=["api-latency"])
    """The schedule's name (on its journals)."""
    file: str = Field(min_length=1, examples=["experiments/api-latency.yaml"])
    """The experiment file (JSON or YAML), relative to shield.yaml's folder; read at each run."""
    schedule: str = Field(examples=["0 10 * * 2"])
    """When it runs: a cron expression in ``tz`` (a sixth, last field counts seconds, e.g.
    ``* * * * * */30``; seconds first, Quartz's order, gets a warning). Runs are one at a time: one due while another runs starts after it;
    missed times are not caught up."""
    tz: str = Field(default="UTC", examples=["Europe/Paris"])
    """The time zone of ``schedule``."""
    env: str | None = Field(default=None, examples=["staging"])
    """The target environment: its open incidents stop the run (default: any environment's)."""
    force: bool = Field(default=False, examples=[True])
    """Run even while an incident is open (the journal's ``forced`` names the incidents)."""
    abort_on_checks: list[str] = Field(default_factory=list, examples=[["api", "api@staging"]])
    """Guardrail checks (``CHECK`` or ``CHECK@ENV``): one failing during the method aborts the
    run and plays its rollbacks, as ``chaos run --abort-on-check``."""
    guard_frequency: Duration = Field(default=5.0, gt=0, examples=["2s"])
    """How often the guardrail checks run during the method."""
    vars: dict[str, str | int | float | bool] = Field(
        default_factory=dict, examples=[{"base_url": "https://staging.example.com"}]
    )
    """Configuration values for the experiment, as ``chaos run --var``."""
    enabled: bool = Field(default=True, examples=[False])
    """A disabled schedule is kept but never runs."""

    @field_validator("schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(v):
            raise ValueError(f"{v!r} is not a cron expression (e.g. '0 10 * * 2')")
        return v

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (e.g. 'Europe/Paris', 'UTC')") from None
        return v


class ChaosConfig(StrictModel):
    """Chaos engineering: the fault proxy's API and its proxies."""

    api: ChaosApi = Field(default_factory=ChaosApi)
    """The proxy's API."""
    proxies: list[ProxySpec] = Field(default_factory=list)
    """The proxies created when ``chaos proxy`` starts."""
    experiments: list[ScheduledExperiment] = Field(default_factory=list)
    """Experiments ``prodshield serve`` runs on a schedule (names unique)."""

    @model_validator(mode="after")
    def _unique(self) -> ChaosConfig:
        names = [e.name for e in self.experiments]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"scheduled experiment names must be unique: {', '.join(dup)}")
        return self


MIN_TOKEN_CHARS = 16


class ServeLimits(StrictModel):
    """Bounds on HTTP clients (docs/security.md): see ``prodshield.web.connections``."""

    header_timeout: Duration = Field(default=10.0, gt=0, le=600)
    """A connection must send a whole request, head and body, within this long of opening (or of
    its previous response), else it is closed."""
    max_connections: int = Field(default=1000, ge=1)
    """Connections held at once (lowered at start to what the descriptor limit leaves after the
    checks' reserve)."""
    max_connections_per_client: int = Field(default=100, ge=1)
    """Connections held at once from one client address (trusted proxies count only overall)."""
    page_workers: int = Field(default=2, ge=1, le=64)
    """Threads rendering the heavy pages and API reads at once (the status page, dashboard, check
    pages, API lists, ``/metrics``); more do not render faster (Python runs one at a time) and
    slow the probes. Takes effect at the next start."""
    page_queue: int = Field(default=64, ge=0, le=10_000)
    """Page requests waiting for a worker at most; one more is answered ``503`` with
    ``Retry-After`` at once (as is one that waited 10 s), and ``/healthz`` and ``/readyz`` never
    wait behind them. Takes effect at the next start."""
    write_workers: int = Field(default=2, ge=1, le=64)
    """Threads running the write routes at once (acknowledge, notes, silences, deploy marks,
    heartbeat pings, subscriptions: every POST and DELETE); a store takes one writer at a time,
    so more only queue on its lock. Takes effect at the next start."""
    write_queue: int = Field(default=1000, ge=0, le=100_000)
    """Writes waiting for a worker at most (a burst of heartbeat pings waits its turn); one more,
    or one that waited 30 s, is answered ``503`` with ``Retry-After``. Takes effect at the next
    start."""


class SubscriptionsConfig(StrictModel):
    """Visitors of the status page subscribe to its incidents by webhook or email (double
    opt-in, an unsubscribe link in every message): docs/web.md, "Subscriptions"."""

    enabled: bool = Field(default=False, examples=[True])
    """Offer the subscribe form on the status page and ``POST /status/subscribe``."""
    email: str | None = Field(default=None, examples=["mail"])
    """The ``type: email`` notifier whose SMTP server sends subscribers' mail (its ``to`` is
    replaced by each subscriber's address); absent: no email subscriptions."""
    webhooks: bool = Field(default=True, examples=[False])
    """Accept webhook subscriptions (a JSON POST per message, signed with the subscription's
    own secret)."""
    allow_private_targets: bool = Field(default=False, examples=[True])
    """Deliver to webhook addresses on loopback, private, link-local or otherwise non-public
    networks. Off, such URLs are refused when subscribing and again at every delivery (the
    address is checked when it is connected to), so a visitor cannot make prodshield call into
    its own network."""
    max_subscribers: int = Field(default=1000, ge=1, le=100_000, examples=[5000])
    """Confirmed subscriptions kept at most (pending ones are bounded apart, by
    ``max_pending``, so unconfirmed requests never take a confirmed subscriber's place)."""
    max_pending: int = Field(default=200, ge=1, le=100_000, examples=[500])
    """Unconfirmed subscriptions kept at most at once: a bound on the confirmation messages a
    flood of subscribe requests can make prodshield send."""
    pending_ttl: Duration = Field(default=86400.0, ge=600, le=30 * 86400, examples=["48h"])
    """How long a subscription waits for its confirmation before it is forgotten (and its
    address may be asked again)."""
    during_silence: Literal["notify", "hold"] = Field(default="notify", examples=["hold"])
    """What subscribers hear while a silence covers an incident's check. ``notify`` (the
    default): they are told as usual, since a silence quiets the operators' pages, not the
    status page that shows the incident anyway. ``hold``: their messages follow the operators'
    notifiers, held while the silence lasts and sent when it ends if the incident is still
    open (one that resolved meanwhile is never announced)."""
    per_client_per_hour: int = Field(default=5, ge=1, le=1000, examples=[20])
    """Subscribe requests accepted from one client address an hour."""


class ServeConfig(StrictModel):
    """``prodshield serve``: the status page, dashboard, JSON API and ``/metrics``."""

    host: str = Field(default="127.0.0.1", examples=["0.0.0.0"])
    """The address the web server listens on."""
    port: int = Field(default=8080, ge=0, le=65535)
    """The port it listens on (0: any free port)."""
    token: str | None = Field(default=None, examples=["${PRODSHIELD_TOKEN}"])
    """The dashboard and API token; empty or absent: one is generated for each run. What is done
    with it is recorded as done by ``operator``."""
    users: dict[str, str] = Field(default_factory=dict, examples=[{"alice": "${ALICE_TOKEN}"}])
    """Named tokens (name: token), e.g. ``{alice: "${ALICE_TOKEN}"}``: acknowledgements, notes and
    resolutions made with one (API or dashboard login) carry its name, on the incident and in the
    GitHub issue's comment."""
    public_url: str | None = Field(default=None, examples=["https://status.example.com"])
    """The address users and jobs reach ``serve`` at (heartbeat URLs and links in
    notifications; default: ``http://host:port``)."""
    title: str = Field(default="Status", examples=["Acme status"])
    """The status page's title."""
    trusted_proxies: list[str] = Field(default_factory=list, examples=[["127.0.0.1", "10.0.0.0/8"]])
    """Addresses or networks of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are
    believed (the client address for throttling, HTTPS for the Secure cookie)."""
    limits: ServeLimits = Field(default_factory=ServeLimits)
    """Bounds on HTTP clients."""
    subscriptions: SubscriptionsConfig = Field(default_factory=SubscriptionsConfig)
    """Subscriptions to the status page's incidents (webhook, email)."""

    @field_validator("token")
    @classmethod
    def _token(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None or not v.strip():
            return None  # "${PRODSHIELD_TOKEN:-}" unset: generate one
        if len(v) < MIN_TOKEN_CHARS and not unread(info, "serve.token"):
            raise ValueError(
                f"token is too short ({len(v)} characters; at least {MIN_TOKEN_CHARS}): generate "
                "one with `python -c 'import secrets; print(secrets.token_urlsafe(24))'`"
            )
        return v

    @field_validator("users")
    @classmethod
    def _users(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for name, secret in v.items():
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", name):
                raise ValueError(
                    f"user name {name!r}: letters, digits, '-' and '_' only (at most 64)"
                )
            if len(secret or "") < MIN_TOKEN_CHARS and not unread(info, "serve.users"):
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

    location: str | None = Field(default=None, min_length=1, max_length=128, examples=["eu-west"])
    """Where this instance probes from (overridden by --location / PRODSHIELD_LOCATION)."""
    heartbeat: Duration | None = Field(default=None, ge=0.1, le=60.0, examples=["2s"])
    """How often an instance renews its heartbeat and leases (default: from the shortest
    interval, between 0.25 s and 5 s); it is presumed dead after three missed ones."""


class RetentionConfig(StrictModel):
    """How long the store keeps each kind of row; ``serve`` applies it every ``every``."""

    raw_results: Duration = Field(default=30 * 86400.0, gt=0)
    """Raw check results (rolled up into hourly aggregates first)."""
    aggregates: Duration = Field(default=400 * 86400.0, gt=0)
    """Hourly aggregates of check results."""
    log_findings: Duration = Field(default=90 * 86400.0, gt=0)
    """Log findings, by when they were last seen."""
    log_counts: Duration = Field(default=90 * 86400.0, gt=0)
    """Hourly counts per log template."""
    journals: Duration = Field(default=365 * 86400.0, gt=0)
    """Chaos experiment journals, stored audit runs and silences that ended this long ago."""
    outbox: Duration = Field(default=30 * 86400.0, gt=0)
    """Delivered (and dead) notifications."""
    every: Duration = Field(default=600.0, ge=1.0)
    """How often ``serve`` applies retention."""
    batch: int = Field(default=2000, ge=10, le=100_000)
    """Rows deleted per transaction, so pruning never holds the store's write lock for long."""
    max_store_size: Size | None = Field(default=None, examples=["20GB"])
    """A budget for the store (e.g. 20GB): past 80 % ``serve`` warns (``/readyz``, a notification);
    past 100 % raw results are pruned oldest hour first (down to one day) until it fits."""
