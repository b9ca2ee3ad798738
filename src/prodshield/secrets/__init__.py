"""The secret-matching engine shared by `audit` (files, trees, history) and `logs` (log lines).

Public API (implementation in the private-by-convention modules named after each concept):
`scan_line`, `scan_text`, `scan_paths`, `scan_git_history`, `redact`, `SecretFinding`, `Scanner`,
`SecretRule` (the protocol every member of `rules/` implements) and the rule `REGISTRY`.
"""

from prodshield.secrets.engine import Scanner, ScanSettings, scan_line, scan_text
from prodshield.secrets.files import ScanConfig, scan_paths
from prodshield.secrets.finding import SEVERITIES, SecretFinding, Severity, redact
from prodshield.secrets.rules import REGISTRY, RULES
from prodshield.secrets.rules.base import Candidate, LineContext, SecretRule

__all__ = [
    "REGISTRY",
    "RULES",
    "SEVERITIES",
    "Candidate",
    "LineContext",
    "ScanConfig",
    "ScanSettings",
    "Scanner",
    "SecretFinding",
    "SecretRule",
    "Severity",
    "redact",
    "scan_line",
    "scan_paths",
    "scan_text",
]
