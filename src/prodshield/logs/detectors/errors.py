"""error_logged: events logged at error level or worse, grouped by template (what failed, how often).

The rule packs name the failures they know; this detector makes sure nothing logged as an error
goes unreported, one finding per template and source file. It is the fallback: a line another
detector already reported (a database connection failure, a traceback, a 5xx response) is not
reported again here (``fallback = True``: the scan runs it last, on unclaimed lines only).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from prodshield.logs.detectors.base import (
    DetectorSettings,
    Distinct,
    EventLike,
    Gate,
    folded_finding,
    folded_findings,
)
from prodshield.logs.findings import RAW_SAMPLE, LogFinding
from prodshield.logs.repeats import repeats
from prodshield.text import clip

ERROR_LEVELS = {
    "error",
    "err",
    "critical",
    "crit",
    "fatal",
    "emerg",
    "emergency",
    "alert",
    "severe",
    "panic",
}
_CLIENT = re.compile(r"\[client ([0-9a-fA-F:.]+)(?::\d+)?\]")
_NUMBERS = re.compile(r"\d+")


class ErrorLoggedDetector:
    type = "error_logged"
    example: ClassVar[dict[str, Any]] = {
        "format": "python",
        "lines": [
            "2024-03-12 10:15:32,118 ERROR payments: charge declined by the bank for order 42"
        ],
        "finds": "error_logged",
    }
    fallback = True

    def __init__(self, settings: DetectorSettings) -> None:
        self._findings: dict[tuple[str, str], LogFinding] = {}
        self.max_keys = settings.max_keys
        self._folded: dict[tuple[str, str], Distinct] = {}
        """Per file, past ``max_keys`` findings: the templates folded into one finding."""
        self.emptied: list[LogFinding] = []
        """Findings :meth:`retract` took every line from (since the scan last asked)."""

    def gate(self) -> Gate:
        """Events logged at an error level."""
        return Gate(levels=frozenset(ERROR_LEVELS))

    def observe(self, event: EventLike) -> bool:
        level = (event.level or "").lower()
        if level not in ERROR_LEVELS:
            return False
        template = (
            getattr(event, "template", None) or _NUMBERS.sub("<*>", event.message or "")[:200]
        )
        from prodshield.logs.detectors.redaction import redact_line

        key = (event.source, template)
        finding = folded_finding(
            self._findings,
            self._folded,
            self.max_keys,
            key,
            (event.source, "\0others"),
            template,
            lambda: LogFinding(
                "critical",
                "error_logged",
                "medium",
                source={"file": event.source, "others": "templates"},
                details={"clients": {}},
            ),
        )
        if finding is None:
            severity = (
                "high"
                if level in ("critical", "crit", "fatal", "emerg", "emergency", "alert", "panic")
                else "medium"
            )
            finding = self._findings[key] = LogFinding(
                "critical",
                "error_logged",
                severity,
                source={"file": event.source, "template": template},
                details={"clients": {}},
                message=clip(redact_line(f"logged at {level}: {template}"), 500),
            )
        n = repeats(event)  # "last message repeated 5 times" after an error: 5 more
        m = _CLIENT.search(event.message or "")
        client = (event.fields or {}).get("client_ip") or (m.group(1) if m else None)
        if client:
            clients = finding.details["clients"]
            if len(clients) < 20 or client in clients:
                clients[client] = clients.get(client, 0) + n
        full = len(finding.samples) >= 3  # kept samples are redacted when the finding is sealed
        sample = None if full else (getattr(event, "raw", None) or event.message)
        finding.add(event.timestamp, sample, n)
        return True

    def retract(self, event: EventLike, n: int = 1) -> None:
        """Give back ``n`` counts of ``event``, a line this detector counted that a rule took
        since (a ``logs.rules`` rule reached its threshold: the lines it held under it are its
        burst's). A finding left with none is dropped, and listed in ``emptied`` (the service
        deletes its stored row)."""
        key = _key(event)
        if key not in self._findings:
            key = (event.source, "\0others")  # folded past logs.detector_keys
        finding = self._findings.get(key)
        if finding is None:
            return
        finding.count -= n
        m = _CLIENT.search(event.message or "")
        client = (event.fields or {}).get("client_ip") or (m.group(1) if m else None)
        clients = finding.details.get("clients") or {}
        if client in clients:
            clients[client] -= n
            if clients[client] <= 0:
                del clients[client]
        sample = clip(str(getattr(event, "raw", None) or event.message), RAW_SAMPLE)
        if sample in finding.samples:  # (as kept until sealed)
            finding.samples.remove(sample)
        if finding.count <= 0:
            del self._findings[key]
            self._folded.pop(key, None)
            self.emptied.append(finding)

    def adopt(self, old: ErrorLoggedDetector, events: list[EventLike]) -> list[LogFinding]:
        """Go on with ``old``'s findings that counted ``events`` (lines a rule holds under its
        threshold across the service's epoch: if its burst forms, they are given back here, as
        in one ``logs scan``). Returns the findings carried."""
        out = []
        for event in events:
            key = _key(event)
            if key not in old._findings:
                key = (event.source, "\0others")
            finding = old._findings.get(key)
            if finding is None or key in self._findings:
                continue
            self._findings[key] = finding
            if key in old._folded:
                self._folded[key] = old._folded[key]
            out.append(finding)
        return out

    def findings(self) -> list[LogFinding]:
        return folded_findings(self._findings, self._folded, self.max_keys, _folded_message)


def _key(event: EventLike) -> tuple[str, str]:
    """The finding (file, template) that counts ``event``."""
    template = getattr(event, "template", None) or _NUMBERS.sub("<*>", event.message or "")[:200]
    return (event.source, template)


def _folded_message(finding: LogFinding, others: Distinct) -> str:
    # the finding that holds the templates past logs.detector_keys
    lines = "line" if finding.count == 1 else "lines"
    templates = others.say("template", "templates")
    return f"{finding.count:,} {lines} logged at error or worse, {templates}"
