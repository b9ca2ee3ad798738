"""Repeat compression: one syslog line standing for several identical ones.

rsyslog writes ``message repeated 5 times: [ Failed password for root from ...]`` (the message
in brackets, ``$RepeatedMsgReduction``); sysklogd, FreeBSD's syslogd and BusyBox write one line instead of five identical ones, naming
no message (``web1 last message repeated 5 times``, or under the program's tag
``web1 sshd[42]: last message repeated 5 times``). The detectors see such a line as the message
it repeats, from the same file, host and program (and process id, when the line gives one; the
line above when it names no program), ``times`` over. Either line counts N in every detector that counts lines (:func:`repeats`:
auth_failure, brute_force, each rule, error_logged); template counts count the line itself.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodshield.logs.event import LogEvent

if TYPE_CHECKING:
    from prodshield.logs.detectors.base import EventLike

MAX_REPEATS = 10_000
"""The most times one line's ``repeated N times`` counts (a hostile N is bounded)."""
RECENT = 256
"""Lines of a file searched back for the message a repeat line stands for."""
MAX_FILES = 1024
"""Files whose recent lines are kept at once (past it, forgotten and started again)."""

_RSYSLOG = re.compile(r"\bmessage repeated (\d{1,9}) times: \[")
_LAST = re.compile(r"(?:--- )?last message repeated (\d{1,9}) times?(?: ---)?$")
_PREFIXES = ("last message repeated ", "--- last message repeated ")


@dataclass(slots=True)
class Repeated(LogEvent):
    """The message a ``last message repeated N times`` line stands for, ``times`` over: the
    repeated event with the repeat line's place and time."""

    times: int = 1


def repeats(event: object) -> int:
    """How many lines one event stands for: a :class:`Repeated` event's ``times``, rsyslog's
    ``message repeated 5 times: [ ...]`` 5 (bounded); any other line is one."""
    times = getattr(event, "times", None)
    if type(times) is int:
        return times
    message = getattr(event, "message", None)
    if not message or "repeated" not in message[:300]:
        return 1
    m = _RSYSLOG.search(message[:300])
    return min(max(int(m.group(1)), 1), MAX_REPEATS) if m else 1


def times_of(message: str) -> int | None:
    """N of a ``last message repeated N times`` message (bounded), else None."""
    if not message.startswith(_PREFIXES):
        return None
    m = _LAST.match(message)
    return min(max(int(m.group(1)), 1), MAX_REPEATS) if m else None


class LastMessages:
    """The recent events of each file, so a repeat line can be read as the message it repeats."""

    def __init__(self) -> None:
        self._recent: dict[str, deque[object]] = {}

    def expand(self, events: Sequence[object]) -> list[object] | None:
        """``events`` with each repeat line replaced by a :class:`Repeated` event, or None when
        the block holds none; either way the block is remembered for the next one."""
        # one C-speed pass over the messages: most blocks hold no repeat line
        starts = _PREFIXES
        at = [i for i, e in enumerate(events) if e.message.startswith(starts)]  # type: ignore[attr-defined]
        out: list[object] | None = None
        for i in at:
            event = events[i]
            n = times_of(event.message)  # type: ignore[attr-defined]
            if n is None or not isinstance(event, LogEvent):
                continue
            found = self._before(events, i, event)
            if found is None:
                continue
            if out is None:
                out = list(events)
            out[i] = _repeated(found, event, n)
        self._remember(events)
        return out

    def one(self, event: EventLike) -> EventLike:
        """:meth:`expand` of one event (``logs scan`` reads one at a time): the event, or the
        message it repeats."""
        if event.message.startswith(_PREFIXES):
            out = self.expand((event,))
            return out[0] if out else event  # type: ignore[return-value]
        recent = self._recent.get(event.source)
        if recent is None:
            recent = self._recent_of(event.source)
        recent.append(event)
        return event

    def _before(self, events: Sequence[object], i: int, event: LogEvent) -> LogEvent | None:
        """The event the repeat line ``events[i]`` repeats: the newest one before it of the same
        file and host, and program (and process) when the line names one (not itself a repeat
        line)."""
        fields = event.fields or {}
        host, app, pid = fields.get("host"), fields.get("app"), fields.get("pid")
        source = event.source
        recent = self._recent.get(source, ())
        looked = 0
        for candidate in _backwards(events, i, recent):
            looked += 1
            if looked > RECENT:
                return None
            if not isinstance(candidate, LogEvent) or candidate.source != source:
                continue
            got = candidate.fields or {}
            if got.get("host") != host or (app is not None and got.get("app") != app):
                continue
            if pid is not None and got.get("pid") not in (pid, None):
                continue  # another process of the program
            if times_of(candidate.message) is not None:
                continue  # a repeat of a repeat: the one above it again
            return candidate
        return None

    def _remember(self, events: Sequence[object]) -> None:
        if not events:
            return
        tail = events[-RECENT:]
        first, last = getattr(tail[0], "source", None), getattr(tail[-1], "source", None)
        if first == last and type(last) is str:  # a block of one file (the service's are)
            self._recent_of(last).extend(tail)
            return
        for event in tail:
            source = getattr(event, "source", None)
            if type(source) is str:
                self._recent_of(source).append(event)

    def _recent_of(self, source: str) -> deque[object]:
        recent = self._recent.get(source)
        if recent is None:
            if len(self._recent) >= MAX_FILES:
                self._recent.clear()
            recent = self._recent[source] = deque(maxlen=RECENT)
        return recent

    def adopt(self, old: LastMessages) -> None:
        """Go on from ``old``'s recent lines (the service's next epoch)."""
        self._recent = old._recent


def _backwards(events: Sequence[object], i: int, recent: Sequence[object]) -> list[object]:
    before = list(events[max(0, i - RECENT) : i])
    before.reverse()
    if len(before) < RECENT:
        before.extend(reversed(recent))
    return before


def _repeated(found: LogEvent, line: LogEvent, n: int) -> Repeated:
    return Repeated(
        line.source,
        line.line,
        line.timestamp or found.timestamp,
        found.level,
        found.message,
        dict(found.fields),
        line.raw,  # the evidence is the line the file holds
        found.template_id,
        found.template,
        list(found.params),
        n,
    )
