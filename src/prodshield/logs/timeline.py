"""Several files' events as one stream in time order: what windowed detectors need.

A 5xx burst or a brute force is counted within seconds of event time, so the detectors must see
the events of ``access.log.1`` and ``access.log`` (or of two services' files written side by
side) as one file holding the same lines would give them: merged by timestamp, oldest first.
Each file is read in its own order; an event without a timestamp keeps the time of the event
before it in its file (a continuation stays with its record). A file is opened only when the
merge reaches its first timestamp, so rotated archives are read one after another, not all at
once; a file whose first lines give no timestamp (or stdin) is read from the start.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from typing import Protocol, TypeVar

HEAD_EVENTS = 1000
"""Events of a file's head read for its first timestamp before it is taken as having none."""


_ROTATED = re.compile(r"^(?P<base>.+?)\.(?P<n>\d{1,6})(?:\.(?:gz|bz2|xz|lzma|zst))?$")


def rotation(path: str) -> tuple[str, int]:
    """The file a rotated file was (``access.log`` for ``access.log.2.gz``) and how many
    rotations old it is (0: the live file; ``.gz`` and the like alone are not a rotation)."""
    m = _ROTATED.match(path)
    return (m.group("base"), int(m.group("n"))) if m else (path, 0)


@lru_cache(maxsize=4096)
def _rotation(path: str) -> tuple[str, int]:
    return rotation(path)


def in_log(path: str, line: int) -> tuple[str, int]:
    """The log ``path`` was rotated from (``auth.log`` for ``auth.log.1``) and a number for
    ``line`` that no line of another rotation of it has (a rotation ``n`` old: ``line - n *
    2**40``, below the newer ones', so they still come in order): what detectors that follow an
    attacker key by, so a brute force split by rotation is one brute force, and a line counted
    as evidence (``LogFinding.lines``) is told from the line of the same number in the other
    file."""
    base, age = _rotation(path)
    return (base, line - (age << 40)) if age else (path, line)


def oldest_first(paths: Sequence[str]) -> list[int]:
    """Indexes of ``paths`` with each file's rotations just before it, oldest first
    (``access.log.2.gz``, ``access.log.1``, ``access.log``); other files keep their order."""
    place: dict[str, int] = {}
    keys = []
    for i, path in enumerate(paths):
        base, age = rotation(path)
        keys.append((place.setdefault(base, i), -age, i))
    return sorted(range(len(paths)), key=keys.__getitem__)


class _Timed(Protocol):
    @property
    def timestamp(self) -> datetime | None: ...


def instant(ts: datetime) -> float:
    """Seconds since the epoch; a time without an offset is taken as UTC (as the digest's hours)."""
    try:
        return (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts).timestamp()
    except (OverflowError, ValueError, OSError):
        return float("-inf")


def first_instant(events: Iterator[_Timed]) -> float | None:
    """The first timestamp among the first :data:`HEAD_EVENTS` of ``events`` (closed after)."""
    try:
        for event in islice(events, HEAD_EVENTS):
            if event.timestamp is not None:
                return instant(event.timestamp)
        return None
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()


E = TypeVar("E", bound=_Timed)


def by_time(
    sources: Sequence[tuple[float | None, Callable[[], Iterator[E]]]],
) -> Iterator[E]:
    """The events of every source merged by timestamp. Each source is its first timestamp (None:
    unknown, read from the start) and a function opening its events; sources starting at the
    same time keep their given order (pass rotated files oldest first)."""
    if len(sources) == 1:
        yield from sources[0][1]()
        return
    firsts = [float("-inf") if first is None else first for first, _ in sources]
    # the sources not opened yet, the earliest at the end
    pending = sorted(range(len(sources)), key=lambda i: (firsts[i], i), reverse=True)
    streams: dict[int, Iterator[E]] = {}
    keys = firsts[:]  # per source: the time of its last event with one
    heap: list[tuple[float, int, int, E]] = []
    seq = 0

    def push(i: int) -> None:
        nonlocal seq
        event = next(streams[i], None)
        if event is None:
            del streams[i]
            return
        if event.timestamp is not None:
            keys[i] = instant(event.timestamp)
        seq += 1
        heapq.heappush(heap, (keys[i], i, seq, event))

    while heap or pending:
        while pending and (not heap or firsts[pending[-1]] <= heap[0][0]):
            i = pending.pop()
            streams[i] = sources[i][1]()
            push(i)
        if heap:
            _, i, _, event = heapq.heappop(heap)
            yield event
            push(i)
