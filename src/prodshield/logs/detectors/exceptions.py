"""Unhandled exceptions: Python tracebacks and Java stack traces, grouped by type and top frame."""

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
from prodshield.logs.findings import LogFinding
from prodshield.text import clip

TRACEBACK = "Traceback (most recent call last)"
_PY_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
_PY_EXC = re.compile(
    r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Fault))(?::\s*(.*))?$", re.M
)
_JAVA_EXC = re.compile(
    r"(?:^|Exception in thread \"[^\"]*\" |Caused by: )((?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable))(?::\s*(.*))?",
    re.M,
)
_JAVA_FRAME = re.compile(r"^\s*at ((?:[\w$]+\.)+[\w$<>]+)\(([^)]*)\)", re.M)


class ExceptionDetector:
    type = "unhandled_exception"
    example: ClassVar[dict[str, Any]] = {
        "format": "python",
        "lines": [
            "2024-03-12 10:15:32,118 ERROR app: request failed",
            "Traceback (most recent call last):",
            '  File "/app/views.py", line 12, in pay',
            "    total = amount / count",
            "ZeroDivisionError: division by zero",
        ],
        "finds": "unhandled_exception",
    }

    def __init__(self, settings: DetectorSettings) -> None:
        self._findings: dict[tuple[str, str, str], LogFinding] = {}
        self.max_keys = settings.max_keys
        self._folded: dict[tuple[str, str, str], Distinct] = {}
        """Per file, past ``max_keys`` findings: the (exception, frame) pairs folded into one."""

    def gate(self) -> Gate:
        """The markers ``observe`` looks for."""
        return Gate(literals=(TRACEBACK, "\tat ", "\n    at ", "Exception in thread"))

    def observe(self, event: EventLike) -> bool:
        text = event.message or ""
        if TRACEBACK in text:
            frames = _PY_FRAME.findall(text)
            excs = _PY_EXC.findall(text)
            if not excs:
                return False
            exc_type = excs[-1][0]
            top = f"{frames[-1][0]}:{frames[-1][1]} in {frames[-1][2]}" if frames else "?"
        elif (
            "\tat " in text
            or "\n    at " in text
            or "\n\tat " in text
            or "Exception in thread" in text
        ):
            m = _JAVA_EXC.search(text)
            if not m:
                return False
            exc_type = m.group(1)
            frame = _JAVA_FRAME.search(text)
            top = f"{frame.group(1)}({frame.group(2)})" if frame else "?"
        else:
            return False
        key = (event.source, exc_type, top)
        finding = folded_finding(
            self._findings,
            self._folded,
            self.max_keys,
            key,
            (event.source, "\0others", ""),
            f"{exc_type}\0{top}",
            lambda: LogFinding(
                "critical",
                "unhandled_exception",
                "high",
                source={"file": event.source, "others": "exceptions"},
            ),
        )
        if finding is None:
            finding = self._findings[key] = LogFinding(
                "critical",
                "unhandled_exception",
                "high",
                source={"file": event.source, "exception": exc_type, "frame": top},
                message=f"{exc_type} at {clip(top, 500)}",
            )
        sample = None
        if len(finding.samples) < 3:  # redacted when the finding is sealed
            sample = text.splitlines()[-1] if text else ""
        finding.add(event.timestamp, sample)
        return True

    def findings(self) -> list[LogFinding]:
        return folded_findings(self._findings, self._folded, self.max_keys, _folded_message)


def _folded_message(finding: LogFinding, others: Distinct) -> str:
    # the finding that holds the places (exception and top frame) past logs.detector_keys
    exceptions = "exception" if finding.count == 1 else "exceptions"
    places = others.say("place", "places")
    return f"{finding.count:,} unhandled {exceptions} at {places} (exception and top frame)"
