"""Rule packs: YAML rules of patterns (shipped ones and the user's) matched against each event."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar

import yaml

from prodshield.logs.detectors.base import DetectorSettings, Distinct, EventLike, Found, Gate
from prodshield.logs.detectors.sessions import SshSessions
from prodshield.logs.findings import RAW_SAMPLE, LogFinding
from prodshield.logs.repeats import repeats
from prodshield.logs.timeline import in_log
from prodshield.text import clip, plural

SHIPPED_PACKS = ("critical.yaml", "security.yaml")
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_IP_RE = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
MAX_DETAILS = 50
"""The ``detail`` values a finding not keyed by them lists (``{detail}`` names the first 3)."""


def _address(ip: str) -> str:
    """``ip`` without the punctuation a pattern's address class took from the sentence around it
    (sshd's ``Received disconnect from 1.2.3.4: 3: ...`` gave ``1.2.3.4:``, an offender apart
    from ``1.2.3.4``); an address that really ends so (IPv6 ``2001:db8::``) is kept."""
    if not ip or ip[-1] not in ":.":
        return ip
    try:
        ipaddress.ip_address(ip)
        return ip
    except ValueError:
        return ip.rstrip(":.") or ip


def _event_ip(event: EventLike, rule: LogRule, ip: Any) -> Any:
    """The address a rule's match names: its ``ip`` group or the event's client, else for a
    security rule the first IPv4 address in the message."""
    if isinstance(ip, str):
        return _address(ip)
    if ip is None and rule.category == "security":
        m = _IP_RE.search(event.message or "")
        return m.group(0) if m else None
    return ip


@dataclass
class LogRule:
    """One rule of a pack: patterns matched against each log event (an audit rule is another
    thing: audit/rules/base.py's ``Rule``)."""

    kind: str
    category: str
    severity: str
    patterns: list[re.Pattern[str]]
    field: str | None = None
    report: bool = True
    keywords: tuple[str, ...] = ()
    """Lower-case literals: the rule is tried only on text containing one of them."""
    message: str | None = None
    """What the finding says; ``{count}``, ``{ip}``, ``{detail}``, ``{kind}``, ``{example}``
    are filled in, and ``{s}`` is an ``s`` unless the count is 1 ("{count} deadlock{s}");
    default: "<count> lines matched <kind>"."""
    threshold: int = 1
    """Reported only when this many matches fall within ``window_s`` seconds."""
    window_s: float = 300.0
    levels: frozenset[str] = frozenset()
    """Levels (as the formats name them: ``fatal``) at which a line is this rule's whatever its
    text, when no rule before it took the line: a line logged at FATAL is a ``fatal_error`` in
    every format that reads levels, as ``FATAL ...`` is in a raw line."""
    session: str | None = None
    """For sshd's lines: ``attempt``, ``mirror`` or ``summary`` (``sessions.py``: one failed login
    counted once however many lines it wrote)."""
    number: int = 0
    """Its place among the rules (brute force tells the rules' signals apart by it)."""
    group_by: str | None = None
    """The named group whose value splits the rule's findings (one finding, and one threshold
    count, per value: ``group_by: detail`` for out_of_memory's process); None: one finding per
    rule and file, its ``detail`` values listed (a security rule is per source IP either way)."""


def load_rules(user_rules: list[dict[str, Any]] | None = None) -> list[LogRule]:
    """The user's rules (same schema, ``category`` on each rule), then the shipped packs: the
    order in which a line's message is offered to them, the first reported rule that matches
    taking it (a pack lists its specific rules before its general ones: ``fatal_error`` last). The
    security pack's signals are per source and feed brute force: each still counts a line a rule
    took, and none takes a line from another rule."""
    rules: list[LogRule] = [_rule(raw, raw.get("category", "critical")) for raw in user_rules or []]
    folder = resources.files("prodshield.logs").joinpath("rules")
    for name in SHIPPED_PACKS:
        pack = yaml.safe_load(folder.joinpath(name).read_text(encoding="utf-8"))
        for raw in pack["rules"]:
            rules.append(_rule(raw, pack["category"]))
    for number, rule in enumerate(rules):
        rule.number = number
    return rules


def _rule(raw: dict[str, Any], category: str) -> LogRule:
    return LogRule(
        kind=raw["kind"],
        category=category,
        severity=raw.get("severity", "medium"),
        patterns=[re.compile(p, re.IGNORECASE) for p in raw["patterns"]],
        field=raw.get("field"),
        report=raw.get("report", True),
        keywords=tuple(str(k).lower() for k in raw.get("keywords", ())),
        message=raw.get("message"),
        threshold=int(raw.get("threshold") or 1),
        window_s=float(raw.get("window") or 300.0),
        levels=frozenset(str(v).lower() for v in raw.get("levels", ())),
        session=raw.get("session"),
        group_by=raw.get("group_by"),
    )


def needed_literal(pattern: re.Pattern[str]) -> str | None:
    """The longest run of plain characters the pattern matches one after the other at its top
    level (lower case, ASCII, 3 or more): text the pattern finds something in holds it, in any
    case. None when there is no such run (or the pattern cannot be read)."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(pattern.pattern, pattern.flags)
        literal = _parser.LITERAL
    except Exception:
        return None
    best, run = "", []
    for op, value in [*list(parsed), (None, None)]:
        if op is literal:
            run.append(chr(value))
            continue
        text = "".join(run)
        if len(text) > len(best):
            best = text
        run = []
    best = best.lower()
    return best if len(best) >= 3 and best.isascii() else None


FREE, FELL, OTHER = 0, 1, 2
"""Where a line a rule held under its threshold went: to no finding, to the fallback
(``error_logged``, which gives it back when the rule fires), or to another rule or detector."""


class _Held:
    """A line a rule matched under its threshold: counted towards it, left to the others."""

    __slots__ = ("event", "groups", "n", "owner", "time")

    def __init__(self, time: float, event: EventLike, groups: dict[str, str], n: int) -> None:
        self.time = time
        self.event = event
        self.groups = groups
        self.n = n
        self.owner = FREE


class _Hits:
    """Match times of one finding, for a rule's threshold within its window, and the lines
    matched while under it (``held``: they join the finding if the threshold is reached within
    their window, else they stay with whoever took them)."""

    __slots__ = ("held", "peak", "seq", "times")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.held: list[_Held] = []
        self.peak = 0
        self.seq = 0.0

    def add(self, event: EventLike, window_s: float, n: int = 1) -> tuple[int, float]:
        """Count ``n`` matches at the event's time: how many fall within the window now, and
        the time they are counted at."""
        self.seq += 1.0
        now = event.timestamp.timestamp() if event.timestamp else self.seq
        self.times.extend([now] * n)
        cut = 0
        while cut < len(self.times) and self.times[cut] < now - window_s:
            cut += 1
        if cut:
            del self.times[:cut]
        held = self.held
        if held and held[0].time < now - window_s:  # out of the window: never part of a burst
            self.held = [h for h in held if h.time >= now - window_s]
        self.peak = max(self.peak, len(self.times))
        return len(self.times), now


_Plan = tuple[tuple[LogRule, bool, tuple[tuple[int, str | None, re.Pattern[str]], ...]], ...]
"""Per rule to try: the rule, whether the combined prefilter must find something first (a rule
without keywords), and per pattern its index, the literal it needs (or None) and the pattern."""


class RulePackDetector:
    """One finding per (kind, ip/user/detail) for every event a rule's pattern matches."""

    type = "rules"
    example: ClassVar[dict[str, Any]] = {
        "format": "postgres",
        "lines": [
            "2024-03-12 10:15:32.118 UTC [8812] shop@orders FATAL:  remaining connection slots are "
            "reserved for non-replication superuser connections"
        ],
        "finds": "db_too_many_connections",
    }

    def __init__(self, settings: DetectorSettings) -> None:
        self.rules = load_rules(settings.user_rules)
        message_patterns = [
            p.pattern for r in self.rules if r.field is None and not r.keywords for p in r.patterns
        ] or ["(?!)"]
        # One combined search rejects most lines before any single rule is tried.
        self._prefilter = re.compile(
            "|".join(f"(?:{_NAMED_GROUP.sub('(?:', p)})" for p in message_patterns),
            re.IGNORECASE | re.M,
        )
        self._field_rules = [r for r in self.rules if r.field is not None]
        self._message_rules = [r for r in self.rules if r.field is None]
        self._level_rules = [r for r in self._message_rules if r.levels]
        self._levels = frozenset(v for r in self._level_rules for v in r.levels)
        self._taken = False
        """Whether a rule that is not a security signal took the last message matched."""
        keywords = sorted(
            {k for r in self._message_rules for k in r.keywords}, key=len, reverse=True
        )
        # One search for every keyword: most lines contain none, and skip every keyed rule at once.
        self._keyword_gate = re.compile("|".join(re.escape(k) for k in keywords) or "(?!)")
        # ASCII lines (nearly all) ask the secret scanner's literal engine (hyperscan when
        # installed) instead: the same answer, several times faster than the alternation
        self._ascii_gate: Any = None
        if keywords and all(k and k.isascii() for k in keywords):
            from prodshield.secrets.prefilter import make_prefilter

            self._ascii_gate = make_prefilter(keywords)
        # hyperscan names the keywords a line holds in the same pass: the rules to try
        self._literals_in = getattr(self._ascii_gate, "literals_in", None)
        self._rules_of_keyword: list[frozenset[int]] = [
            frozenset(i for i, r in enumerate(self._message_rules) if k in r.keywords)
            for k in keywords
        ]
        self._keyword_index = {k.lower(): n for n, k in enumerate(keywords)}
        """A keyword as the block gate names it (lower case) -> its number."""
        self._has_unkeyed = any(not r.keywords for r in self._message_rules)
        self._unkeyed_numbers = frozenset(
            n for n, r in enumerate(self._message_rules) if not r.keywords
        )
        # per message rule, per pattern: the text an ASCII line must hold for it to match
        self._needs = [[needed_literal(p) for p in r.patterns] for r in self._message_rules]
        self._tried = [
            tuple((i, self._needs[n][i], p) for i, p in enumerate(r.patterns))
            for n, r in enumerate(self._message_rules)
        ]
        """Per message rule: its patterns as ``_try`` takes them (index, needed literal, pattern)."""
        self._plans: dict[frozenset[Any], _Plan] = {}
        """The rules an ASCII message holding a set of keywords tries, worked out once per set (by
        keyword number, and by the block gate's names for them)."""
        self._findings: dict[tuple[str, str, str, str], LogFinding] = {}
        self._rule_of: dict[tuple[str, str, str, str], LogRule] = {}
        self._hits: dict[tuple[str, str, str, str], _Hits] = {}
        self._messages: dict[tuple[str, str, str, str], tuple[tuple[Any, ...], str]] = {}
        """Per finding: what its message was made from (``rule_message`` reads the count, the
        ip, the detail and the example) and the message."""
        self._dirty: set[int] = set()
        """The findings (``id``) a match touched since the last :meth:`findings`."""
        self._shown: dict[int, tuple[Any, Any, str] | None] = {}
        """Per finding (``id``: a finding lives as long as the detector), what the last :meth:`findings` made of it: None (left out: below its
        threshold), else its source, details and message (the objects): one no match touched
        and nobody sealed since (sealing puts new ones in place) is handed back as it is, so a
        window does not work out again the thousands of findings that did not change."""
        self.sessions = SshSessions(self._hit, settings.max_keys)
        """sshd's lines of one failed login, counted once (``sessions.py``)."""
        self.held_now: tuple[EventLike | None, list[_Held]] = (None, [])
        """The line a rule last held under its threshold, and its entries: the scan says where
        the line went (:meth:`judged`)."""
        self.reclaim: Any = None
        """Called with a held line the fallback counted, when the rule's threshold is reached:
        the fallback gives it back (``ErrorLoggedDetector.retract``; one line, one finding)."""
        self._kinds_of: tuple[EventLike | None, set[str]] = (None, set())
        """The security kinds a rule counted on the last line one matched: one count per kind."""
        self.listeners: list[Any] = []
        """Called with (event, rule, ip, user, pattern index) on every match (brute force)."""
        self.max_keys = settings.max_keys
        self._folded: dict[tuple[str, str, str, str], Distinct] = {}
        """Per folded finding (one per kind and file, past ``max_keys`` findings): the distinct
        addresses (or details) it holds."""

    def gate(self) -> Gate | None:
        """Lines holding a rule's keyword, matching an unkeyed rule's pattern, or carrying a
        field a rule reads (keywords that are not ASCII: every line)."""
        keywords = tuple(sorted({k for r in self._message_rules for k in r.keywords}))
        if not all(k.isascii() for k in keywords):
            return None
        return Gate(
            literals=keywords,
            patterns=(self._prefilter,) if self._has_unkeyed else (),
            fields=frozenset(r.field for r in self._field_rules if r.field),
            levels=self._levels,
        )

    def observe(self, event: EventLike) -> bool:
        """True when a reported rule matched (the line has its finding)."""
        message = event.message or ""
        gate = self._ascii_gate
        literals_in = self._literals_in
        self._taken = False
        if literals_in is not None and message.isascii():
            return self._observe_keywords(event, message, literals_in(message))
        if gate is not None and message.isascii():
            keyed = gate.contains_any(message)
            lowered = message.lower() if keyed else ""  # read only by keyed rules
        else:
            lowered = message.lower()
            keyed = self._keyword_gate.search(lowered) is not None
        hit = False
        if keyed or self._has_unkeyed:
            hit = self._match_message(event, message, lowered, keyed)
        hit = self._match_level(event) or hit
        return self._match_fields(event) or hit

    def observe_found(self, event: EventLike, found: Found) -> bool:
        """``observe``, told the keywords the message holds by the block gate."""
        message = event.message or ""
        if self._literals_in is None or not message.isascii():
            return self.observe(event)
        self._taken = False
        names = found.message
        key = names if isinstance(names, frozenset) else frozenset(names)
        plan = self._plans.get(key)
        if plan is None:
            index = self._keyword_index
            plan = self._plan_for(frozenset(index[k] for k in key if k in index))
            self._remember_plan(key, plan)
        hit = self._run_plan(event, message, plan) if plan else False
        hit = self._match_level(event) or hit
        return (self._match_fields(event) if event.fields else False) or hit

    def _observe_keywords(self, event: EventLike, message: str, found: Iterable[int]) -> bool:
        """``observe`` of an ASCII message holding the keywords numbered ``found``."""
        key = frozenset(("#", k) for k in found)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan_for(frozenset(k for _, k in key))
            self._remember_plan(key, plan)
        hit = self._run_plan(event, message, plan) if plan else False
        hit = self._match_level(event) or hit
        return self._match_fields(event) or hit

    def _plan_for(self, found: frozenset[int]) -> _Plan:
        """The rules (in order) an ASCII message holding the keywords numbered ``found`` tries:
        those the keywords wake and those without keywords (after the combined prefilter), each
        with its patterns and the literal each pattern needs (what ``_match_message`` does)."""
        by_keyword = self._rules_of_keyword
        woken = frozenset().union(*(by_keyword[k] for k in found))
        numbers = sorted(woken | self._unkeyed_numbers) if self._has_unkeyed else sorted(woken)
        rules = self._message_rules
        return tuple(
            (
                rules[n],
                not rules[n].keywords,
                self._tried[n],
            )
            for n in numbers
        )

    def _remember_plan(self, key: frozenset[Any], plan: _Plan) -> None:
        if len(self._plans) >= 4096:  # sets of keywords seen: bounded whatever the lines hold
            self._plans.clear()
        self._plans[key] = plan

    def _run_plan(self, event: EventLike, message: str, plan: _Plan) -> bool:
        """``_match_message`` of an ASCII message, the rules to try given by ``plan``."""
        hit = False
        taken = False  # a rule that is not a security signal took the line
        unkeyed: bool | None = None
        low = message.lower()
        for rule, needs_prefilter, patterns in plan:
            if taken and rule.report and rule.category != "security":
                continue  # one line, one finding: the first reported rule took it
            if needs_prefilter:
                if unkeyed is None:
                    unkeyed = self._prefilter.search(message) is not None
                if not unkeyed:
                    continue
            if self._try(event, rule, patterns, message, low):
                hit = True
                taken = taken or rule.category != "security"
        self._taken = taken
        return hit

    def _try(
        self,
        event: EventLike,
        rule: LogRule,
        patterns: Iterable[tuple[int, str | None, re.Pattern[str]]],
        message: str,
        low: str,
    ) -> bool:
        """The rule's first pattern (index, the literal it needs, pattern) that matches the
        message, as a hit (``low``: the message in lower case when ASCII, else empty)."""
        for index, need, pattern in patterns:
            if need is not None and low and need not in low:
                continue  # it cannot match (a caseless literal is ASCII-caseless)
            m = pattern.search(message)
            if m:
                groups = {k: v for k, v in m.groupdict().items() if v}
                return self._matched(event, rule, groups, index)
        return False

    def _matched(self, event: EventLike, rule: LogRule, groups: dict[str, str], index: int) -> bool:
        """A message rule matched: a security rule counts a line once per kind, and an sshd
        session's lines go through the session pairing (which counts each attempt once)."""
        if rule.category == "security":
            line, kinds = self._kinds_of
            if line is not event:
                kinds = set()
                self._kinds_of = (event, kinds)
            elif rule.kind in kinds:
                return rule.report  # an earlier rule of its kind counted the line
            kinds.add(rule.kind)
            if rule.session is not None and self.sessions.offer(event, rule, groups, index):
                return rule.report
        return self._hit(event, rule, groups, index)

    def _first_of_kind(self) -> dict[str, LogRule]:
        """Each kind's first rule (what judges a finding of that kind carried over)."""
        rules: dict[str, LogRule] = {}
        for rule in self.rules:
            rules.setdefault(rule.kind, rule)
        return rules

    def adopt(self, old: RulePackDetector) -> list[EventLike]:
        """Go on from ``old`` (the service's last epoch, or its config before a reload): sshd
        sessions waiting for an attempt, and each threshold rule's matches still inside its
        window (``window`` before the newest match in the same file) with the lines it held
        under its threshold, so a burst that spans the boundary forms as in one ``logs scan``.
        Older matches are let go (the epoch's memory stays bounded). Returns the held lines
        the fallback (``error_logged``) counted: its findings of them must go on too."""
        self.sessions.adopt(old.sessions)
        rules = self._first_of_kind()
        newest: dict[str, float] = {}
        for key, hits in old._hits.items():
            if hits.times:
                newest[key[3]] = max(newest.get(key[3], hits.times[-1]), hits.times[-1])
        fell: list[EventLike] = []
        for key, hits in old._hits.items():
            rule = rules.get(key[0])
            if rule is None or rule.threshold <= 1 or key in old._folded or not hits.times:
                continue
            since = newest[key[3]] - rule.window_s
            times = [at for at in hits.times if at >= since]
            if not times:
                continue
            kept = self._hits[key] = _Hits()
            kept.times, kept.seq = times, hits.seq
            kept.held = [h for h in hits.held if h.time >= since]
            fell += [h.event for h in kept.held if h.owner == FELL]
        return fell

    def adopt_findings(
        self, old: RulePackDetector, keys: dict[tuple[str, str], int]
    ) -> list[LogFinding]:
        """Go on with ``old``'s security findings of the (file, address) ``keys`` (the failed
        logins of an address brute force carried over under its threshold: if it forms, it
        takes them, as in one ``logs scan``), their counts whole and their latest lines only
        (as many as the address keeps: those inside its window). Returns the findings carried."""
        rules = self._first_of_kind()
        out = []
        for key, finding in old._findings.items():
            rule = rules.get(key[0])
            if rule is None or rule.category != "security" or (key[3], key[1]) not in keys:
                continue
            if key in old._folded or key in old._hits:
                continue
            finding.lines = finding.lines.last(keys[(key[3], key[1])])
            self._findings[key] = finding
            self._rule_of[key] = rule
            self._dirty.add(id(finding))
            out.append(finding)
        return out

    def finish(self) -> None:
        """The end of the input: sshd sessions' lines still waiting for an attempt count."""
        self.sessions.expire()

    def _match_message(
        self,
        event: EventLike,
        message: str,
        lowered: str,
        keyed: bool,
        woken: frozenset[int] | None = None,
    ) -> bool:
        # Rules with keywords are tried only when one occurs (``woken``: the rules whose keywords
        # the line holds, when known); rules without go through the combined prefilter of their
        # patterns.
        unkeyed = None
        hit = False
        taken = False  # a rule that is not a security signal took the line
        low: str | None = None  # the message in lower case, when ASCII (a pattern's literal)
        rules = self._message_rules
        numbers: Iterable[int] = range(len(rules))
        if keyed and woken is not None:  # only the woken rules and those without keywords
            numbers = sorted(woken | self._unkeyed_numbers) if self._has_unkeyed else sorted(woken)
        for number in numbers:
            rule = rules[number]
            if taken and rule.report and rule.category != "security":
                continue  # one line, one finding: the first reported rule took it
            if rule.keywords:
                if not _woken(rule, number, keyed, woken, lowered):
                    continue
            else:
                if unkeyed is None:
                    unkeyed = self._prefilter.search(message) is not None
                if not unkeyed:
                    continue
            if low is None:
                low = message.lower() if message.isascii() else ""
            if self._try(event, rule, self._tried[number], message, low):
                hit = True
                taken = taken or rule.category != "security"
        self._taken = taken
        return hit

    def _match_level(self, event: EventLike) -> bool:
        """A rule of ``levels`` (``fatal_error``) for a line at one of them that no rule took."""
        level = event.level
        if level is None or self._taken or level not in self._levels:
            return False
        for rule in self._level_rules:
            if level in rule.levels:
                return self._hit(event, rule, {})
        return False

    def _match_fields(self, event: EventLike) -> bool:
        fields = event.fields or {}
        hit = False
        for rule in self._field_rules:
            value = fields.get(rule.field or "")
            if not value:
                continue
            text = str(value)
            if rule.keywords:
                low = text.lower()
                if not any(k in low for k in rule.keywords):
                    continue
            for pattern in rule.patterns:
                if pattern.search(text):
                    hit = self._hit(event, rule, {rule.field or "value": text[:200]}) or hit
                    break
        return hit

    def _hit(self, event: EventLike, rule: LogRule, groups: dict[str, str], index: int = 0) -> bool:
        fields = event.fields or {}
        ip = _event_ip(event, rule, groups.get("ip") or fields.get("client_ip"))
        user = groups.get("user") or fields.get("user")
        n = repeats(event)  # "message repeated 5 times: [ ...]" is 5 lines
        for listener in self.listeners:
            listener(event, rule, ip, user, index, n)
        if not rule.report:
            return False
        file = in_log(event.source, 0)[0]  # a log's rotations are one log (one attacker, one key)
        source: dict[str, Any] = {"file": file}
        if rule.category == "security":
            if ip:
                source["ip"] = str(ip)
            if rule.kind in ("scanner_probe", "suspicious_user_agent") and fields.get("path"):
                source.setdefault("ip", fields.get("client_ip"))
        elif rule.group_by is not None and groups.get(rule.group_by):
            source["detail"] = groups[rule.group_by]
        key = (rule.kind, str(source.get("ip", "")), str(source.get("detail", "")), file)
        finding = self._findings.get(key)
        if finding is None and (key[1] or key[2]) and len(self._findings) >= self.max_keys:
            key, source = self._fold(key, source)
            finding = self._findings.get(key)
        if finding is None:
            finding = self._findings[key] = LogFinding(
                rule.category, rule.kind, rule.severity, source=source
            )
            finding.details["users"] = {}
            self._rule_of[key] = rule
            if rule.threshold > 1 and key not in self._hits:  # (one carried over: goes on)
                self._hits[key] = _Hits()
        self._dirty.add(id(finding))
        hits = self._hits.get(key)
        if hits is not None and not self._burst(hits, event, rule, finding, groups, n):
            return False
        self._count(event, rule, finding, groups, n)
        return True

    def _burst(
        self,
        hits: _Hits,
        event: EventLike,
        rule: LogRule,
        finding: LogFinding,
        groups: dict[str, str],
        n: int,
    ) -> bool:
        """Whether a rule with a threshold takes ``event`` now. Under its threshold it counts
        the line but leaves it to the rules after it and to error_logged (adding a rule never
        hides a line prodshield reported without it); once the threshold is reached, the lines
        held within the window are the burst's: the rule's alone (error_logged gives them
        back)."""
        within, now = hits.add(event, rule.window_s, n)
        if within < rule.threshold:
            entry = _Held(now, event, groups, n)
            hits.held.append(entry)
            line, entries = self.held_now
            if line is not event:
                entries = []
                self.held_now = (event, entries)
            entries.append(entry)
            return False
        if hits.held:
            held, hits.held = hits.held, []
            for h in held:
                if h.owner == OTHER:
                    continue  # another rule or detector took it: its finding keeps it
                if h.owner == FELL and self.reclaim is not None:
                    self.reclaim(h.event, h.n)
                self._count(h.event, rule, finding, h.groups, h.n)
        return True

    def judged(self, event: EventLike, claimed: bool, fell: bool) -> None:
        """Where the scan gave ``event``, a line a rule held under its threshold: another
        detector (or rule) ``claimed`` it, or the fallback counted it (``fell``)."""
        line, entries = self.held_now
        if line is event:
            owner = OTHER if claimed else FELL if fell else FREE
            for entry in entries:
                entry.owner = owner
            self.held_now = (None, [])

    def _count(
        self,
        event: EventLike,
        rule: LogRule,
        finding: LogFinding,
        groups: dict[str, str],
        n: int,
    ) -> None:
        """The line in the rule's finding: its detail value, user, example, time and sample."""
        user = groups.get("user") or (event.fields or {}).get("user")
        detail = groups.get("detail")
        if detail and "detail" not in finding.source:  # not the key: the values it saw, listed
            values = finding.details.setdefault("detail_values", {})
            if len(values) < MAX_DETAILS or detail in values:
                values[detail] = values.get(detail, 0) + n
        if user:
            # setdefault: findings() drops an empty one (a window may have asked in between)
            users = finding.details.setdefault("users", {})
            if len(users) < 50 or user in users:
                users[user] = users.get(user, 0) + n
        if rule.field and rule.field in groups and "example" not in finding.details:
            from prodshield.logs.detectors.redaction import redact_line

            finding.details["example"] = redact_line(groups[rule.field])[:200]
        finding.add(
            event.timestamp,
            _sample(event) if len(finding.samples) < 3 else None,
            n,
            # the line as evidence for the digest's offenders, where the finding names an IP
            line=in_log(event.source, event.line)[1] if "ip" in finding.source else None,
        )

    def _fold(
        self, key: tuple[str, str, str, str], source: dict[str, Any]
    ) -> tuple[tuple[str, str, str, str], dict[str, Any]]:
        """Past ``max_keys`` findings, a new key's lines go to one finding per kind and file
        (its count exact, its addresses or details counted by :class:`Distinct`, no lines kept:
        it names no address for the digest's offenders)."""
        kind, ip, detail, file = key
        folded = (kind, "", "\0others", file)
        others = self._folded.get(folded)
        if others is None:
            others = self._folded[folded] = Distinct()
        others.add(ip or detail)
        what = "addresses" if ip or "ip" in source else "details"
        return folded, {"file": source["file"], "others": what}

    def findings(self) -> list[LogFinding]:
        self.sessions.settle()
        out = []
        messages = self._messages
        dirty, self._dirty = self._dirty, set()
        shown = self._shown
        for key, f in self._findings.items():
            if id(f) not in dirty:
                was = shown.get(id(f), _UNSEEN)
                if was is None:
                    continue
                if was is not _UNSEEN and (
                    was[0] is f.source and was[1] is f.details and was[2] is f.message
                ):
                    out.append(f)
                    continue
            rule = self._rule_of[key]
            hits = self._hits.get(key)
            if hits is not None:
                if hits.peak < rule.threshold or key in self._folded:
                    shown[id(f)] = None
                    continue  # (folded: many keys' matches, no one key's burst)
                f.details["peak_in_window"] = hits.peak
                f.details["threshold"] = rule.threshold
                f.details["window_s"] = rule.window_s
            if not f.details.get("users"):
                f.details.pop("users", None)
            # the message again only when what it says changed (most findings did not grow)
            source = f.source
            said = (f.count, source.get("ip"), source.get("detail"), f.details.get("example"))
            known = messages.get(key)
            others = self._folded.get(key)
            if others is not None:
                f.message = folded_message(rule, f, others)
                f.details["keys_tracked"] = self.max_keys
                f.details["other_keys"] = len(others)
            elif known is not None and known[0] == said:
                f.message = known[1]
            else:
                f.message = rule_message(rule, f)
                messages[key] = (said, f.message)
            out.append(f)
            shown[id(f)] = (f.source, f.details, f.message)
        return out


_UNSEEN = (None, None, "")
"""``RulePackDetector._shown`` of a finding no window has worked out yet."""


def _woken(
    rule: LogRule, number: int, keyed: bool, woken: frozenset[int] | None, lowered: str
) -> bool:
    """Whether a rule with keywords is tried on a line: the line holds one of them (``woken``,
    the numbers of the rules the line's keywords wake, when known)."""
    if not keyed:
        return False
    if woken is not None:
        return number in woken
    return any(k in lowered for k in rule.keywords)


def rule_message(rule: LogRule, f: LogFinding) -> str:
    """The finding's message: the rule's ``message`` filled in, or a default one."""
    values = {
        "count": f.count,
        "s": "" if f.count == 1 else "s",
        "kind": rule.kind,
        "ip": f.source.get("ip") or "?",
        "detail": f.source.get("detail") or _details_said(f.details.get("detail_values")),
        "example": clip(str(f.details.get("example", ""))[:120], 120),
    }
    if rule.message:
        message = rule.message
        if not f.source.get("ip") and " from {ip}" in message:
            # a line without an address (PostgreSQL's failed password): say whose login it was
            # instead of "from ?"
            # (the names go in as a value, never into the format string: they come from the log)
            users = list(f.details.get("users") or {})
            who = f" for {', '.join(map(str, users[:3]))}" if users else ""
            values["who"] = who + (" and others" if len(users) > 3 else "")
            message = message.replace(" from {ip}", "{who}")
        try:
            return message.format(**values)[:500]
        except (KeyError, IndexError, ValueError):
            return message[:500]
    text = f"{plural(f.count, 'line')} matched {rule.kind}"
    if f.source.get("ip"):
        text += f" from {f.source['ip']}"
    if f.source.get("detail"):
        text += f" ({f.source['detail']})"
    return text[:500]


def _details_said(values: dict[str, int] | None) -> str:
    """A finding's ``detail`` values in words: ``101, 102, 103 and others``."""
    names = list(values or {})
    return ", ".join(map(str, names[:3])) + (" and others" if len(names) > 3 else "")


def folded_message(rule: LogRule, f: LogFinding, others: Distinct) -> str:
    """A folded finding's message: ``12,345 failed logins from about 98,800 other addresses``
    (the rule's message, the addresses in place of one), or ``... (1,234 other details)``."""
    if f.source.get("others") == "addresses":
        who = others.say("address", "addresses")
        values = {
            "count": f"{f.count:,}",
            "s": "" if f.count == 1 else "s",
            "kind": rule.kind,
            "ip": who,
            "detail": "",
            "example": clip(str(f.details.get("example", ""))[:120], 120),
        }
        if rule.message and "{ip}" in rule.message:
            try:
                return rule.message.format(**values)[:500]
            except (KeyError, IndexError, ValueError):
                pass
        return f"{f.count:,} line{values['s']} matched {rule.kind} from {who}"[:500]
    return f"{f.count:,} line{'' if f.count == 1 else 's'} matched {rule.kind} ({others.say('detail', 'details')})"[
        :500
    ]


def _sample(event: EventLike) -> str:
    """The line as kept until the finding is sealed (``LogFinding.seal`` redacts it)."""
    raw = getattr(event, "raw", None) or event.message
    return clip(str(raw), RAW_SAMPLE)
