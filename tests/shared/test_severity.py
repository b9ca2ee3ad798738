"""The one severity scale: every place that orders severities agrees with it."""

from __future__ import annotations

from prodshield.audit.finding import Severity as AuditSeverity
from prodshield.logs.findings import LogFinding, sort_findings
from prodshield.secrets.finding import SEVERITIES as SECRET_SEVERITIES
from prodshield.secrets.finding import SEVERITY_RANK
from prodshield.severity import RANK, SEVERITIES, worst_first


def test_the_scale_runs_from_info_to_critical() -> None:
    assert SEVERITIES == ("info", "low", "medium", "high", "critical")
    assert [worst_first(s) for s in ("critical", "high", "medium", "low", "info")] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert worst_first("bogus") > worst_first("info")


def test_audit_and_secrets_rank_on_the_same_scale() -> None:
    assert [AuditSeverity(s).rank for s in ("low", "medium", "high", "critical")] == [1, 2, 3, 4]
    assert AuditSeverity.HIGH.at_least(AuditSeverity.MEDIUM)
    assert not AuditSeverity.LOW.at_least(AuditSeverity.MEDIUM)
    assert tuple(s for s in SEVERITIES if s != "info") == SECRET_SEVERITIES
    assert all(SEVERITY_RANK[s] == RANK[s] for s in SECRET_SEVERITIES)


def test_log_findings_sort_worst_first() -> None:
    made = [
        LogFinding(category="errors", kind="k", severity=s, count=1, message=s)
        for s in ("low", "info", "critical", "medium", "high")
    ]
    assert [f.severity for f in sort_findings(made)] == [
        "critical",
        "high",
        "medium",
        "low",
        "info",
    ]
