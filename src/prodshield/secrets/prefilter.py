"""Finding the lines that contain any rule literal, case-insensitively, in a block of bytes.

Engines, chosen by measurement (benchmarks/secrets_scan.py): hyperscan compiles every literal into one
automaton and scans each block once (the default when installed); google-re2 runs one caseless
alternation; the pure-Python fallback lowercases the block and runs ``bytes.find`` per literal.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol


class Prefilter(Protocol):
    name: str

    def line_starts(self, block: bytes) -> list[int]:
        """Sorted offsets of the starts of lines holding at least one literal."""
        ...

    def contains_any(self, line: str) -> bool:
        """Whether one line holds any literal (the per-line fast path)."""
        ...

    def line_hits(self, block: bytes) -> list[tuple[int, set[int] | None]]:
        """Candidate line starts with the indexes of the literals found there (None: unknown)."""
        ...


def _starts_from_ends(block: bytes, ends: list[int]) -> list[int]:
    """Line starts for match end offsets (several matches on one line give one start)."""
    starts: list[int] = []
    rfind, find = block.rfind, block.find
    line_end = -1
    for to in sorted(ends):
        if to <= line_end:
            continue
        starts.append(rfind(b"\n", 0, max(to - 1, 0)) + 1)
        line_end = find(b"\n", to - 1)
        if line_end == -1:
            break
    return starts


def _group_by_line(
    block: bytes, matches: list[tuple[int, int]]
) -> list[tuple[int, set[int] | None]]:
    """(line start, literal ids) for (match end, literal id) pairs."""
    out: list[tuple[int, set[int] | None]] = []
    rfind, find = block.rfind, block.find
    line_end = -1
    current: set[int] = set()
    for to, ident in sorted(matches):
        if to <= line_end:
            current.add(ident)
            continue
        current = {ident}
        out.append((rfind(b"\n", 0, max(to - 1, 0)) + 1, current))
        line_end = find(b"\n", to - 1)
        if line_end == -1:
            line_end = len(block)
    return out


class FindPrefilter:
    """Pure Python: one ``bytes.find`` sweep per literal over the lowercased block."""

    name = "python"

    def __init__(self, keywords: Sequence[str]) -> None:
        # A literal that contains another literal adds nothing to the sweep.
        kept = [kw for kw in keywords if not any(o != kw and o in kw for o in keywords)]
        self._keywords = [kw.encode() for kw in kept]
        self._text_keywords = tuple(kept)

    def line_hits(self, block: bytes) -> list[tuple[int, set[int] | None]]:
        return [(start, None) for start in self.line_starts(block)]

    def contains_any(self, line: str) -> bool:
        low = line.lower()
        return any(kw in low for kw in self._text_keywords)

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


_CLONE = threading.Lock()  # cloning reads the prototype scratch: one thread at a time


class HyperscanPrefilter:
    """Every literal in one hyperscan database (caseless), one pass per block."""

    name = "hyperscan"

    def __init__(self, keywords: Sequence[str], patterns: Mapping[str, str] | None = None) -> None:
        import hyperscan

        self._hs = hyperscan
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        # A literal with a narrower pattern (see `make_prefilter`) matches only where that
        # pattern does: the same pass, fewer candidate lines.
        patterns = patterns or {}
        expressions = [patterns.get(kw, _escape(kw)).encode() for kw in keywords]
        self._db.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=[hyperscan.HS_FLAG_CASELESS] * len(expressions),
        )
        self._scratch: Any = hyperscan.Scratch(self._db)
        self._local = threading.local()
        """A scratch space per thread: hyperscan refuses a scan while another thread's scan uses
        the same one (HS_SCRATCH_IN_USE), and the log follower, the digest and web requests
        share one engine."""

    @property
    def _thread_scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            with _CLONE:
                scratch = self._local.scratch = self._scratch.clone()
        return scratch

    def line_starts(self, block: bytes) -> list[int]:
        ends: list[int] = []
        append = ends.append

        def on_match(_id: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append(to)

        self._db.scan(block, match_event_handler=on_match, scratch=self._thread_scratch)
        return _starts_from_ends(block, ends) if ends else []

    def line_hits(self, block: bytes) -> list[tuple[int, set[int] | None]]:
        matches: list[tuple[int, int]] = []
        append = matches.append

        def on_match(ident: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append((to, ident))

        self._db.scan(block, match_event_handler=on_match, scratch=self._thread_scratch)
        return _group_by_line(block, matches)

    def literals_in(self, line: str) -> set[int]:
        """The indexes of every literal one line holds (the log fast path: which rules to run)."""
        found: set[int] = set()
        add = found.add

        def on_match(ident: int, _from: int, _to: int, _flags: int, _ctx: object) -> None:
            add(ident)

        data = line.encode("utf-8", "surrogateescape")
        self._db.scan(data, match_event_handler=on_match, scratch=self._thread_scratch)
        return found

    def contains_any(self, line: str) -> bool:
        found: list[bool] = []

        def on_match(_id: int, _from: int, _to: int, _flags: int, _ctx: object) -> bool:
            found.append(True)
            return True  # stop at the first literal

        data = line.encode("utf-8", "surrogateescape")
        try:
            self._db.scan(data, match_event_handler=on_match, scratch=self._thread_scratch)
        except self._hs.ScanTerminated:
            pass
        return bool(found)


class Re2Prefilter:
    """google-re2: one caseless alternation of every literal (measured; not the default)."""

    name = "re2"

    def __init__(self, keywords: Sequence[str]) -> None:
        import re

        import re2

        self._regex: Any = re2.compile(("(?i)" + "|".join(re.escape(k) for k in keywords)).encode())

    def line_starts(self, block: bytes) -> list[int]:
        ends = [m.end() for m in self._regex.finditer(block)]
        return _starts_from_ends(block, ends) if ends else []

    def line_hits(self, block: bytes) -> list[tuple[int, set[int] | None]]:
        return [(start, None) for start in self.line_starts(block)]

    def contains_any(self, line: str) -> bool:
        return self._regex.search(line.encode("utf-8", "surrogateescape")) is not None


def _escape(literal: str) -> str:
    return "".join(f"\\x{b:02x}" for b in literal.encode())


def make_prefilter(
    keywords: Sequence[str], engine: str = "auto", patterns: Mapping[str, str] | None = None
) -> Prefilter:
    """The fastest available engine ("auto"), or the one asked for.

    `patterns` maps a literal to a hyperscan expression that holds it and is necessary for the
    rules it wakes (``://`` → only a URL with ``user:password@``): hyperscan matches that instead,
    so lines with the bare literal are never candidates. The other engines match the literal (a
    superset: the rules' own regexes decide)."""
    if engine == "re2":
        return Re2Prefilter(keywords)
    if engine in ("auto", "hyperscan"):
        try:
            return HyperscanPrefilter(keywords, patterns)
        except ImportError:
            if engine == "hyperscan":
                raise
    return FindPrefilter(keywords)
