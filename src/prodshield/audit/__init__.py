"""Security and configuration audit: the post-deploy gate.

``audit(paths, config=..., families=..., tls_targets=..., ca_file=...)`` returns an
:class:`AuditReport`; ``render(report, "sarif")`` formats it; rules live in ``rules/<family>/``.
"""

from prodshield.audit.context import AuditSettings, TlsTarget
from prodshield.audit.finding import AuditFinding, Severity
from prodshield.audit.reports import FORMATS, render
from prodshield.audit.scan import AuditReport, audit, parse_families, settings_from_config

__all__ = [
    "FORMATS",
    "AuditFinding",
    "AuditReport",
    "AuditSettings",
    "Severity",
    "TlsTarget",
    "audit",
    "parse_families",
    "render",
    "settings_from_config",
]
