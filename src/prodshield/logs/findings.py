"""Findings: what the log detectors report, one per (kind, source) with counts and samples."""

from __future__ import annotations

import hashlib
import ipaddress
import json
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from prodshield.logs.templates import Template
from prodshield.secrets import redaction as _redaction
from prodshield.secrets.redaction import redact_text
from prodshield.severity import worst_first
from prodshield.text import clip, reclip

MAX_MESSAGE = 2000
"""A finding's message (and every text in its source and details) is cut at this many characters;
a sample at `MAX_SAMPLE`. Log lines are outside text: a finding cannot carry a 1 MiB message."""
MAX_SAMPLE = 500
RAW_SAMPLE = 8192
"""A sample as a detector keeps it until the finding is sealed: whole (bounded), unredacted, so
:meth:`LogFinding.seal` redacts it once and only then cuts it to `MAX_SAMPLE` (a secret cut in two
before redaction could show its first half)."""
MAX_ITEMS = 50

CATEGORIES = ("critical", "security", "performance", "trend")
SIGNALS = {"critical": "failure"}
"""The word a table shows for a category: the ``critical`` category holds the platform's failures
(``error_logged`` medium among them), and "critical" beside a medium severity read as a
contradiction; JSON keeps the category itself."""


def signal_word(category: str) -> str:
    """What kind of signal a finding of ``category`` is, as ``logs scan``'s table names it."""
    return SIGNALS.get(category, category)


def where_words(source: dict[str, Any]) -> str:
    """A finding's source in words, its file apart (``ip=203.0.113.9, user=root``; empty when it
    has nothing else). An offender known only by a host name (PAM's ``rhost=``, kept under
    ``ip`` so it is counted with the addresses) reads ``host=``, not ``ip=``."""
    parts = []
    for key, value in source.items():
        if key == "file" or value in (None, ""):
            continue
        if key == "ip" and not _is_address(str(value)):
            key = "host"
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


_NO_LINES: tuple[int, ...] = ()


class LineSet:
    """The numbers of the lines a finding counted, in its one file: the evidence that lets the
    digest count a line flagged by several detectors once (``Digest.offenders``). Lines come in
    file order, so they are kept as a sorted array (8 bytes a line); a number out of order is
    kept apart, once."""

    __slots__ = ("_apart", "_sorted")

    def __init__(self, numbers: Iterable[int] = _NO_LINES) -> None:
        # a finding's or source's set starts empty: made without sorting (one per new IP)
        self._sorted = array("q") if numbers is _NO_LINES else array("q", sorted(set(numbers)))
        self._apart: set[int] = set()

    def add(self, number: int) -> None:
        numbers = self._sorted
        if not numbers or number > numbers[-1]:
            numbers.append(number)
        elif number != numbers[-1] and number not in self._apart:
            at = bisect_left(numbers, number)
            if at == len(numbers) or numbers[at] != number:
                self._apart.add(number)

    def __len__(self) -> int:
        return len(self._sorted) + len(self._apart)

    def __iter__(self) -> Iterator[int]:
        yield from self._sorted
        yield from self._apart

    def __repr__(self) -> str:
        return f"LineSet({len(self)} lines)"

    def last(self, n: int) -> LineSet:
        """The ``n`` highest line numbers (the latest of a file read in order)."""
        return LineSet(sorted(self)[-n:] if n > 0 else ())


_PLAIN = frozenset((str, int, float, bool, type(None)))
_KEY_JSON = json.JSONEncoder(default=str).encode
"""``json.dumps(value, default=str)``, its encoder made once (not at every call)."""


@dataclass
class LogFinding:
    category: str
    kind: str
    severity: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    source: dict[str, Any] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    lines: LineSet = field(default_factory=LineSet, repr=False, compare=False)
    """The lines (numbers in ``source["file"]``) counted: evidence for the digest, never shown
    or stored."""

    @property
    def fingerprint(self) -> str:
        """The finding's identity: a hash of its kind and source (its file left out). Kept
        with what it hashed, and hashed again only when that changed (the service asks at every
        window for thousands of findings)."""
        items = sorted(self.source.items())
        known = self.__dict__.get("_fingerprint")
        if known is not None and known[0] == self.kind and known[1] == items:
            return str(known[2])
        key = _KEY_JSON([self.kind, {k: v for k, v in items if k != "file"}])
        fp = hashlib.sha1(key.encode()).hexdigest()[:20]
        if all(isinstance(v, str | int | float) or v is None for _, v in items):
            self.__dict__["_fingerprint"] = (self.kind, items, fp)  # values that cannot change
        return fp

    def add(
        self, when: datetime | None, sample: str | None, n: int = 1, line: int | None = None
    ) -> None:
        self.count += n
        if line is not None:
            self.lines.add(line)
        if when is not None:
            if self.first_seen is None or when < self.first_seen:
                self.first_seen = when
            if self.last_seen is None or when > self.last_seen:
                self.last_seen = when
        if sample is not None and len(self.samples) < 3:
            self.samples.append(clip(sample, RAW_SAMPLE))

    def seal(self) -> LogFinding:
        """Redact and bound every text derived from log lines (message, samples, source,
        details), in place: the one pass before a finding is stored, shown, printed or sent."""
        # the message and samples were cut as they were taken in (`clip`): a further cut counts
        # what that one left out too
        self.message = sealed_text(reclip(self.message, MAX_MESSAGE))
        self.samples = [reclip(sealed_text(s[:RAW_SAMPLE]), MAX_SAMPLE) for s in self.samples[:3]]
        self.seal_source()
        self.details = {k: _clean_value(v) for k, v in list(self.details.items())[:MAX_ITEMS]}
        return self

    def seal_source(self) -> LogFinding:
        """:meth:`seal` for the source alone (what the fingerprint reads), in place; a source
        this sealed already (the same values, the same redaction rules) is left as it is."""
        if not self.source_sealed():
            self.source = source = {k: _clean_value(v) for k, v in self.source.items()}
            items = tuple(source.items())
            if all(type(v) in _PLAIN for _, v in items):  # values that cannot change in place
                self.__dict__["_sealed_source"] = (items, _rules())
        return self

    def source_sealed(self) -> bool:
        """Whether :meth:`seal_source` sealed this source as it is now (with today's rules)."""
        sealed = self.__dict__.get("_sealed_source")
        return (
            sealed is not None and sealed[1] is _rules() and sealed[0] == tuple(self.source.items())
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, lines=LineSet()))
        del data["lines"]
        data["first_seen"] = self.first_seen.isoformat() if self.first_seen else None
        data["last_seen"] = self.last_seen.isoformat() if self.last_seen else None
        data["fingerprint"] = self.fingerprint
        return data


MAX_TEMPLATE = 2000


def sealed_templates(templates: list[Template]) -> list[Template]:
    """Templates as they leave the miner (stored, printed, shown): text and example redacted and
    bounded. The id stays the one of the full text, so a template keeps its id."""
    return [
        replace(
            tpl,
            template=_clean(tpl.template, MAX_TEMPLATE),
            example=sealed_text(reclip(tpl.example, MAX_TEMPLATE)),
            variants=[_clean(v, MAX_TEMPLATE) for v in tpl.variants[:MAX_ITEMS]],
        )
        for tpl in templates
    ]


_SEALED: dict[str, str] = {}
_SEALED_MAX = 65_536
_sealed_rules: object = None


def _rules() -> object:
    """The redaction rules in effect (the custom ones of ``audit.secrets.rules``, or None)."""
    return getattr(_redaction, "_custom_scanner", None)


def sealed_text(text: str) -> str:
    """``redact_text(text)``, remembered: the service seals every finding of the hour again at
    each window (samples, messages and details that mostly did not change). Forgotten when the
    redaction rules change (a config loaded with other ``audit.secrets.rules``)."""
    global _sealed_rules
    rules = _rules()
    if rules is not _sealed_rules:
        _SEALED.clear()
        _sealed_rules = rules
    done = _SEALED.get(text)
    if done is None:
        done = redact_text(text)
        if len(text) <= MAX_MESSAGE:
            if len(_SEALED) >= _SEALED_MAX:
                _SEALED.clear()
            _SEALED[text] = done
    return done


def seal_many(findings: list[LogFinding]) -> list[LogFinding]:
    """``f.seal()`` for each finding, their samples and messages redacted a block at a time
    (``redact_many``: one literal pass over all of them finds the few that need the full pass)."""
    _remember(
        text
        for f in findings
        for text in (*(s[:RAW_SAMPLE] for s in f.samples[:3]), reclip(f.message, MAX_MESSAGE))
    )
    return [f.seal() for f in findings]


def seal_sources(findings: list[LogFinding]) -> None:
    """``f.seal_source()`` for each finding, the texts of their sources redacted a block at a time
    (each new IP of a brute force is a new text: one literal pass instead of one each)."""
    todo = [f for f in findings if not f.source_sealed()]
    _remember(
        clip(value, MAX_MESSAGE)
        for f in todo
        for value in f.source.values()
        if isinstance(value, str)
    )
    for f in todo:
        f.seal_source()


def _remember(texts: Iterable[str]) -> None:
    """What ``sealed_text`` gives for each of ``texts``, worked out a block at a time
    (``redact_many`` gives what ``redact_text`` gives) and remembered for it."""
    from prodshield.secrets.redaction import redact_many

    sealed_text("")  # forget remembered texts if the redaction rules changed
    todo = list(dict.fromkeys(t for t in texts if len(t) <= MAX_MESSAGE and t not in _SEALED))
    if todo:
        if len(_SEALED) + len(todo) >= _SEALED_MAX:
            _SEALED.clear()
        _SEALED.update(zip(todo, redact_many(todo), strict=True))


def _clean(text: str, limit: int) -> str:
    return sealed_text(clip(text, limit))


def _clean_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return _clean(value, MAX_MESSAGE)
    if depth >= 4:
        return value if isinstance(value, int | float | bool) or value is None else str(value)[:100]
    if isinstance(value, dict):
        return {
            _clean(str(k), 200): _clean_value(v, depth + 1)
            for k, v in list(value.items())[:MAX_ITEMS]
        }
    if isinstance(value, list | tuple):
        return [_clean_value(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
    return value


def sort_findings(findings: list[LogFinding]) -> list[LogFinding]:
    """Worst severity first, then the most recently seen, as the dashboard lists them: the
    same order whether or not a table shows the category (ties: by category, then count)."""
    order = {c: i for i, c in enumerate(CATEGORIES)}

    def key(f: LogFinding) -> tuple[int, float, int, int]:
        seen = f.last_seen.timestamp() if f.last_seen else float("-inf")
        return (worst_first(f.severity), -seen, order.get(f.category, 9), -f.count)

    return sorted(findings, key=key)


@dataclass
class ScanResult:
    findings: list[LogFinding]
    stats: dict[str, Any]
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    window: tuple[datetime | None, datetime | None] = (None, None)
    hourly: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def has_critical(self) -> bool:
        return any(
            f.severity == "critical" or (f.category == "critical" and f.severity == "high")
            for f in self.findings
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "stats": self.stats,
            "endpoints": self.endpoints,
            "queries": self.queries[:50],
            "templates": self.templates[:50],
            "window": [w.isoformat() if w else None for w in self.window],
            "hourly": {h: {"events": n, "errors": e} for h, (n, e) in self.hourly.items()},
        }
