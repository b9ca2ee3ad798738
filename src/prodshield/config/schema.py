"""The root model of ``shield.yaml``."""

from __future__ import annotations

from pydantic import Field, field_validator

from prodshield.config.alerting import EscalationLevel
from prodshield.config.base import StrictModel
from prodshield.config.capabilities import (
    AuditConfig,
    ChaosConfig,
    ClusterConfig,
    LogsConfig,
    RetentionConfig,
    ServeConfig,
)
from prodshield.config.checks import (
    CheckConfig,
    EnvironmentConfig,
    MaintenanceWindow,
    MonitorDefaults,
    ServiceConfig,
)
from prodshield.config.notifiers import NotifierConfig


class ShieldConfig(StrictModel):
    """The whole of ``shield.yaml``: every section is optional."""

    version: int = 1
    """The file format's version (1, the only one so far)."""

    @field_validator("version")
    @classmethod
    def _known_version(cls, v: int) -> int:
        # a file written for another format must not be read as if it were this one
        if v != 1:
            raise ValueError(f"{v} is not a format version this prodshield reads (it reads 1)")
        return v

    storage: str = Field(
        default="sqlite:///prodshield.db", examples=["postgresql://prodshield@db.internal/shield"]
    )
    """Where results, incidents, findings and the outbox are kept: ``sqlite:///FILE`` (relative
    to this file) or ``postgresql://...`` when several instances share one store."""
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    """How long the store keeps each kind of row."""
    defaults: MonitorDefaults = Field(default_factory=MonitorDefaults)
    """What every check inherits."""
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)
    """Environments by name (production, staging...): the variables their checks use."""
    checks: list[CheckConfig] = Field(default_factory=list)
    """The health checks the monitor runs."""
    services: dict[str, ServiceConfig] = Field(
        default_factory=dict, examples=[{"shop": {"slo": {"objective": 99.9, "window": "30d"}}}]
    )
    """Services by name (a name some check's ``service:`` has, or a check's name when it has
    none): an SLO over all their checks' results."""
    notifiers: dict[str, NotifierConfig] = Field(default_factory=dict)
    """Where notifications go, by name (checks' ``alerts`` name them)."""
    escalations: dict[str, list[EscalationLevel]] = Field(
        default_factory=dict,
        examples=[{"platform": [{"after": "15m", "notify": ["pagerduty"]}]}],
    )
    """Escalation policies by name: levels of notifiers paged when an incident is still
    unacknowledged after each level's ``after`` (checks and ``defaults`` name a policy)."""
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    """Planned work: no incident opens inside these windows."""
    logs: LogsConfig = Field(default_factory=LogsConfig)
    """Log intelligence."""
    audit: AuditConfig = Field(default_factory=AuditConfig)
    """The security and configuration audit."""
    chaos: ChaosConfig = Field(default_factory=ChaosConfig)
    """The fault proxy."""
    serve: ServeConfig = Field(default_factory=ServeConfig)
    """The long-lived service and its web pages."""
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    """Several instances on one PostgreSQL store."""
