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

from prodshield.logs.detectors.base import EventLike, Gate


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
        self._prefilter: Any = None
        if literals and not self.every:
            from prodshield.secrets.prefilter import make_prefilter

            self._prefilter = make_prefilter(literals, patterns=self.narrowed)

    def candidates(self, events: Sequence[EventLike]) -> list[int] | None:
        """Sorted indexes of the events some detector can act on; None for every event."""
        if self.every:
            return None
        picked: set[int] = set()
        parts: list[str] = []
        owners: list[int] = []
        fields_wanted, levels = self.fields, self.levels
        for i, event in enumerate(events):
            if fields_wanted and event.fields and not fields_wanted.isdisjoint(event.fields):
                picked.add(i)
                continue
            level = event.level
            if level and level.lower() in levels:
                picked.add(i)
                continue
            message = event.message or ""
            raw = getattr(event, "raw", None) or ""
            if not message.isascii() or not raw.isascii():
                picked.add(i)  # caseless literals are ASCII-caseless: such lines go through whole
                continue
            parts.append(message)
            owners.append(i)
            if raw and raw != message:
                parts.append(raw)
                owners.append(i)
        if parts and (self._prefilter is not None or self.patterns):
            text = "\n".join(parts)
            starts = [0, *accumulate(len(p) + 1 for p in parts)]
            if self._prefilter is not None:
                for at in self._prefilter.line_starts(text.encode("ascii")):
                    picked.add(owners[bisect_right(starts, at) - 1])
            for pattern in self.patterns:
                for m in pattern.finditer(text):
                    first = bisect_right(starts, m.start()) - 1
                    last = bisect_right(starts, max(m.start(), m.end() - 1)) - 1
                    picked.update(owners[first : last + 1])
        return sorted(picked)
