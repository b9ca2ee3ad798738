"""The block gate: which events of a block any detector can act on, found in one pass.

Most log lines concern no detector. Instead of asking each detector about each line, the service
joins a block's texts and scans them once for every detector's literals (one caseless automaton:
hyperscan when installed, the secret scanner's prefilter engines otherwise), adds the events whose
fields or level a detector reads, and hands the detectors only those events, in order. The gates
are supersets (:class:`prodshield.logs.detectors.base.Gate`), so the findings are the ones a
line-by-line pass gives.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

from prodshield.logs.detectors.base import EventLike, Found, Gate


class BlockGate:
    """The union of the detectors' gates; ``every`` when one detector has none."""

    def __init__(self, detectors: Sequence[Any]) -> None:
        gates: list[Gate] = []
        self.every = False
        for d in detectors:
            gate = d.gate() if hasattr(d, "gate") else None
            if gate is None:
                self.every = True
                break
            gates.append(gate)
        literals = sorted({lit.lower() for g in gates for lit in g.literals})
        # A literal is narrowed only when every gate that lists it narrows it the same way.
        narrowing: dict[str, set[str | None]] = {}
        for g in gates:
            narrowed = {lit.lower(): pattern for lit, pattern in g.narrowed}
            for lit in g.literals:
                narrowing.setdefault(lit.lower(), set()).add(narrowed.get(lit.lower()))
        self.narrowed: dict[str, str] = {
            lit: pattern
            for lit, found in narrowing.items()
            if len(found) == 1 and (pattern := next(iter(found))) is not None
        }
        self.patterns = [p for g in gates for p in g.patterns]
        self.fields = frozenset().union(*(g.fields for g in gates))
        self.levels = frozenset().union(*(g.levels for g in gates))
        self.literals = literals
        self._prefilter: Any = None
        if literals and not self.every:
            from prodshield.secrets.prefilter import make_prefilter

            self._prefilter = make_prefilter(literals, patterns=self.narrowed)
        self._named = getattr(self._prefilter, "literals_in", None) is not None
        """The engine names the literals it finds (hyperscan): detectors can be told them."""
        self._in_message: dict[int, set[str]] = {}
        self._in_raw: dict[int, set[str]] = {}
        self._distinct_raw: set[int] = set()
        self._unscanned: set[int] = set()

    def candidates(self, events: Sequence[EventLike]) -> list[int] | None:
        """Sorted indexes of the events some detector can act on; None for every event."""
        self._in_message, self._in_raw = {}, {}
        self._distinct_raw, self._unscanned = set(), set()
        if self.every:
            return None
        picked: set[int] = set()
        parts: list[str] = []
        owners: list[int] = []
        raws: list[bool] = []  # the part is an event's raw text (not its message)
        fields_wanted, levels = self.fields, self.levels
        distinct, unscanned = self._distinct_raw, self._unscanned
        for i, event in enumerate(events):
            message = event.message or ""
            raw = getattr(event, "raw", None) or ""
            if not message.isascii() or not raw.isascii():
                picked.add(i)  # caseless literals are ASCII-caseless: such lines go through whole
                unscanned.add(i)
                continue
            if fields_wanted and event.fields and not fields_wanted.isdisjoint(event.fields):
                picked.add(i)
            else:
                level = event.level
                if level and level.lower() in levels:
                    picked.add(i)
            # scanned even when picked: the detectors are told the literals it holds
            parts.append(message)
            owners.append(i)
            raws.append(False)
            if raw and raw != message:
                parts.append(raw)
                owners.append(i)
                raws.append(True)
                distinct.add(i)
        self._scan(parts, owners, raws, picked)
        return sorted(picked)

    def candidates_texts(self, texts: Sequence[str]) -> list[int] | None:
        """:meth:`candidates` for events whose message is their raw text and that have no fields
        and no level (the ``raw`` format's), given as their texts: the same answer, without an
        event or a per-event step for the texts no literal is in."""
        self._in_message, self._in_raw = {}, {}
        self._distinct_raw, self._unscanned = set(), set()
        if self.every:
            return None
        picked: set[int] = set()
        if all(map(str.isascii, texts)):
            parts = texts
            owners: Sequence[int] = range(len(texts))
        else:  # caseless literals are ASCII-caseless: such texts go through whole
            unscanned = self._unscanned
            parts, kept = [], []
            for i, text in enumerate(texts):
                if text.isascii():
                    parts.append(text)
                    kept.append(i)
                else:
                    unscanned.add(i)
            picked |= unscanned
            owners = kept
        self._scan(parts, owners, _NEVER_RAW, picked)
        return sorted(picked)

    def _scan(
        self, parts: Sequence[str], owners: Sequence[int], raws: Any, picked: set[int]
    ) -> None:
        """Pick the owners of the parts holding a literal or a pattern's match."""
        if parts and self._prefilter is not None:
            text = "\n".join(parts)
            starts = [0, *accumulate(len(p) + 1 for p in parts)]
            self._literal_hits(text, starts, owners, raws, picked)
        if parts and self.patterns:
            # the patterns only for the parts of events not picked yet
            rest = [k for k, owner in enumerate(owners) if owner not in picked]
            rest_parts = [parts[k] for k in rest]
            text = "\n".join(rest_parts)
            starts = [0, *accumulate(len(p) + 1 for p in rest_parts)]
            for pattern in self.patterns:
                for m in pattern.finditer(text):
                    first = bisect_right(starts, m.start()) - 1
                    last = bisect_right(starts, max(m.start(), m.end() - 1)) - 1
                    picked.update(owners[rest[k]] for k in range(first, last + 1))

    def _literal_hits(
        self, text: str, starts: list[int], owners: Sequence[int], raws: Any, picked: set[int]
    ) -> None:
        """Pick the owners of the parts holding a literal; note which literals, when named."""
        literals = self.literals
        in_message, in_raw = self._in_message, self._in_raw
        for at, ids in self._prefilter.line_hits(text.encode("ascii")):
            part = bisect_right(starts, at) - 1
            owner = owners[part]
            picked.add(owner)
            if ids is None:
                continue
            names = {literals[k] for k in ids}
            held = in_raw if raws[part] else in_message
            known = held.get(owner)
            if known is None:
                held[owner] = names
            else:
                known |= names

    def found(self, index: int) -> Found | None:
        """After :meth:`candidates`, the literals the block's event ``index`` holds (all of
        them), or None when not known (an engine that does not name them, a non-ASCII event)."""
        if not self._named or index in self._unscanned:
            return None
        message = self._in_message.get(index, _NOTHING)
        raw = self._in_raw.get(index, _NOTHING) if index in self._distinct_raw else message
        return Found(message, raw)


_NOTHING: frozenset[str] = frozenset()


class _NeverRaw:
    """``raws`` for parts that are all messages: every part is False."""

    def __getitem__(self, index: int) -> bool:
        return False


_NEVER_RAW = _NeverRaw()
