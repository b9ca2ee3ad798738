"""The root model of ``shield.yaml``."""

from __future__ import annotations

from pydantic import Field

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
)
from prodshield.config.notifiers import NotifierConfig


class ShieldConfig(StrictModel):
    version: int = 1
    storage: str = "sqlite:///prodshield.db"
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    defaults: MonitorDefaults = Field(default_factory=MonitorDefaults)
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)
    checks: list[CheckConfig] = Field(default_factory=list)
    notifiers: dict[str, NotifierConfig] = Field(default_factory=dict)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    logs: LogsConfig = Field(default_factory=LogsConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    chaos: ChaosConfig = Field(default_factory=ChaosConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
