"""The ``raw`` format's lean loop in ``parse_lines`` gives the events the general loop gives."""

from __future__ import annotations

import random

from prodshield.logs.api import parse_lines
from prodshield.logs.formats.base import Record
from prodshield.logs.formats.raw import RawFormat
from prodshield.logs.sources.files import ReadStats


class _General(RawFormat):
    """The same format through the general loop (``parse`` overridden)."""

    def parse(self, line: str) -> Record | None:
        return super().parse(line)


def test_raw_events_are_those_of_the_general_loop() -> None:
    rng = random.Random(1)
    pool = ["hello 1", "  at foo.bar(X.java:1)", "\tat x", "Caused by: boom", "", "   ", "x y"]
    for _ in range(300):
        lines = [rng.choice(pool) for _ in range(rng.randrange(0, 30))]
        fast, slow = ReadStats(), ReadStats()
        got = [
            (e.line, e.message, e.raw, e.fields) for e in parse_lines(lines, "s", "raw", stats=fast)
        ]
        want = [
            (e.line, e.message, e.raw, e.fields)
            for e in parse_lines(lines, "s", _General(), stats=slow)
        ]
        assert got == want, lines
        assert fast.events == slow.events == len(got)
