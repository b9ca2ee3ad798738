"""The one protocol every secret rule implements, and the small types rules return."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from prodshield.secrets.finding import Severity


@dataclass(frozen=True, slots=True)
class LineContext:
    """The line under test, its lowercase form and (for files) the text that follows it.

    `tail` starts at the beginning of the line and holds a bounded amount of following text, so
    multi-line secrets (PEM blocks) can be checked; it is empty on the log-line fast path.
    """

    line: str
    lower: str
    path: str | None = None
    tail: str = ""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A value a rule believes is a secret: its span in the line and how sure the rule is."""

    start: int
    end: int
    value: str
    confidence: float = 0.9
    kind: str | None = None
    severity: Severity | None = None
    line_offset: int = 0
    """Lines below the current one where the value sits (a YAML value under its name line)."""
    other_line: str | None = None
    """The text of that line, which `start`/`end` then refer to."""


@runtime_checkable
class SecretRule(Protocol):
    """A detector for one credential format (or one family of generic assignments).

    `keywords` are lowercase literals; the engine only calls `find` on lines containing at least
    one of them, which is what keeps scanning fast. `find` must apply the format's structural
    validation (charset, length, checksum, decoding) and return only plausible secrets.
    """

    id: str
    kind: str
    severity: Severity
    keywords: tuple[str, ...]
    description: str

    def find(self, ctx: LineContext) -> Iterable[Candidate]: ...
