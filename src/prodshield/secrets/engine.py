"""The scanning engine: a literal prefilter picks candidate lines, then the rules judge them.

Every rule names lowercase literals (``ghp_``, ``akia``, ``password``...). Over a block of text the
engine lowercases once and uses ``str.find`` per literal (a memchr-class search in C) to locate the
few lines worth a regex; everything else is never touched by Python code. On the log fast path
(`scan_line`) the same literals are tested with ``in``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prodshield.secrets.finding import SecretFinding, fingerprint, redact
from prodshield.secrets.rule import Candidate, LineContext, SecretRule
from prodshield.secrets.rules import RULES

ALLOW_MARKERS = ("prodshield:allow", "pragma: allowlist secret", "gitleaks:allow")
_TAIL = 8192  # text after a line offered to multi-line rules (PEM bodies)
_SNIPPET = 200


@dataclass(frozen=True)
class ScanSettings:
    """What a scan reports: rule allowlist and the minimum confidence."""

    allow_rules: frozenset[str] = frozenset()
    min_confidence: float = 0.5


@dataclass
class Scanner:
    """A compiled set of rules. Build once, scan many lines, texts and files."""

    rules: Sequence[SecretRule] = RULES
    settings: ScanSettings = field(default_factory=ScanSettings)

    def __post_init__(self) -> None:
        active = [r for r in self.rules if r.id not in self.settings.allow_rules]
        self._rules: list[tuple[int, SecretRule]] = list(enumerate(active))
        keywords = {kw for rule in active for kw in rule.keywords}
        keywords.update(marker.lower() for marker in ())
        # A literal that contains another literal adds nothing to the prefilter.
        self.keywords: tuple[str, ...] = tuple(
            sorted(kw for kw in keywords if not any(o != kw and o in kw for o in keywords))
        )

    # -- lines ---------------------------------------------------------------------------------

    def scan_line(
        self,
        line: str,
        *,
        path: str | None = None,
        lineno: int = 0,
        tail: str = "",
        lower: str | None = None,
    ) -> list[SecretFinding]:
        """Findings on one line (the log fast path). `tail` is optional following text."""
        low = line.lower() if lower is None else lower
        if not any(kw in low for kw in self.keywords):
            return []
        if any(marker in low for marker in ALLOW_MARKERS):
            return []
        ctx = LineContext(line, low, path, tail)
        accepted: list[tuple[str, str, Candidate, SecretRule]] = []
        taken: list[tuple[int, int]] = []
        for _, rule in self._rules:
            if not any(kw in low for kw in rule.keywords):
                continue
            for cand in rule.find(ctx):
                if cand.confidence < self.settings.min_confidence:
                    continue
                if any(cand.start < e and s < cand.end for s, e in taken):
                    continue  # an earlier (more precise) rule already owns this text
                taken.append((cand.start, cand.end))
                accepted.append((rule.id, cand.kind or rule.kind, cand, rule))
        if not accepted:
            return []
        snippet = _redacted_snippet(line, [c for _, _, c, _ in accepted])
        return [
            SecretFinding(
                rule=rule_id,
                kind=kind,
                severity=cand.severity or rule.severity,
                path=path,
                line=lineno,
                column=cand.start + 1,
                redacted=redact(cand.value),
                fingerprint=fingerprint(rule_id, cand.value, path),
                confidence=round(cand.confidence, 2),
                snippet=snippet,
            )
            for rule_id, kind, cand, rule in sorted(accepted, key=lambda a: a[2].start)
        ]

    # -- blocks of text ------------------------------------------------------------------------

    def scan_text(self, text: str, *, path: str | None = None, first_line: int = 1) -> list[SecretFinding]:
        """Findings in a block of text (whole lines); line numbers start at `first_line`."""
        return list(self.iter_text(text, path=path, first_line=first_line))

    def iter_text(
        self, text: str, *, path: str | None = None, first_line: int = 1
    ) -> Iterator[SecretFinding]:
        lower = text.lower()
        aligned = len(lower) == len(text)  # a few Unicode letters change length when lowered
        starts = self._candidate_line_starts(lower)
        lineno = first_line
        position = 0
        for start in starts:
            lineno += text.count("\n", position, start)
            position = start
            end = text.find("\n", start)
            if end == -1:
                end = len(text)
            line = text[start:end]
            if line.endswith("\r"):
                line = line[:-1]
            low = lower[start : start + len(line)] if aligned else line.lower()
            tail = text[start : start + _TAIL] if "private key" in low else ""
            yield from self.scan_line(line, path=path, lineno=lineno, tail=tail, lower=low)

    def _candidate_line_starts(self, lower: str) -> list[int]:
        starts: set[int] = set()
        find, rfind = lower.find, lower.rfind
        for kw in self.keywords:
            i = find(kw)
            while i != -1:
                line_start = rfind("\n", 0, i) + 1
                starts.add(line_start)
                line_end = find("\n", i)
                if line_end == -1:
                    break
                i = find(kw, line_end)
        return sorted(starts)


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
