"""Brute force: many authentication failures from one source within a window, and the worse case
of a success after them. Fed by the rule pack's auth_failure/invalid_user/auth_success matches and
by HTTP 401/403 responses in access logs."""

from __future__ import annotations

import hashlib
import heapq
from collections import defaultdict, deque
from datetime import datetime
from typing import Any, ClassVar

from prodshield.logs.detectors.base import DetectorSettings, EventLike, Gate, field_str
from prodshield.logs.detectors.sessions import ATTEMPT
from prodshield.logs.findings import RAW_SAMPLE, LineSet, LogFinding
from prodshield.logs.timeline import in_log
from prodshield.text import clip, plural

FAILURE_KINDS = {"auth_failure", "invalid_user"}


class _Source:
    """Failures from one source. sshd's attempts come paired already (``sessions.py``: one count
    per attempt, however many lines it wrote), and add up; other lines may still log one attempt
    several ways, so each way is counted on its own and the source's attempts are the largest of
    those counts, never their sum."""

    __slots__ = (
        "counts",
        "first",
        "last",
        "lines",
        "peak",
        "peaks",
        "prior",
        "samples",
        "seen",
        "success_user",
        "users",
        "windows",
    )

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
        self.seen = 0.0
        """The clock of its last failure."""
        self.prior = 0
        """Failures it had when it was last let go (``BruteForceDetector._evict``), if recent."""

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
        self.max_keys = settings.max_keys
        self.sources: dict[tuple[str, str], _Source] = {}
        self.http: dict[tuple[str, str], _Source] = {}
        self._seq = 0.0
        self._door: bytearray | None = None
        """Per hash of a source let go: its recent failures (made at the first eviction)."""
        self._door_since = 0.0

    def _clock(self, event: EventLike) -> float:
        self._seq += 1.0
        return event.timestamp.timestamp() if event.timestamp else self._seq

    def on_rule(
        self,
        event: EventLike,
        rule: Any,
        ip: str | None,
        user: str | None,
        index: int = 0,
        n: int = 1,
    ) -> None:
        """Listener for the rule pack's security matches (``n``: the lines the matched one
        stands for, rsyslog's ``message repeated n times``)."""
        if not ip:
            return
        key = (in_log(event.source, 0)[0], str(ip))  # a log's rotations are one log
        if rule.kind in FAILURE_KINDS:
            signal = (
                "attempt"
                if index == ATTEMPT
                else f"{rule.kind}:{getattr(rule, 'number', 0)}:{index}"
            )
            self._fail(self.sources, self.threshold, key, event, user, signal, n)
        elif rule.kind == "auth_success":
            src = self.sources.get(key)
            if src is not None and src.max_in_window >= self.threshold and src.success_user is None:
                src.success_user = user or "?"

    def _fail(
        self,
        table: dict[tuple[str, str], _Source],
        threshold: int,
        key: tuple[str, str],
        event: EventLike,
        user: str | None,
        signal: str,
        n: int = 1,
    ) -> None:
        now = self._clock(event)
        src = table.get(key)
        if src is None:
            src = self._track(table, threshold, key, now)
            if src is None:
                return  # every source tracked is a brute force already: nothing more to name
        window = src.windows[signal]
        window.extend([now] * n)
        while window and window[0] < now - self.window_s:
            window.popleft()
        src.seen = now
        src.counts[signal] += n
        src.lines.add(in_log(event.source, event.line)[1])
        src.peaks[signal] = max(src.peaks[signal], len(window))
        if len(window) > src.peak:
            src.peak = len(window)
        if user and (len(src.users) < 50 or user in src.users):
            src.users[user] = src.users.get(user, 0) + n
        if event.timestamp:
            src.first = src.first or event.timestamp
            src.last = event.timestamp
        if len(src.samples) < 3:
            # redacted when the finding is sealed (``LogFinding.seal``)
            src.samples.append(clip(getattr(event, "raw", None) or event.message, RAW_SAMPLE))

    def _track(
        self,
        table: dict[tuple[str, str], _Source],
        threshold: int,
        key: tuple[str, str],
        now: float,
    ) -> _Source | None:
        """A new source's state, room made for it past ``max_keys`` sources (None: no room)."""
        if len(table) >= self.max_keys:
            self._evict(table, threshold, now)
            if len(table) >= self.max_keys:
                return None
        src = table[key] = _Source()
        if self._door is not None:
            src.prior = self._door[_slot(key)]
        return src

    def _evict(self, table: dict[tuple[str, str], _Source], threshold: int, now: float) -> None:
        """Let go of half the sources below the threshold: first those whose last failure left
        the window (they cannot make a burst from what they did), then the fewest recent
        failures, oldest first. What a source let go had in the window is remembered in a
        fixed table by hash (1 MiB, forgotten every window), and a source seen again ranks with
        it: a slow brute-forcer among sprayed addresses (one failure each) is kept the second
        time it is seen, and its failures from then on make its burst."""
        if self._door is None or now - self._door_since > self.window_s:
            self._door = bytearray(1 << 20)
            self._door_since = now
        door = self._door
        horizon = now - self.window_s

        def rank(item: tuple[tuple[str, str], _Source]) -> tuple[int, float]:
            src = item[1]
            recent = src.failures + src.prior if src.seen >= horizon else 0
            return (recent, src.seen)

        candidates = [(k, s) for k, s in table.items() if s.max_in_window < threshold]
        for key, src in heapq.nsmallest(len(table) - self.max_keys // 2, candidates, key=rank):
            del table[key]
            if src.seen >= horizon:
                slot = _slot(key)
                door[slot] = min(255, door[slot] + src.failures + src.prior)

    def adopt(self, old: BruteForceDetector) -> dict[tuple[str, str], int]:
        """Go on from ``old`` (the service's last epoch, or its config before a reload) with the
        sources whose last failure is inside the window (``window`` before the newest failure in
        the same file), so failures on both sides of the boundary make one brute force, as in
        one ``logs scan``; older sources are let go (the epoch's memory stays bounded). A source
        under its threshold goes on with its count whole (if it forms, its count is every failure
        since it was carried, and it takes those failed logins' findings: returned, (file,
        address) to the lines kept, for the rule pack to carry them) and the lines of its
        failures inside the window only (bounded); one past it goes on as a brute force with its failures in the
        window only, and counts from none (its stored row goes on from its count), also when its
        last failure left the window (a later failure of the address is the brute force's, not an
        ``auth_failure`` beside it), as long as the table stays under half of ``max_keys``."""
        self._seq = old._seq
        # what the sources let go had in the window (a fixed 1 MiB table): a slow brute-forcer
        # let go just before the boundary is kept when seen again after it, as in one scan
        self._door, self._door_since = old._door, old._door_since
        under: dict[tuple[str, str], int] = {}
        for table, old_table, threshold in (
            (self.sources, old.sources, self.threshold),
            (self.http, old.http, self.http_burst),
        ):
            newest: dict[str, float] = {}
            for (file, _), src in old_table.items():
                newest[file] = max(newest.get(file, src.seen), src.seen)
            # a brute force goes on whenever its last failure was (a later failure is its, as in
            # one scan), the most recent first, while the table is under half full (bounded)
            inside = sum(
                1
                for (file, _), src in old_table.items()
                if src.seen >= newest[file] - self.window_s
            )
            earlier = heapq.nlargest(
                max(0, self.max_keys // 2 - inside),
                (
                    (src.seen, key)
                    for key, src in old_table.items()
                    if src.max_in_window >= threshold and src.seen < newest[key[0]] - self.window_s
                ),
            )
            reported = {key for _, key in earlier}
            for key, src in old_table.items():
                since = newest[key[0]] - self.window_s
                if src.seen < since and key not in reported:
                    continue
                if src.max_in_window < threshold:
                    table[key] = src
                    # its count goes on whole; its lines, only those inside the window (an
                    # address failing under the threshold at every boundary stays bounded)
                    for times in src.windows.values():
                        while times and times[0] < since:
                            times.popleft()
                    src.lines = src.lines.last(sum(len(t) for t in src.windows.values()))
                    if table is self.sources:
                        under[key] = len(src.lines)
                    continue
                kept = table[key] = _Source()
                for signal, times in src.windows.items():
                    kept.windows[signal] = deque(at for at in times if at >= since)
                kept.peak = src.peak
                kept.peaks.update(src.peaks)
                kept.seen = src.seen
                kept.success_user = src.success_user
        return under

    def gate(self) -> Gate:
        """HTTP responses (401/403); the rule pack's matches come through ``on_rule``."""
        return Gate(fields=frozenset(("status",)))

    def observe(self, event: EventLike) -> None:
        status = field_str(event, "status")
        if status in ("401", "403"):
            ip = field_str(event, "client_ip")
            if ip:
                key = (in_log(event.source, 0)[0], ip)
                self._fail(self.http, self.http_burst, key, event, field_str(event, "user"), "http")

    def findings(self) -> list[LogFinding]:
        out = []
        for table, threshold, via in (
            (self.sources, self.threshold, "auth"),
            (self.http, self.http_burst, "http"),
        ):
            for (file, ip), src in table.items():
                if src.max_in_window < threshold or not src.counts:
                    continue  # (none: one carried over as a brute force, no failure since)
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


def absorb_failures(
    findings: list[LogFinding], absorbed: list[LogFinding] | None = None
) -> list[LogFinding]:
    """``findings`` without the ``auth_failure`` and ``invalid_user`` findings of an address and
    file that has a ``brute_force`` finding (from sshd/PAM lines): the brute force counts the same
    attempts, so one line gives one finding, the most specific (issue 19). Their counts go to the
    brute force's ``details.absorbed`` (``{"auth_failure": 12, "invalid_user": 3}``); the
    findings left out are added to ``absorbed`` (the service retires their stored rows)."""
    brute = {
        (f.source.get("file"), f.source.get("ip")): f
        for f in findings
        if f.kind == "brute_force" and f.details.get("via") == "auth"
    }
    if not brute:
        return findings
    out = []
    for f in findings:
        into = brute.get((f.source.get("file"), f.source.get("ip")))
        if into is None or f.kind not in FAILURE_KINDS:
            out.append(f)
            continue
        counts = into.details.setdefault("absorbed", {})
        counts[f.kind] = counts.get(f.kind, 0) + f.count
        if absorbed is not None:
            absorbed.append(f)
    return out


def _slot(key: tuple[str, str]) -> int:
    """A source's place in the table of sources let go (20 bits of a hash that is the same in
    every process)."""
    digest = hashlib.blake2b(f"{key[0]}\0{key[1]}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") >> 12
