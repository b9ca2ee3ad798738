"""secret_in_log: the audit capability's secret rules (the shared engine) applied to log lines."""

from __future__ import annotations

from prodshield.logs.detectors.base import DetectorSettings, EventLike, register
from prodshield.logs.findings import Finding


class SecretInLogDetector:
    name = "secret_in_log"

    def __init__(self, settings: DetectorSettings) -> None:
        from prodshield.secrets import scan_line
        from prodshield.secrets.engine import Scanner, rule_set

        self._scan = (
            Scanner(rules=rule_set(settings.secret_rules)).scan_line
            if settings.secret_rules
            else scan_line
        )
        self._findings: dict[tuple[str, str], Finding] = {}

    def observe(self, event: EventLike) -> bool:
        text = getattr(event, "raw", None) or event.message or ""
        found = False
        for match in self._scan(text, path=event.source, lineno=event.line):
            key = (event.source, match.rule)
            finding = self._findings.get(key)
            if finding is None:
                finding = self._findings[key] = Finding(
                    "security",
                    "secret_in_log",
                    "critical" if match.severity == "critical" else "high",
                    source={"file": event.source, "rule": match.rule},
                    details={"lines": [], "redacted": []},
                    message=f"{match.kind} leaked into the log",
                )
            if len(finding.details["lines"]) < 20:
                finding.details["lines"].append(event.line)
                finding.details["redacted"].append(match.redacted)
            finding.add(event.timestamp, f"line {event.line}: {match.redacted}")
            found = True
        return found

    def findings(self) -> list[Finding]:
        return list(self._findings.values())


@register("secret_in_log")
def _factory(settings: DetectorSettings) -> SecretInLogDetector:
    return SecretInLogDetector(settings)
