"""JSON: ``{"findings": [{family, rule, severity, title, path, line, target, message, fix,
fingerprint}], "summary": {...}, "skipped": [...]}``; a file name that is not UTF-8 as U+FFFD
in ``path``, with ``path_uri`` (its exact bytes, percent-encoded) beside it (`text.json_ready`)."""

from __future__ import annotations

from prodshield.audit.finding import Severity
from prodshield.audit.scan import AuditReport
from prodshield.text import dumps_json


def render(report: AuditReport, fail_on: Severity) -> str:
    return dumps_json(report.to_dict(fail_on)) + "\n"  # a name that is not UTF-8: path_uri
