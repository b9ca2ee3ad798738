"""The protocol every secret rule implements, the small types rules return, and the building
blocks the provider modules share (a regex rule with a validator, and the format checks)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from prodshield.secrets.filters import is_documented_example, is_masked, is_reference
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

    type: str
    """The rule's id: the `rule` of its findings, the key of `REGISTRY`, what `allow_rules`,
    baselines and SARIF name (a user rule's `id:` in shield.yaml)."""
    kind: str
    severity: Severity
    keywords: tuple[str, ...]
    description: str

    @property
    def example(self) -> dict[str, str]:
        """``{"text": ...}``: text (format-valid, never live) this rule reports a secret in."""

    def find(self, ctx: LineContext) -> Iterable[Candidate]: ...


BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

Validator = Callable[[str], float | None]
"""Returns the confidence for a value that passes the format's checks, or None to reject it."""


def base62(number: int, width: int = 6) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return digits.rjust(width, "0")


def crc32_base62_ok(body: str, checksum: str) -> bool:
    """The checksum scheme of GitHub and npm tokens: CRC32 of the random part, base62, 6 chars."""
    return base62(zlib.crc32(body.encode("ascii", "replace"))) == checksum


def b64decode_loose(data: str, *, urlsafe: bool = False) -> bytes | None:
    """Decode base64 (padding optional); None when it is not base64."""
    data = data.strip()
    data += "=" * (-len(data) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(data)
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def decodes_to_json_object(segment: str) -> dict[str, object] | None:
    raw = b64decode_loose(segment, urlsafe=True)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def char_classes(value: str) -> int:
    """How many of lower, upper, digit appear in the value."""
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
    )


@dataclass(frozen=True)
class RegexRule:
    """A token format: a pattern (group `value` or the whole match), literals and a validator."""

    type: str
    kind: str
    severity: Severity
    keywords: tuple[str, ...]
    pattern: re.Pattern[str]
    description: str
    example: dict[str, str]
    validate: Validator | None = None
    confidence: float = 0.9
    skip_examples: bool = True
    meta: dict[str, str] = field(default_factory=dict)
    prefilter_patterns: tuple[tuple[str, str], ...] = ()
    """(literal, hyperscan pattern): a literal of ``keywords`` wakes the rule only where the
    pattern matches (caseless, within one line): a superset of the lines where the rule, woken by
    that literal, can find something (see :func:`near`)."""

    def find(self, ctx: LineContext) -> Iterator[Candidate]:
        for match in self.pattern.finditer(ctx.line):
            group = "value" if "value" in self.pattern.groupindex else 0
            value = match.group(group)
            if not value:
                continue
            if self.skip_examples and (
                is_documented_example(value) or is_masked(value) or is_reference(value)
            ):
                continue
            confidence = self.confidence
            if self.validate is not None:
                checked = self.validate(value)
                if checked is None:
                    continue
                confidence = checked
            yield Candidate(match.start(group), match.end(group), value, confidence)


# Token boundaries: a token is not preceded or followed by more token characters.
B = r"(?<![A-Za-z0-9_])"
E = r"(?![A-Za-z0-9_])"


# Prefilter narrowings (``prefilter_patterns``): a context word that wakes a token rule matters
# only on a line that also holds the token. Hyperscan patterns, matched caseless, one line at a
# time, each a superset of what the rule's own pattern matches, kept short: bounded repeats and
# ``.*`` before long shapes made hyperscan's pass over a block several times slower.
TWILIO_SID_SHAPE = r"sk[0-9a-f]{32}"
_T = "[a-z0-9_-]"
DISCORD_TOKEN_SHAPE = rf"\.{_T}{{6}}\."
"""A Discord bot token's middle segment, between its two dots."""


def in_discord_token(literal: str) -> tuple[str, ...]:
    """Patterns matching where ``literal`` (token characters only) lies inside a Discord bot
    token's middle segment (in the first or last segment, it is before or after that
    segment's shape, which :func:`near` finds)."""
    return (rf"{re.escape(literal)}{_T}{{0,{6 - len(literal)}}}\.",)


def near(literal: str, shapes: Iterable[str], inside: Iterable[str] = ()) -> str:
    """A prefilter pattern for ``literal`` on a line that also holds one of ``shapes``, before
    or after it, or where a pattern of ``inside`` matches (the literal inside the token itself).
    A token rule's boundaries keep a literal from straddling the token's edge."""
    lit = re.escape(literal)
    shape = "(?:" + "|".join(shapes) + ")"
    return "|".join((f"{lit}.*{shape}", f"{shape}.*{lit}", *inside))


AUTH_NEAR_TOKEN = near(
    "auth", (TWILIO_SID_SHAPE, DISCORD_TOKEN_SHAPE), inside=in_discord_token("auth")
)
"""``auth`` (the Twilio and Discord rules' context word; every ``authentication failure`` line
of an sshd log holds it) only on a line holding a Twilio SID or a Discord bot token."""
