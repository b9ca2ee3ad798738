"""The scanning engine: a literal prefilter picks candidate lines, then the rules judge them.

Every rule names lowercase literals (``ghp_``, ``akia``, ``password``...). Over a block of raw bytes
the prefilter (hyperscan in one pass, or ``bytes.find`` per literal) locates the few lines worth a
regex; only those lines are decoded and handed to Python code. On the log fast path (`scan_line`)
the same literals are tested with ``in``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prodshield.secrets.allow import allowed_above, allowed_rules, silences
from prodshield.secrets.decode import decoded_lines, located, manifest_findings
from prodshield.secrets.finding import SecretFinding, fingerprint, redact, secret_id
from prodshield.secrets.prefilter import Prefilter, make_prefilter
from prodshield.secrets.rules import RULES
from prodshield.secrets.rules.base import Candidate, LineContext, SecretRule

_TAIL = 8192  # text after a line offered to multi-line rules (PEM bodies)
_SNIPPET = 200
_MAX_VALUES = 10_000  # distinct secrets kept for verification in one run


def rule_set(custom: Sequence[SecretRule] = ()) -> tuple[SecretRule, ...]:
    """The rules a scanner runs: the user's own (shield.yaml ``audit.secrets.rules``, see
    `prodshield.secrets.rules.custom.custom_rules`) first, so a line they claim is theirs, then
    every shipped rule. The one place audit, ``audit secrets`` and the log scanners get them."""
    return (*custom, *RULES) if custom else RULES


@dataclass(frozen=True)
class ScanSettings:
    """What a scan reports: rule allowlist and the minimum confidence."""

    allow_rules: frozenset[str] = frozenset()
    min_confidence: float = 0.5
    engine: str = "auto"
    """Prefilter engine: "auto" (hyperscan when installed), "hyperscan" or "python"."""
    honour_allow_comments: bool = True
    """False under ``--strict``: an inline allow comment (``prodshield: allow``, see
    `prodshield.secrets.allow`) silences nothing."""


@dataclass
class Scanner:
    """A compiled set of rules. Build once, scan many lines, texts and files."""

    rules: Sequence[SecretRule] = RULES
    settings: ScanSettings = field(default_factory=ScanSettings)
    values: dict[str, tuple[str, str]] | None = None
    """When given (live verification only), ``secret_id -> (rule id, value)`` of every finding:
    held in memory for the run, never written or shown."""
    counters: dict[str, int] | None = None
    """When given, ``allowed_inline`` counts the findings an inline allow comment silenced."""

    def __post_init__(self) -> None:
        # the allowed rules run too: what they find is counted (``allowed_config``), not shown
        active = list(self.rules)
        self._rules: list[tuple[int, SecretRule]] = list(enumerate(active))
        self.keywords: tuple[str, ...] = tuple(sorted({kw for r in active for kw in r.keywords}))
        # Which rules each literal wakes up: a candidate line runs only the rules it triggered.
        self._rules_by_keyword: list[tuple[int, ...]] = [
            tuple(i for i, rule in self._rules if kw in rule.keywords) for kw in self.keywords
        ]
        # A literal is narrowed to a prefilter pattern only when every rule it wakes narrows it
        # the same way (a rule's optional ``prefilter_patterns``: literal -> hyperscan regex).
        patterns: dict[str, str] = {}
        for kw, woken in zip(self.keywords, self._rules_by_keyword, strict=True):
            narrowed = {
                dict(getattr(self._rules[i][1], "prefilter_patterns", ())).get(kw) for i in woken
            }
            only = narrowed.pop() if len(narrowed) == 1 else None
            if only is not None:
                patterns[kw] = only
        self.prefilter_patterns: dict[str, str] = patterns
        """Literal -> the narrower hyperscan pattern its rules need (other prefilters over the
        same literals, the log gate's and the redaction's, narrow them the same way)."""
        self.prefilter: Prefilter = make_prefilter(self.keywords, self.settings.engine, patterns)
        # hyperscan names the literals a line holds in the same pass that finds one
        self._literals_in = getattr(self.prefilter, "literals_in", None)

    @property
    def rules_by_keyword(self) -> list[tuple[int, ...]]:
        """Per literal of ``keywords``, the indexes of the rules it wakes (``rule_indexes``)."""
        return self._rules_by_keyword

    # -- lines ---------------------------------------------------------------------------------

    def scan_line(
        self,
        line: str,
        *,
        path: str | None = None,
        lineno: int = 0,
        tail: str = "",
        lower: str | None = None,
        rule_indexes: Iterable[int] | None = None,
        above: str = "",
    ) -> list[SecretFinding]:
        """Findings on one line (the log fast path). `tail` is optional following text;
        `above`, the line before it, whose allow comment counts too (as in the full audit)."""
        literals_in = self._literals_in
        if lower is None and rule_indexes is None and literals_in is not None and line.isascii():
            # caseless literals on ASCII bytes are ``kw in line.lower()``: one pass finds them all
            found = literals_in(line)
            if not found:
                return []
            by_keyword = self._rules_by_keyword
            rule_indexes = {i for k in found for i in by_keyword[k]}
            lower = line.lower()
        if lower is None:
            if not self.prefilter.contains_any(line):
                return []
            low = line.lower()
        else:
            low = lower
        # every allow comment holds "allow": one ``in`` rules out nearly every line
        allowed = allowed_rules(line) if "allow" in low else None
        if allowed is None and above:
            allowed = allowed_above(above)
        if allowed is not None and self.settings.honour_allow_comments:
            if silences(allowed, "secrets", "secrets.leak"):  # every secret on the line
                if self.counters is not None:  # say how many were silenced, not just that none
                    self._silenced(len(self._judge(line, low, path, lineno, tail, rule_indexes)))
                return []
            found = self._judge(line, low, path, lineno, tail, rule_indexes, keep_values=True)
            kept = [f for f in found if f.rule not in allowed]  # the secret rules it names
            self._silenced(len(found) - len(kept))
            return kept
        return self._judge(line, low, path, lineno, tail, rule_indexes, keep_values=True)

    def _silenced(self, n: int) -> None:
        if n and self.counters is not None:
            self.counters["allowed_inline"] = self.counters.get("allowed_inline", 0) + n

    def _judge(
        self,
        line: str,
        low: str,
        path: str | None,
        lineno: int,
        tail: str,
        rule_indexes: Iterable[int] | None,
        *,
        keep_values: bool = False,
    ) -> list[SecretFinding]:
        """The findings the rules make of a candidate line (``rule_indexes``: the rules its
        literals woke; None: those whose literals occur in ``low``)."""
        ctx = LineContext(line, low, path, tail)
        accepted: list[tuple[str, str, Candidate, SecretRule]] = []
        taken: list[tuple[int, int, int]] = []  # (line offset, start, end) already claimed
        if rule_indexes is None:
            # the rules whose literals occur: one ``in`` per literal, then its rules (in order)
            by_keyword = self._rules_by_keyword
            woken = {i for k, kw in enumerate(self.keywords) if kw in low for i in by_keyword[k]}
            todo = [self._rules[i][1] for i in sorted(woken)]
        else:
            todo = [self._rules[i][1] for i in sorted(rule_indexes)]
        for rule in todo:
            for cand in rule.find(ctx):
                if cand.confidence < self.settings.min_confidence:
                    continue
                at = cand.line_offset
                if any(o == at and cand.start < e and s < cand.end for o, s, e in taken):
                    continue  # an earlier (more precise) rule already owns this text
                taken.append((at, cand.start, cand.end))
                accepted.append((rule.type, cand.kind or rule.kind, cand, rule))
        allow = self.settings.allow_rules
        if allow and accepted:
            kept = [a for a in accepted if a[0] not in allow]
            if len(kept) < len(accepted) and self.counters is not None:
                n = len(accepted) - len(kept)
                self.counters["allowed_config"] = self.counters.get("allowed_config", 0) + n
            accepted = kept
        if not accepted:
            return []
        here = [c for _, _, c, _ in accepted if not c.line_offset]
        snippet = _redacted_snippet(line, here) if here else ""
        if keep_values and self.values is not None and len(self.values) < _MAX_VALUES:
            for rule_id, _, cand, _ in accepted:
                self.values.setdefault(secret_id(cand.value), (rule_id, cand.value))
        return [
            SecretFinding(
                rule=rule_id,
                kind=kind,
                severity=cand.severity or rule.severity,
                path=path,
                line=lineno + cand.line_offset,
                column=cand.start + 1,
                redacted=redact(cand.value),
                fingerprint=fingerprint(rule_id, cand.value, path),
                secret_id=secret_id(cand.value),
                confidence=round(cand.confidence, 2),
                snippet=_redacted_snippet(cand.other_line or "", [cand])
                if cand.line_offset
                else snippet,
            )
            for rule_id, kind, cand, rule in sorted(
                accepted, key=lambda a: (a[2].line_offset, a[2].start)
            )
        ]

    def scan_lines(
        self, lines: Iterable[str], *, path: str | None = None, first_line: int = 1
    ) -> list[SecretFinding]:
        """Findings in a batch of lines (faster than one `scan_line` call per line)."""
        block = "\n".join(line.rstrip("\n") for line in lines) + "\n"
        return self.scan_text(block, path=path, first_line=first_line)

    # -- blocks of text ------------------------------------------------------------------------

    def scan_text(
        self, text: str, *, path: str | None = None, first_line: int = 1
    ) -> list[SecretFinding]:
        """Findings in a block of text (whole lines); line numbers start at `first_line`."""
        data = text.encode("utf-8", "surrogatepass")
        return list(self.iter_block(data, path=path, first_line=first_line))

    def iter_text(
        self, text: str, *, path: str | None = None, first_line: int = 1
    ) -> Iterator[SecretFinding]:
        yield from self.iter_block(
            text.encode("utf-8", "surrogateescape"), path=path, first_line=first_line
        )

    def iter_block(
        self, block: bytes, *, path: str | None = None, first_line: int = 1
    ) -> Iterator[SecretFinding]:
        """Findings in a block of UTF-8 bytes made of whole lines. Only candidate lines are decoded."""
        lineno = first_line
        position = 0
        plain: list[SecretFinding] = []
        for start, hits in self.prefilter.line_hits(block):
            lineno += block.count(b"\n", position, start)
            position = start
            end = block.find(b"\n", start)
            if end == -1:
                end = len(block)
            line = block[start:end].decode("utf-8", "replace")
            if line.endswith("\r"):
                line = line[:-1]
            low = line.lower()
            tail = ""
            if "private key" in low:
                tail = block[start : start + _TAIL].decode("utf-8", "replace")
            elif "name:" in low:  # a YAML env entry whose value is on the next line
                tail = block[start : start + 1024].decode("utf-8", "replace")
            indexes = None
            if hits is not None:
                by_kw = self._rules_by_keyword
                indexes = {i for kw in hits for i in by_kw[kw]}
            # an allow comment on the line above counts too (`prodshield.secrets.allow`)
            above = ""
            if start:
                previous = block[block.rfind(b"\n", 0, start - 1) + 1 : start - 1]
                if b"allow" in previous.lower():
                    above = previous.decode("utf-8", "replace")
            plain.extend(
                self.scan_line(
                    line,
                    path=path,
                    lineno=lineno,
                    tail=tail,
                    lower=low,
                    rule_indexes=indexes,
                    above=above,
                )
            )
        decoded = self._decoded(block, path, first_line)
        if decoded:
            # The decoded line holds the same text, decoded: its findings replace the plain ones.
            replaced = {f.line for f in decoded}
            plain = [f for f in plain if f.line not in replaced]
        yield from plain
        yield from decoded

    def _decoded(
        self,
        block: bytes,
        path: str | None,
        first_line: int,
    ) -> list[SecretFinding]:
        """Findings in the encoded forms of a block (\\u escapes, %XX, properties escapes, base64
        in Secret manifests), located at the encoded line. Decoded lines go through the literal
        prefilter in one pass; only those holding a rule literal are scanned."""
        out = list(
            manifest_findings(
                block,
                path=path,
                first_line=first_line,
                scan_text=lambda t: self.scan_text(t, path=path),
            )
        )
        candidates = decoded_lines(block, path=path)
        if not candidates:
            return out
        text = "\n".join(decoded for _, _, decoded in candidates) + "\n"
        data = text.encode("utf-8", "surrogatepass")
        starts: dict[int, int] = {}
        offset = 0
        for number, (_, _, decoded) in enumerate(candidates):
            starts[offset] = number
            offset += len(decoded.encode("utf-8", "surrogatepass")) + 1
        by_kw = self._rules_by_keyword
        for start, hits in self.prefilter.line_hits(data):
            if start not in starts:
                continue
            index, encoding, decoded = candidates[starts[start]]
            lineno = first_line + index
            indexes = None if hits is None else {i for kw in hits for i in by_kw[kw]}
            for finding in self.scan_line(
                decoded,
                path=path,
                lineno=lineno,
                lower=decoded.lower(),
                rule_indexes=indexes,
            ):
                out.append(located(finding, lineno, encoding))
        return out


def _redacted_snippet(line: str, candidates: Iterable[Candidate]) -> str:
    """The line with every detected value replaced by its redacted form, cut to a sane length."""
    pieces: list[str] = []
    cursor = 0
    for cand in sorted(candidates, key=lambda c: c.start):
        pieces.append(line[cursor : cand.start])
        pieces.append(redact(line[cand.start : cand.end]))
        cursor = cand.end
    pieces.append(line[cursor:])
    snippet = "".join(pieces).strip()
    return snippet if len(snippet) <= _SNIPPET else snippet[: _SNIPPET - 1] + "…"


_DEFAULT: Scanner | None = None


def default_scanner() -> Scanner:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Scanner()
    return _DEFAULT


def scan_line(line: str, *, path: str | None = None, lineno: int = 0) -> list[SecretFinding]:
    """Findings on one line with the default rules (the log capability's fast path)."""
    return default_scanner().scan_line(line, path=path, lineno=lineno)


def scan_text(text: str, *, path: str | None = None) -> list[SecretFinding]:
    """Findings in a text with the default rules."""
    return default_scanner().scan_text(text, path=path)
