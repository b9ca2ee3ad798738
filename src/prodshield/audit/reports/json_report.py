"""JSON: ``{"findings": [{family, rule, severity, title, path, line, target, message, fix,
fingerprint}], "summary": {...}, "skipped": [...]}``."""

from __future__ import annotations

import json

from prodshield.audit.finding import Severity
from prodshield.audit.scan import AuditReport


def render(report: AuditReport, fail_on: Severity) -> str:
    return json.dumps(report.to_dict(fail_on), indent=2) + "\n"
