"""Scanning: run every detector over parsed events, split into a window and its baseline."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prodshield.logs.detectors import REGISTRY, DetectorSettings, EventLike
from prodshield.logs.detectors.base import Found
from prodshield.logs.detectors.bruteforce import BruteForceDetector, absorb_failures
from prodshield.logs.detectors.errors import ErrorLoggedDetector
from prodshield.logs.detectors.performance import PerformanceDetector
from prodshield.logs.detectors.rulepack import RulePackDetector
from prodshield.logs.detectors.trends import Baseline, trend_findings
from prodshield.logs.findings import LogFinding, ScanResult, sort_findings
from prodshield.logs.gate import BlockGate
from prodshield.logs.repeats import LastMessages
from prodshield.logs.sources.files import ReadStats
from prodshield.secrets.redaction import redact_text
from prodshield.text import clip

_Source = tuple[float | None, Callable[[], Iterator[Any]]]
"""A file for ``timeline.by_time``: its first timestamp and a function opening its events."""
_Told = tuple[Callable[[EventLike], Any], Callable[[EventLike, Found], Any] | None]
"""A detector's ``observe``, and its ``observe_found`` when it has one."""


class _Collector:
    """Detectors plus the counts trends need, for one span of time (window or baseline)."""

    def __init__(
        self,
        settings: DetectorSettings,
        names: Iterable[str] | None = None,
        *,
        templates: bool = True,
    ) -> None:
        self.count_templates = templates
        """False: no per-template counts and examples (the service counts templates itself)."""
        wanted = list(names) if names is not None else list(REGISTRY)
        self.detectors = []
        for name in wanted:
            try:
                self.detectors.append(REGISTRY[name](settings))
            except ImportError:  # an optional engine missing: the detector is skipped, not fatal
                continue
        # one line, one finding: fallbacks (error_logged) see only lines no other detector took
        self._specific = [d for d in self.detectors if not getattr(d, "fallback", False)]
        self._fallback = [d for d in self.detectors if getattr(d, "fallback", False)]
        # each detector's observe, and its observe_found when it can be told the gate's literals
        self._specific_told = [
            (d.observe, getattr(d, "observe_found", None)) for d in self._specific
        ]
        self._fallback_told = [
            (d.observe, getattr(d, "observe_found", None)) for d in self._fallback
        ]
        self.rules = next((d for d in self.detectors if isinstance(d, RulePackDetector)), None)
        self.perf = next((d for d in self.detectors if isinstance(d, PerformanceDetector)), None)
        brute = next((d for d in self.detectors if isinstance(d, BruteForceDetector)), None)
        self.brute = brute
        if self.rules is not None and brute is not None:
            self.rules.listeners.append(brute.on_rule)
        self.errors = next((d for d in self.detectors if isinstance(d, ErrorLoggedDetector)), None)
        if self.rules is not None and self.errors is not None:
            # a rule reaching its threshold takes back the lines it held under it
            self.rules.reclaim = self.errors.retract
        self._gate: BlockGate | None = None
        self._literals_of: (
            tuple[list[frozenset[str] | None], list[frozenset[str] | None]] | None
        ) = None
        """Per specific and fallback detector: its gate's literals (lower case), or None when
        something else may pick an event for it (no gate, or patterns)."""
        self._woken_by: dict[frozenset[str], tuple[tuple[_Told, ...], tuple[_Told, ...]]] = {}
        """Per set of literals a text holds: the detectors it wakes (``_woken``)."""
        self.recent = LastMessages()
        """Recent lines per file: syslogd's ``last message repeated 5 times`` is the message it
        repeats, five times, to the detectors."""
        self.done = 0
        self.template_counts: Counter[str] = Counter()
        self.templates: dict[str, str] = {}
        self.examples: dict[str, str] = {}
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.events = 0
        self.hourly: Counter[str] = Counter()
        self.hourly_errors: Counter[str] = Counter()

    def observe(self, event: EventLike) -> None:
        self.events += 1
        self._detect(self.recent.one(event))
        self._count(event)

    def _detect(self, event: EventLike) -> None:
        claimed = fell = False
        for d in self._specific:
            if d.observe(event):
                claimed = True
        if not claimed:
            for d in self._fallback:
                if d.observe(event):
                    fell = True
        rules = self.rules
        if rules is not None and rules.held_now[0] is event:
            rules.judged(event, claimed, fell)

    def _detect_told(self, event: EventLike, found: Found) -> None:
        """``_detect``, the detectors that can be told the gate's literals told them."""
        claimed = fell = False
        for observe, told in self._specific_told:
            if observe(event) if told is None else told(event, found):
                claimed = True
        if not claimed:
            for observe, told in self._fallback_told:
                if observe(event) if told is None else told(event, found):
                    fell = True
        rules = self.rules
        if rules is not None and rules.held_now[0] is event:
            rules.judged(event, claimed, fell)

    def observe_many(self, events: Sequence[EventLike]) -> None:
        """``observe`` each event, a block at a time: one gate pass over the block picks the
        events a detector can act on (:class:`BlockGate`), and only those reach the detectors.
        ``done`` is how many events were handled whole (all of them unless a detector raised)."""
        if self._gate is None:
            self._gate = BlockGate([*self._specific, *self._fallback])
        gate = self._gate
        # the detectors see a "last message repeated 5 times" line as the message it repeats
        seen: Sequence[EventLike] = self.recent.expand(events) or events  # type: ignore[assignment]
        picked = gate.candidates(seen)
        self.done = 0
        try:
            if picked is None:
                for i in range(len(seen)):
                    self.done = i
                    self._detect(seen[i])
            else:
                found = gate.found
                for i in picked:
                    self.done = i
                    told = found(i)
                    if told is None:
                        self._detect(seen[i])
                    else:
                        self._detect_told(seen[i], told)
            self.done = len(events)
        finally:
            handled = events[: self.done]
            self.events += len(handled)
            if any(getattr(e, "timestamp", None) is not None for e in handled):
                for event in handled:
                    self._count(event)
            elif self.count_templates:
                self._count_templates(handled)

    def observe_texts(self, texts: Sequence[str], event_at: Callable[[int], EventLike]) -> None:
        """:meth:`observe_many` for events whose message is their raw text, with no fields, no
        level and no timestamp (the ``raw`` format's), given as their texts: ``event_at(i)``
        builds event ``i``, called only for the events the gate picks."""
        if self.count_templates:  # every event is counted: every event is needed
            self.observe_many([event_at(i) for i in range(len(texts))])
            return
        self.done = 0
        if self._gate is None:
            self._gate = BlockGate([*self._specific, *self._fallback])
        gate = self._gate
        picked = gate.candidates_texts(texts)
        if self._literals_of is None:
            self._literals_of = (
                [_gate_literals(d) for d in self._specific],
                [_gate_literals(d) for d in self._fallback],
            )
        specific, fallback = self._literals_of
        plans = self._woken_by
        try:
            if picked is None:
                for i in range(len(texts)):
                    self.done = i
                    self._detect(event_at(i))
            else:
                found = gate.found
                for i in picked:
                    self.done = i
                    told = found(i)
                    if told is None:
                        self._detect(event_at(i))
                        continue
                    # a detector none of whose literals the text holds would not act on it (a
                    # gate is a superset; such an event has no fields and no level): which
                    # detectors a set of literals wakes is worked out once per set
                    held = told.message
                    key = held if isinstance(held, frozenset) else frozenset(held)
                    woken = plans.get(key)
                    if woken is None:
                        woken = self._woken(key, specific, fallback)
                    firsts, rest = woken
                    if not firsts and not rest:
                        continue
                    self._tell(event_at(i), told, firsts, rest)
            self.done = len(texts)
        finally:
            self.events += self.done

    def _tell(
        self, event: EventLike, told: Found, firsts: tuple[_Told, ...], rest: tuple[_Told, ...]
    ) -> None:
        """``event`` to the detectors its literals woke: the specific ones, then, when none
        claimed it, the fallback; a line a rule held under its threshold learns where it went."""
        claimed = fell = False
        for observe, tell in firsts:
            if observe(event) if tell is None else tell(event, told):
                claimed = True
        if not claimed:
            for observe, tell in rest:
                if observe(event) if tell is None else tell(event, told):
                    fell = True
        rules = self.rules
        if rules is not None and rules.held_now[0] is event:
            rules.judged(event, claimed, fell)

    def _woken(
        self,
        held: frozenset[str],
        specific: list[frozenset[str] | None],
        fallback: list[frozenset[str] | None],
    ) -> tuple[tuple[_Told, ...], tuple[_Told, ...]]:
        """The specific and fallback detectors (observe, observe_found) a text holding the
        literals ``held`` can wake: those with a literal in it, or without literals alone."""
        woken = (
            tuple(
                told
                for told, wanted in zip(self._specific_told, specific, strict=True)
                if wanted is None or not wanted.isdisjoint(held)
            ),
            tuple(
                told
                for told, wanted in zip(self._fallback_told, fallback, strict=True)
                if wanted is None or not wanted.isdisjoint(held)
            ),
        )
        if len(self._woken_by) >= 4096:  # sets of literals seen: bounded whatever lines hold
            self._woken_by.clear()
        self._woken_by[held] = woken
        return woken

    def _count_templates(self, events: Sequence[EventLike]) -> None:
        """``_count`` for events without a timestamp: template counts only."""
        counts: Counter[str] = Counter(
            tid for e in events if (tid := getattr(e, "template_id", None)) is not None
        )
        self.template_counts.update(counts)
        new = [tid for tid in counts if tid not in self.templates]
        if new:
            from prodshield.logs.detectors.redaction import redact_line

            wanted = set(new)
            for event in events:
                tid = getattr(event, "template_id", None)
                if tid is not None and tid in wanted:
                    wanted.discard(tid)
                    self.templates[tid] = getattr(event, "template", "") or ""
                    self.examples[tid] = clip(redact_line(event.message), 300)
                    if not wanted:
                        break

    def _count(self, event: EventLike) -> None:
        tid = getattr(event, "template_id", None) if self.count_templates else None
        if tid is not None:
            self.template_counts[tid] += 1
            if tid not in self.templates:
                self.templates[tid] = getattr(event, "template", "") or ""
                from prodshield.logs.detectors.redaction import redact_line

                self.examples[tid] = clip(redact_line(event.message), 300)
        ts = event.timestamp
        if ts is not None:
            if ts.tzinfo is not UTC:  # hours are UTC (the digest says so; the fast path's are)
                ts = ts.astimezone(UTC)
            hour = ts.strftime("%Y-%m-%dT%H:00")
            self.hourly[hour] += 1
            level = (event.level or "").lower()
            status = str((event.fields or {}).get("status") or "")
            if level in (
                "error",
                "critical",
                "fatal",
                "emerg",
                "alert",
                "crit",
                "err",
            ) or status.startswith("5"):
                self.hourly_errors[hour] += 1
            if self.first is None or ts < self.first:
                self.first = ts
            if self.last is None or ts > self.last:
                self.last = ts

    def findings(
        self, *, sealed: bool = True, absorbed: list[LogFinding] | None = None
    ) -> list[LogFinding]:
        """Every detector's findings, sealed (redacted and bounded: `LogFinding.seal`); without
        ``sealed`` the caller seals those it keeps (the service: only the ones that changed).
        The failed logins a brute force took are left out, and added to ``absorbed``."""
        out: list[LogFinding] = []
        for d in self.detectors:
            out.extend(f.seal() if sealed else f for f in d.findings())
        if self.errors is not None and self.errors.emptied:
            # error_logged findings a rule's burst took every line from (the service retires
            # their stored rows, as those of the failed logins a brute force took)
            if absorbed is not None:
                absorbed.extend(self.errors.emptied)
            self.errors.emptied.clear()
        if self.perf is not None and self.perf.emptied:
            # an endpoint's 5xx finding that became a burst (its stored row is the burst's)
            if absorbed is not None:
                absorbed.extend(self.perf.emptied)
            self.perf.emptied.clear()
        return absorb_failures(out, absorbed)

    def carry_over(self, old: _Collector) -> list[LogFinding]:
        """Start where ``old`` (the service's last epoch, or its config before a reload) left
        what is still inside its window: sshd sessions waiting for an attempt, a threshold
        rule's matches and the lines it holds, brute force's sources, endpoints' 5xx (docs/logs.md,
        Following).
        Returns the findings that go on here (the service keeps their stored rows' counts)."""
        self.recent.adopt(old.recent)  # a repeat line's message may be in the last epoch's lines
        carried: list[LogFinding] = []
        if self.rules is not None and old.rules is not None:
            fell = self.rules.adopt(old.rules)
            if self.errors is not None and old.errors is not None:
                carried += self.errors.adopt(old.errors, fell)
            if self.brute is not None and old.brute is not None:
                under = self.brute.adopt(old.brute)
                carried += self.rules.adopt_findings(old.rules, under)
        elif self.brute is not None and old.brute is not None:
            self.brute.adopt(old.brute)
        if self.perf is not None and old.perf is not None:
            carried += self.perf.adopt(old.perf)
        return carried

    def finish(self) -> None:
        """The end of the input: detectors holding lines back (sshd sessions) count them."""
        for d in self.detectors:
            finish = getattr(d, "finish", None)
            if finish is not None:
                finish()

    def span_seconds(self) -> float:
        if self.first and self.last:
            return max((self.last - self.first).total_seconds(), 1.0)
        return 0.0


def _gate_literals(detector: Any) -> frozenset[str] | None:
    """The literals (lower case) that alone pick a text for ``detector`` (an event without
    fields and level); None when it has no gate or its gate has patterns."""
    gate = detector.gate() if hasattr(detector, "gate") else None
    if gate is None or gate.patterns:
        return None
    return frozenset(lit.lower() for lit in gate.literals)


def scan_events(
    events: Iterable[EventLike],
    *,
    settings: DetectorSettings | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    baseline_start: datetime | None = None,
    baseline_events: Iterable[EventLike] | None = None,
    detectors: Iterable[str] | None = None,
) -> ScanResult:
    """Detect over ``events``. Events before ``window_start`` (and after ``baseline_start``) form
    the baseline; ``baseline_events`` (another file) may supply it instead. Events after
    ``window_end`` are left out."""
    settings = settings or DetectorSettings()
    started = time.perf_counter()
    window = _Collector(settings, detectors)
    base: _Collector | None = None
    skipped_old = 0
    if baseline_events is not None:
        base = _Collector(settings, detectors)
        for ev in baseline_events:
            base.observe(ev)
    elif window_start is not None and baseline_start is not None:
        base = _Collector(settings, detectors)
        base.recent = window.recent  # one file's lines, in order, whichever span they fall in
    for ev in events:
        ts = ev.timestamp
        if window_end is not None and ts is not None and _before(window_end, ts):
            skipped_old += 1
            continue
        if window_start is not None and ts is not None and _before(ts, window_start):
            if (
                base is not None
                and baseline_events is None
                and (baseline_start is None or not _before(ts, baseline_start))
            ):
                base.observe(ev)
            else:
                skipped_old += 1
            continue
        window.observe(ev)
    window.finish()
    if base is not None:
        base.finish()
    findings = window.findings()
    endpoints = window.perf.endpoint_latency() if window.perf else []
    if base is not None and base.events:
        baseline = Baseline(
            seconds=base.span_seconds() or 1.0,
            template_counts=base.template_counts,
            templates=base.templates,
            finding_counts=Counter({f.kind: f.count for f in base.findings()}),
            endpoint_p95={
                e["endpoint"]: (e["p95_ms"], e["requests"])
                for e in (base.perf.endpoint_latency() if base.perf else [])
                if e["p95_ms"] is not None
            },
        )
        kinds: Counter[str] = Counter()
        for f in findings:
            kinds[f.kind] += f.count
        findings += [
            f.seal()
            for f in trend_findings(
                window_seconds=window.span_seconds() or 1.0,
                counts=window.template_counts,
                templates=window.templates,
                examples=window.examples,
                finding_counts=kinds,
                endpoints=endpoints,
                baseline=baseline,
                source="window",
            )
        ]
    stats = {
        "events": window.events,
        "baseline_events": base.events if base else 0,
        "outside_window": skipped_old,
        "templates": len(window.template_counts),
        "findings": len(findings),
        "seconds": round(time.perf_counter() - started, 3),
    }
    top = [
        {"template_id": tid, "template": redact_text(window.templates.get(tid, "")), "count": n}
        for tid, n in window.template_counts.most_common(100)
    ]
    return ScanResult(
        findings=sort_findings(findings),
        stats=stats,
        endpoints=endpoints,
        queries=window.perf.query_latency() if window.perf else [],
        templates=top,
        window=(window.first, window.last),
        hourly={h: (n, window.hourly_errors.get(h, 0)) for h, n in sorted(window.hourly.items())},
    )


def _before(a: datetime, b: datetime) -> bool:
    if (a.tzinfo is None) != (b.tzinfo is None):
        a = a.replace(tzinfo=None)
        b = b.replace(tzinfo=None)
    return a < b


# --- files: what ``logs scan``, ``logs digest`` and the service's daily digest run ------------------


def parse_when(text: str, option: str = "--from") -> datetime:
    """An absolute time for ``--from``/``--until``: ISO 8601 (``2026-12-04``, ``2026-12-04T10:00``,
    with or without an offset). A time without an offset is compared as the logs' local time."""
    from prodshield.errors import Invalid

    try:
        return datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise Invalid(
            f"{option} {text}: not a date/time (use 2026-12-04 or 2026-12-04T10:00[+00:00])"
        ) from None


def check_window(start: datetime | None, until: datetime | None) -> None:
    """Refuse (``Invalid``, exit 2) a window that ends before it starts: it would hold no line,
    and a gate given it would pass on "no findings"."""
    from prodshield.errors import Invalid

    if start is not None and until is not None and _before(until, start):
        raise Invalid(
            f"--from {start.isoformat()} is after --until {until.isoformat()}: "
            "the window would hold no line"
        )


def newest_timestamp(
    files: list[Path], log_format: str = "auto", layouts: dict[str, Any] | None = None
) -> datetime | None:
    """The newest timestamp among the last lines of each file (the reference for ``--since``),
    each read in the format the scan reads it in (its layout, or the one its head gives)."""
    from prodshield.logs.pipeline import parse_tail

    newest = None
    for f in files:
        for ev in parse_tail(f, log_format=(layouts or {}).get(str(f), log_format)):
            if ev.timestamp is not None and (newest is None or _before(newest, ev.timestamp)):
                newest = ev.timestamp
    return newest


def _layout_events(
    files: list[Path], log_format: str, layouts: dict[str, Any] | None, stats: ReadStats
) -> Iterable[EventLike]:
    """Mined events of every file, each in its configured layout (or ``log_format``), one miner;
    what the reads cut, skipped or repaired is counted in ``stats``. Several files are read as
    one stream in time order (``timeline.by_time``): rotated files as the one file they were,
    files written side by side interleaved, so a window by event time holds what happened in it."""
    from prodshield.logs.api import mine, parse_lines
    from prodshield.logs.formats.registry import get_format
    from prodshield.logs.sources.files import expand_paths, read_lines
    from prodshield.logs.templates import TemplateMiner
    from prodshield.logs.timeline import by_time, first_instant, oldest_first

    if log_format != "auto":
        get_format(log_format)  # fail early on a bad name
    paths = expand_paths(files, stats)
    formats = {p: (layouts or {}).get(p, log_format) for p in paths}

    def opener(path: str, read: ReadStats) -> Callable[[], Iterator[Any]]:
        return lambda: parse_lines(read_lines(path, read), path, formats[path], stats=read)

    sources = [
        (
            None if path == "-" or len(paths) == 1 else first_instant(opener(path, ReadStats())()),
            opener(path, stats),
        )
        for path in paths
    ]
    yield from mine(by_time([sources[i] for i in oldest_first(paths)]), TemplateMiner())


def _period(flag: str, value: str) -> float:
    """``value`` in seconds, or the ``Invalid`` naming ``flag`` (exit 2; was an internal error)."""
    from prodshield.config import parse_duration
    from prodshield.errors import Invalid

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise Invalid(f"{flag}: {exc}") from None


def scan_files(
    files: list[Path],
    log_format: str = "auto",
    *,
    since: str | None = None,
    baseline: str | None = None,
    settings: DetectorSettings | None = None,
    start: datetime | None = None,
    until: datetime | None = None,
    layouts: dict[str, Any] | None = None,
    fast: bool = True,
) -> ScanResult:
    """Parse, mine and detect over files (``-`` is stdin): ``logs scan``, ``logs digest`` and the
    service's daily digest. ``since`` is a period before the newest line; ``start``/``until`` an
    absolute window; ``baseline`` a file, or a period before the window. ``layouts`` maps a path
    to its compiled format (a source's ``log_format``/``apache_format``)."""
    from prodshield.errors import Invalid, NotFound
    from prodshield.logs.fastpath import access
    from prodshield.logs.pipeline import iter_events
    from prodshield.logs.sources.files import require_paths

    settings = settings or DetectorSettings()
    if since and (start or until):
        raise Invalid("--since and --from/--until: give one window, not both")
    check_window(start, until)
    if since:
        _period("--since", since)  # a bad period is a usage error before any file is read
    require_paths(files)  # a glob matching nothing is said, not a silent 0 events
    plain = [f for f in files if str(f) != "-"]
    # the columnar engine knows field rules on path/user agent, without thresholds
    message_rules = any(
        r.get("field") not in ("path", "user_agent") or int(r.get("threshold") or 1) > 1
        for r in settings.user_rules
    )
    if (
        fast
        and not (since or baseline or start or until or layouts or message_rules)
        and plain
        and len(plain) == len(files)
        and access.available()
        and log_format in ("auto", "nginx", "apache")
        and all(f.is_file() and access.is_access_log(f) for f in plain)
    ):
        from polars.exceptions import ComputeError

        try:
            return access.analyse(plain, settings, log_format=log_format)
        except ComputeError:
            # the columnar engine refuses a file it cannot decode (one byte that is not UTF-8
            # ends the whole scan): the line pipeline below reads it, replacing and counting
            pass
    window_start = start
    baseline_start = None
    baseline_events: Any = None
    if since:
        newest = newest_timestamp(plain, log_format, layouts) if plain else None
        if newest is not None:
            window_start = newest - timedelta(seconds=_period("--since", since))
    if baseline and Path(baseline).exists():
        baseline_events = iter_events([Path(baseline)], log_format=log_format)
    elif baseline and window_start is not None:
        baseline_start = window_start - timedelta(seconds=_period("--baseline", baseline))
    elif baseline and not since and not start:
        raise NotFound(f"--baseline {baseline}: no such file (a period needs --since or --from)")
    read = ReadStats()
    result = scan_events(
        _layout_events(files, log_format, layouts, read),
        settings=settings,
        window_start=window_start,
        window_end=until,
        baseline_start=baseline_start,
        baseline_events=baseline_events,
    )
    result.stats.update(read_counts(read))
    return result


def read_counts(read: ReadStats) -> dict[str, Any]:
    """What a scan's reads cut, skipped or repaired, for ``ScanResult.stats`` (``logs scan``
    prints them after its findings, as ``logs parse`` does; bad bytes are never silent)."""
    out: dict[str, Any] = {"lines": read.lines, "files": read.files}
    for key, n in (
        ("cut", read.cut),
        ("binary", read.binary),
        ("invalid_utf8", read.invalid_utf8),
    ):
        if n:
            out[key] = n
    if read.errors:
        out["unreadable"] = list(read.errors)
    return out
