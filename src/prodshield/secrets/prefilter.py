"""Finding the lines that contain any rule literal, case-insensitively, in a block of bytes.

Two engines, chosen by measurement (benchmarks/secrets.py --engines): hyperscan compiles every
literal into one automaton and scans each block once; the pure-Python fallback lowercases the block
and runs ``bytes.find`` per literal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Prefilter(Protocol):
    name: str

    def line_starts(self, block: bytes) -> list[int]:
        """Sorted offsets of the starts of lines holding at least one literal."""
        ...


class FindPrefilter:
    """Pure Python: one ``bytes.find`` sweep per literal over the lowercased block."""

    name = "python"

    def __init__(self, keywords: Sequence[str]) -> None:
        self._keywords = [kw.encode() for kw in keywords]

    def line_starts(self, block: bytes) -> list[int]:
        lower = block.lower()
        starts: set[int] = set()
        find, rfind = lower.find, lower.rfind
        for kw in self._keywords:
            i = find(kw)
            while i != -1:
                starts.add(rfind(b"\n", 0, i) + 1)
                line_end = find(b"\n", i)
                if line_end == -1:
                    break
                i = find(kw, line_end)
        return sorted(starts)


class HyperscanPrefilter:
    """Every literal in one hyperscan database (caseless), one pass per block."""

    name = "hyperscan"

    def __init__(self, keywords: Sequence[str]) -> None:
        import hyperscan

        self._hs = hyperscan
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        expressions = [_escape(kw).encode() for kw in keywords]
        self._db.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=[hyperscan.HS_FLAG_CASELESS] * len(expressions),
        )
        self._scratch: Any = hyperscan.Scratch(self._db)

    def line_starts(self, block: bytes) -> list[int]:
        ends: list[int] = []
        append = ends.append

        def on_match(_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append(to)

        self._db.scan(block, match_event_handler=on_match, scratch=self._scratch)
        if not ends:
            return []
        starts: set[int] = set()
        rfind = block.rfind
        last_line_end = -1
        last_start = -1
        for to in sorted(ends):
            if to <= last_line_end:
                continue
            start = rfind(b"\n", 0, to) + 1
            if start != last_start:
                starts.add(start)
                last_start = start
            line_end = block.find(b"\n", to)
            last_line_end = len(block) if line_end == -1 else line_end
        return sorted(starts)


def _escape(literal: str) -> str:
    return "".join("\\x%02x" % b for b in literal.encode())


def make_prefilter(keywords: Sequence[str], engine: str = "auto") -> Prefilter:
    """The fastest available engine ("auto"), or the one asked for."""
    if engine in ("auto", "hyperscan"):
        try:
            return HyperscanPrefilter(keywords)
        except ImportError:
            if engine == "hyperscan":
                raise
    return FindPrefilter(keywords)
