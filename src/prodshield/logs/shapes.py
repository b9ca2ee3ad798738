"""What masking makes of a line, cached by the line's *shape*.

Masking (:mod:`prodshield.logs.masking`) is the costly part of mining a line, and it depends on a
token's digits only through their runs: lines with the same shape (:func:`line_shape`) mask the
same way. :class:`ShapeCaches` holds the caches the miner masks through, each bounded by the
miner's ``cache_size``:

- exact token -> masked token (constants, and values while there is room);
- token shape -> masked token (``""`` when that shape's tokens must be masked one by one);
- line shape -> :class:`Shape` (the masked tokens, the positions re-masked per line, and the
  sequence's entry once placed), for lines learnt one at a time;
- coarse line shape -> :class:`Shape`, for batches (:mod:`prodshield.logs.batch`).

Each is also bounded by the characters of its keys (``cache_chars``): a count alone let hostile
lines (long unique words, kilobyte lines) hold gigabytes in 100,000 entries. A cache past either
bound is emptied, as when it is full; caching never changes what a line masks to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from prodshield.logs.clusters import Entry
from prodshield.logs.masking import WILDCARD, mask_token

_MULTI_DIGITS = re.compile(r"\d\d+")
_ANY_DIGIT = re.compile(r"\d")
# a UUID the shape did not hide must have an upper-case hex letter (the rest are marked)
_MAYBE_UUID = re.compile(r"[0-9a-fA-F\x01]+(?:-[0-9a-fA-F\x01]+){4}")
# lower-case UUIDs, and hex ids (a word of hex digits, at least two of them digits and one a
# letter): every one masks to <*> whatever its characters
UUID_LC = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX_WORD = re.compile(r"(?<!\w)(?=[0-9]*[a-f])(?=[a-f]*[0-9][a-f]*[0-9])[0-9a-f]+(?!\w)")
_HEX_OR_RUN = re.compile(_HEX_WORD.pattern + r"|\d\d+")


def _hides_uuid(shape: str) -> bool:
    return any(any(c in "ABCDEF" for c in m.group()) for m in _MAYBE_UUID.finditer(shape))


def line_shape(message: str) -> str:
    """What masking sees of a line: tokens with the same shape mask the same way.

    Masking looks at digits through their runs: a run of several digits always makes its piece a
    variable, so every such run becomes ``\\x01``, and so does a hex id (a word of hex digits, at
    least two of them digits: a variable in every context a run of digits is one); single digits
    stay as they are (``ssh2`` is a name, ``ssh22`` a value). Lower-case UUIDs (letters or not)
    become ``\\x03``.
    C-level passes only.
    """
    if "-" in message and len(message) >= 36:
        message = UUID_LC.sub("\x03", message)
    return _HEX_OR_RUN.sub("\x01", message)


CACHE_CHARS = 16_000_000
"""Characters of keys one cache may hold (about 16 MB of ASCII text, besides the entries)."""


def make_room(
    cache: dict[Any, Any], held: dict[int, int], limit: int, chars: int, key_chars: int
) -> bool:
    """Empty ``cache`` when one more key of ``key_chars`` characters would take it past
    ``limit`` entries or ``chars`` characters (True: it was emptied); count that key."""
    now = held.get(id(cache), 0) + key_chars
    emptied = len(cache) >= limit or now > chars
    if emptied:
        cache.clear()
        now = key_chars
    held[id(cache)] = now
    return emptied


@dataclass(slots=True)
class Shape:
    """What masking makes of one line shape: the tokens, the positions re-masked per line, and
    the sequence's entry once placed (when no position is re-masked)."""

    masked: tuple[str, ...]
    keep: tuple[int, ...]
    entry: Entry | None = None


class ShapeCaches:
    """The masking caches of one miner (see the module docstring)."""

    def __init__(self, cache_size: int, cache_chars: int = CACHE_CHARS) -> None:
        self.cache_size = cache_size
        self.cache_chars = cache_chars
        self.held: dict[int, int] = {}
        """Characters of the keys each cache holds (by the cache's ``id``)."""
        self.tokens: dict[str, str] = {}
        """Exact token -> masked token."""
        self.token_shapes: dict[str, str] = {}
        """Token shape -> masked token (``""`` when its tokens must be masked one by one)."""
        self.digit_tokens: set[str] = set()
        """Masked tokens of ``token_shapes`` that keep a digit."""
        self.lines: dict[str, Shape] = {}
        """Line shape -> what masking makes of it."""
        self.groups: dict[str, Shape] = {}
        """Coarse line shape (batches) -> what masking makes of it."""

    def learn_shape(self, shape: str, raw: list[str]) -> Shape:
        """Mask a line (``raw``: its tokens) whose shape is new; remember the result for every
        line of that shape."""
        shapes = shape.split()
        if len(shapes) != len(raw):  # cannot happen (only digits change); be safe anyway
            shapes = raw
        masked: list[str] = []
        keep: list[int] = []
        get = self.token_shapes.get
        for i, token in enumerate(raw):
            m = get(shapes[i])
            if m is None:
                m = self.mask_by_shape(token, shapes[i])
            if m == "":
                # the rules depend on this token's digits themselves: masked per line
                keep.append(i)
                m = self.mask_one(token)
            masked.append(m)
        self._room(self.lines, len(shape))
        known = Shape(tuple(masked), tuple(keep))
        self.lines[shape] = known
        return known

    def group_shape(self, coarse: str, message: str, shape: str) -> Shape:
        """What masking makes of a batch group (its coarse shape, first line and that line's
        shape); it holds for every batch to come."""
        known = self.groups.get(coarse)
        if known is None:
            known = Shape(*self._group_mask(message, shape))
            self._room(self.groups, len(coarse))
            self.groups[coarse] = known
        return known

    def _group_mask(self, message: str, shape: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The masked tokens of a batch group's first line and the positions that can differ
        between its lines (a digit kept in the template, a token masked one by one)."""
        raw = message.split()
        shapes = shape.split()
        if len(shapes) != len(raw):
            shapes = raw
        get = self.token_shapes.get
        digits = self.digit_tokens
        found = list(map(get, shapes))
        if None in found:
            missing = [i for i, m in enumerate(found) if m is None]
            if (
                len(self.token_shapes) + len(missing) >= self.cache_size
                or self.held.get(id(self.token_shapes), 0) + sum(len(shapes[i]) for i in missing)
                > self.cache_chars
            ):
                return self._group_mask_slow(raw, shapes)  # the cache may be cleared on the way
            for i in missing:
                m = get(shapes[i])  # a shape met earlier on this line is known by now
                found[i] = m if m is not None else self.mask_by_shape(raw[i], shapes[i])
        # no cache is cleared on the way: the known masks and the new ones (in line order) are
        # what the line-order loop of :meth:`_group_mask_slow` reads
        hit = cast("list[str]", found)
        if "" not in hit and digits.isdisjoint(hit):
            return tuple(hit), ()
        kept: list[int] = []
        for i, m in enumerate(hit):
            if m == "":
                kept.append(i)
                hit[i] = self.mask_one(raw[i])
            elif m in digits:
                kept.append(i)
        return tuple(hit), tuple(kept)

    def _group_mask_slow(
        self, raw: list[str], shapes: list[str]
    ) -> tuple[tuple[str, ...], tuple[int, ...]]:
        get = self.token_shapes.get
        digits = self.digit_tokens
        masked: list[str] = []
        keep: list[int] = []
        for i, token in enumerate(raw):
            m = get(shapes[i])
            if m is None:
                m = self.mask_by_shape(token, shapes[i])
            if m == "":
                keep.append(i)
                m = self.mask_one(token)
            elif m in digits:
                keep.append(i)
            masked.append(m)
        return tuple(masked), tuple(keep)

    def mask_by_shape(self, token: str, shape: str) -> str:
        """The masked token, cached under its shape when every token of that shape masks alike;
        ``""`` marks a shape whose tokens must be masked one by one."""
        masked = self.mask_one(token)
        sensitive = (
            _MULTI_DIGITS.search(masked) is not None  # the shape hides a run that was kept
            or token.count(":") >= 5  # MAC addresses count hex pairs
            or not token.isascii()
            # something the shape did not hide that may be a UUID (upper case, digits first,
            # or digit runs whose lengths the shape forgets): UUIDs count their digits
            or ("-" in shape and _hides_uuid(shape))
        )
        cache = self.token_shapes
        if self._room(cache, len(shape)):
            self.digit_tokens.clear()
        cache[shape] = "" if sensitive else masked
        if not sensitive and _ANY_DIGIT.search(masked) is not None:
            self.digit_tokens.add(masked)
        return "" if sensitive else masked

    def mask_one(self, token: str) -> str:
        """One token, masked (through the exact-token cache)."""
        m = self.tokens.get(token)
        return m if m is not None else self.mask_slow(token)

    def mask_slow(self, token: str) -> str:
        """One token not in the exact-token cache, masked (and cached while there is room)."""
        if token.isdigit():
            return WILDCARD  # the commonest variable: not worth a cache slot
        masked = mask_token(token)
        cache = self.tokens
        # constants repeat and are few; values are mostly unique: cache them only while there is
        # room, so they never evict the vocabulary
        if masked == token or len(cache) < self.cache_size // 2:
            self._room(cache, len(token))
            cache[token] = masked
        return masked

    def _room(self, cache: dict[Any, Any], key_chars: int) -> bool:
        return make_room(cache, self.held, self.cache_size, self.cache_chars, key_chars)
