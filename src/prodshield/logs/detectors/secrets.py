"""secret_in_log: the audit capability's secret rules (the shared engine) applied to log lines.

One finding per rule across every file scanned (its fingerprint never depended on the file), and
inside it one entry per secret with every place it was seen (``file:line``): the same token in
two logs is one leak in two places, as in ``audit secrets --log`` (docs/secrets.md, "Where is
this secret live"). Secrets are told apart by the engine's keyed ``secret_id``, never by value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from prodshield.logs.detectors.base import DetectorSettings, EventLike, Found, Gate
from prodshield.logs.findings import LogFinding

MAX_SECRETS = 20
"""Secrets listed per finding (more are counted, not listed)."""
MAX_PLACES = 20
"""Places listed per secret (more are counted)."""


class SecretInLogDetector:
    type = "secret_in_log"
    example: ClassVar[dict[str, Any]] = {
        "format": "logfmt",
        "lines": [
            'time=2024-03-12T10:15:32Z level=info msg="calling partner" password=Wq8zR2mVt5xKp0L'
        ],
        "finds": "secret_in_log",
    }

    def __init__(self, settings: DetectorSettings) -> None:
        from prodshield.secrets import scan_line
        from prodshield.secrets.engine import Scanner, default_scanner, rule_set

        scanner = (
            Scanner(rules=rule_set(settings.secret_rules))
            if settings.secret_rules
            else default_scanner()
        )
        self.scanner = scanner
        """The engine this detector scans with (its prefilter picks candidate lines)."""
        self._keywords: tuple[str, ...] = tuple(scanner.keywords)
        self._rules_of: dict[str, set[int]] = {}
        """A literal (lower case, as the block gate names it) -> the scanner's rules it wakes."""
        for kw, rules in zip(scanner.keywords, scanner.rules_by_keyword, strict=True):
            self._rules_of.setdefault(kw.lower(), set()).update(rules)
        self._scan = scanner.scan_line if settings.secret_rules else scan_line
        self._findings: dict[str, LogFinding] = {}
        # rule -> secret id -> its index in the finding's details["secrets"] (an index, not the
        # entry: a finding sealed between windows gets new lists and dicts)
        self._secrets: dict[str, dict[str, int]] = {}
        self._kinds: dict[str, str] = {}

    def gate(self) -> Gate | None:
        """Lines holding one of the rules' literals (the scanner's own prefilter)."""
        if not all(k.isascii() for k in self._keywords):
            return None
        return Gate(
            literals=self._keywords, narrowed=tuple(self.scanner.prefilter_patterns.items())
        )

    def observe(self, event: EventLike) -> bool:
        text = getattr(event, "raw", None) or event.message or ""
        return self._record(event, self._scan(text, path=event.source, lineno=event.line))

    def observe_found(self, event: EventLike, found: Found) -> bool:
        """``observe``, told the literals the line holds by the block gate: only the rules they
        wake run (none: the line is not looked at again)."""
        raw = getattr(event, "raw", None)
        held = found.raw if raw else found.message
        if not held:
            return False
        rules_of = self._rules_of
        indexes = {i for kw in held for i in rules_of.get(kw, ())}
        if not indexes:
            return False
        text = raw or event.message or ""
        matches = self.scanner.scan_line(
            text, path=event.source, lineno=event.line, lower=text.lower(), rule_indexes=indexes
        )
        return self._record(event, matches)

    def _record(self, event: EventLike, matches: Iterable[Any]) -> bool:
        found = False
        for match in matches:
            finding = self._findings.get(match.rule)
            if finding is None:
                finding = self._findings[match.rule] = LogFinding(
                    "security",
                    "secret_in_log",
                    "critical" if match.severity == "critical" else "high",
                    source={"file": event.source, "rule": match.rule},
                    details={"files": [], "secrets": [], "more_secrets": 0},
                    message=f"{match.kind} leaked into the log",
                )
                self._secrets[match.rule] = {}
                self._kinds[match.rule] = match.kind
            if match.severity == "critical":
                finding.severity = "critical"
            files = finding.details["files"]
            if event.source not in files and len(files) < MAX_PLACES:
                files.append(event.source)
            self._place(finding, match, f"{event.source}:{event.line}")
            finding.add(event.timestamp, f"{event.source}:{event.line}: {match.redacted}")
            found = True
        return found

    def _place(self, finding: LogFinding, match: Any, place: str) -> None:
        known = self._secrets[match.rule]
        sid = match.secret_id or match.fingerprint
        listed = finding.details["secrets"]
        if sid not in known:
            if len(known) >= MAX_SECRETS:
                finding.details["more_secrets"] += 1
                return
            known[sid] = len(listed)
            listed.append({"secret": match.redacted, "count": 0, "places": []})
        entry = listed[known[sid]]
        entry["count"] += 1
        if place not in entry["places"] and len(entry["places"]) < MAX_PLACES:
            entry["places"].append(place)

    def findings(self) -> list[LogFinding]:
        for finding in self._findings.values():
            finding.message = describe(self._kinds[finding.source["rule"]], finding.details)
        return list(self._findings.values())


LEAKED = " leaked into the log"


def describe(kind: str, details: dict[str, Any]) -> str:
    """The finding's message: how many secrets, and where each of the first three was seen."""
    secrets = details["secrets"]
    n = len(secrets) + details["more_secrets"]
    where = "; ".join(
        f"{s['secret']} at {', '.join(s['places'])}"
        + (f" ({s['count']} times)" if s["count"] > len(s["places"]) else "")
        for s in secrets[:3]
    )
    word = "secret" if n == 1 else "secrets"
    return f"{kind}{LEAKED}: {n} {word}, every place listed: {where}"


def carry_places(
    before: dict[str, Any], message: str, now: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """The details and message of a finding that goes on after a restart: the secrets and places
    stored before it (``before``) first, then those seen since (``now``), bounded as ever, so
    "every place listed" still lists them. A secret is told apart by its redacted text here
    (its keyed id is not stored)."""
    listed = [{**s, "places": list(s.get("places", []))} for s in before.get("secrets", [])]
    at = {s["secret"]: i for i, s in enumerate(listed)}
    more = int(before.get("more_secrets", 0)) + int(now.get("more_secrets", 0))
    for s in now.get("secrets", []):
        if s["secret"] not in at:
            if len(listed) >= MAX_SECRETS:
                more += 1
                continue
            at[s["secret"]] = len(listed)
            listed.append({"secret": s["secret"], "count": 0, "places": []})
        entry = listed[at[s["secret"]]]
        entry["count"] += s["count"]
        for place in s["places"]:
            if place not in entry["places"] and len(entry["places"]) < MAX_PLACES:
                entry["places"].append(place)
    files = list(before.get("files", []))
    files += [f for f in now.get("files", []) if f not in files][: max(0, MAX_PLACES - len(files))]
    details = {**now, "files": files, "secrets": listed, "more_secrets": more}
    return details, describe(message.partition(LEAKED)[0], details)
