"""Brute force: many authentication failures from one source within a window, and the worse case
of a success after them. Fed by the rule pack's auth_failure/invalid_user/auth_success matches and
by HTTP 401/403 responses in access logs."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime
from typing import Any, ClassVar

from prodshield.logs.detectors.base import DetectorSettings, EventLike, Gate, field_str
from prodshield.logs.findings import RAW_SAMPLE, LineSet, LogFinding
from prodshield.text import plural

FAILURE_KINDS = {"auth_failure", "invalid_user"}


class _Source:
    """Failures from one source. One attempt is logged several ways (sshd: "Invalid user", pam
    "authentication failure", "Failed password"), so each way is counted on its own and the
    source's attempts are the largest of those counts, never their sum."""

    def __init__(self) -> None:
        self.windows: dict[str, deque[float]] = defaultdict(deque)
        self.counts: dict[str, int] = defaultdict(int)
        self.peaks: dict[str, int] = defaultdict(int)
        self.users: dict[str, int] = {}
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.samples: list[str] = []
        self.success_user: str | None = None
        self.lines = LineSet()
        """Every failure's line (in the source's file), each once."""
        self.peak = 0
        """The largest of ``peaks`` (kept as they grow: every window asks it of every source)."""

    @property
    def failures(self) -> int:
        return max(self.counts.values(), default=0)

    @property
    def max_in_window(self) -> int:
        return self.peak


class BruteForceDetector:
    type = "brute_force"
    example: ClassVar[dict[str, Any]] = {
        "format": "nginx",
        "lines": [
            f'203.0.113.9 - - [12/Mar/2024:10:15:{i:02d} +0000] "POST /login HTTP/1.1" 401 64 "-" "curl/8.5"'
            for i in range(25)
        ],
        "finds": "brute_force",
    }

    def __init__(self, settings: DetectorSettings) -> None:
        self.threshold = settings.brute_force_failures
        self.window_s = settings.brute_force_window_s
        self.http_burst = settings.http_auth_burst
        self.sources: dict[tuple[str, str], _Source] = defaultdict(_Source)
        self.http: dict[tuple[str, str], _Source] = defaultdict(_Source)
        self._seq = 0.0

    def _clock(self, event: EventLike) -> float:
        self._seq += 1.0
        return event.timestamp.timestamp() if event.timestamp else self._seq

    def on_rule(
        self, event: EventLike, rule: Any, ip: str | None, user: str | None, index: int = 0
    ) -> None:
        """Listener for the rule pack's security matches."""
        if not ip:
            return
        key = (event.source, str(ip))
        if rule.kind in FAILURE_KINDS:
            self._fail(self.sources[key], event, user, f"{rule.kind}:{index}")
        elif rule.kind == "auth_success":
            src = self.sources.get(key)
            if src is not None and src.max_in_window >= self.threshold and src.success_user is None:
                src.success_user = user or "?"

    def _fail(self, src: _Source, event: EventLike, user: str | None, signal: str) -> None:
        now = self._clock(event)
        window = src.windows[signal]
        window.append(now)
        while window and window[0] < now - self.window_s:
            window.popleft()
        src.counts[signal] += 1
        src.lines.add(event.line)
        src.peaks[signal] = max(src.peaks[signal], len(window))
        if len(window) > src.peak:
            src.peak = len(window)
        if user and (len(src.users) < 50 or user in src.users):
            src.users[user] = src.users.get(user, 0) + 1
        if event.timestamp:
            src.first = src.first or event.timestamp
            src.last = event.timestamp
        if len(src.samples) < 3:
            # redacted when the finding is sealed (``LogFinding.seal``)
            src.samples.append((getattr(event, "raw", None) or event.message)[:RAW_SAMPLE])

    def gate(self) -> Gate:
        """HTTP responses (401/403); the rule pack's matches come through ``on_rule``."""
        return Gate(fields=frozenset(("status",)))

    def observe(self, event: EventLike) -> None:
        status = field_str(event, "status")
        if status in ("401", "403"):
            ip = field_str(event, "client_ip")
            if ip:
                self._fail(self.http[(event.source, ip)], event, field_str(event, "user"), "http")

    def findings(self) -> list[LogFinding]:
        out = []
        for table, threshold, via in (
            (self.sources, self.threshold, "auth"),
            (self.http, self.http_burst, "http"),
        ):
            for (file, ip), src in table.items():
                if src.max_in_window < threshold:
                    continue
                compromised = src.success_user is not None
                f = LogFinding(
                    "security",
                    "brute_force",
                    "critical" if compromised else "high",
                    count=src.failures,
                    first_seen=src.first,
                    last_seen=src.last,
                    source={"file": file, "ip": ip},
                    samples=src.samples,
                    lines=src.lines,
                    details={
                        "max_failures_in_window": src.max_in_window,
                        "window_s": self.window_s,
                        "users": dict(sorted(src.users.items(), key=lambda x: -x[1])[:20]),
                        "via": via,
                    },
                    message=(
                        f"{plural(src.failures, 'failed login')} from {ip}"
                        + (
                            f", then a successful login as {src.success_user}"
                            if compromised
                            else ""
                        )
                    ),
                )
                if compromised:
                    f.details["success_after_failures"] = src.success_user
                out.append(f)
        return out
