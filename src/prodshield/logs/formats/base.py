"""The protocol every log format implements, and helpers they share."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, ClassVar, Protocol, runtime_checkable


class _LocalZone(tzinfo):
    """The machine's local time zone (``TZ``, else ``/etc/localtime``) with its daylight saving
    rules, as the C library applies them (``time.mktime``/``localtime``)."""

    def _local(self, dt: datetime | None) -> time.struct_time:
        if dt is None:
            return time.localtime()
        fields = (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, 0, 0, -1)
        try:
            return time.localtime(time.mktime(fields))
        except (OverflowError, OSError, ValueError):
            return time.localtime(0)

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(seconds=self._local(dt).tm_gmtoff)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=1) if self._local(dt).tm_isdst > 0 else timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return self._local(dt).tm_zone

    def __repr__(self) -> str:
        return "LOCAL"


def _local_zone() -> tzinfo:
    # UTC itself where the machine runs in UTC (servers, CI): the same results, no C calls
    if time.timezone == 0 and time.altzone == 0 and not time.daylight:
        return UTC
    return _LocalZone()


LOCAL: tzinfo = _local_zone()
"""The zone of a log time written without one (nginx's error log, Apache's, syslog's RFC 3164,
Python's ``asctime``, ISO times with no offset): the machine's local time, as the programs that
write those lines use it. ``TZ`` sets it; UTC where the machine runs in UTC."""


@dataclass(slots=True)
class Record:
    """What a format extracts from the first line of a record."""

    message: str
    timestamp: datetime | None = None
    level: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    continuation: bool = False
    """True when this line belongs to the previous record (PostgreSQL DETAIL/STATEMENT lines)."""


@runtime_checkable
class LogFormat(Protocol):
    """A log format: recognise its lines, parse a record's first line, finish a joined record."""

    type: str
    """The format's key in ``REGISTRY``: what ``--format`` and a source's ``format:`` name."""
    description: str
    multiline: bool
    """Whether lines that do not parse continue the previous record (tracebacks, slow-log bodies)."""

    example: dict[str, Any]
    """``lines`` of this format, as a real server writes them: auto-detection picks this format
    for them (tests/logs/test_logs_formats.py checks every member)."""

    def sniff(self, line: str) -> bool:
        """Whether ``line`` looks like a record of this format (used by auto-detection)."""
        ...

    def parse(self, line: str) -> Record | None:
        """The record starting at ``line``, or None when the line continues the previous one."""
        ...

    def finish(self, record: Record, extra: list[str]) -> None:
        """Fold the continuation lines ``extra`` into ``record`` (called once per record)."""
        ...


class BaseFormat:
    """Default ``finish``: continuation lines are appended to the message."""

    type = ""
    description = ""
    multiline = True
    example: dict[str, Any] = {}

    def finish(self, record: Record, extra: list[str]) -> None:
        if extra:
            record.message = "\n".join([record.message, *extra])


class LineFormat(BaseFormat):
    """A layout one regular expression (``pattern``) recognises at the start of each record:
    sniffed by that match; :meth:`record` reads the match of a line that has one."""

    pattern: ClassVar[re.Pattern[str]]

    def sniff(self, line: str) -> bool:
        return self.pattern.match(line) is not None

    def parse(self, line: str) -> Record | None:
        m = self.pattern.match(line)
        return None if m is None else self.record(m)

    def record(self, m: re.Match[str]) -> Record | None:
        raise NotImplementedError


_LEVELS = {
    "trace": "debug",
    "debug": "debug",
    "debug1": "debug",
    "debug2": "debug",
    "debug3": "debug",
    "debug4": "debug",
    "debug5": "debug",
    "dbug": "debug",
    "info": "info",
    "information": "info",
    "informational": "info",
    "log": "info",
    "notice": "notice",
    "warn": "warning",
    "warning": "warning",
    "err": "error",
    "eror": "error",
    "error": "error",
    "fatal": "fatal",
    "crit": "critical",
    "critical": "critical",
    "panic": "critical",
    "alert": "alert",
    "emerg": "emergency",
    "emergency": "emergency",
    "severe": "error",
    # abbreviations and single letters (Serilog's VRB/DBG/INF/WRN/ERR/FTL, glog's and klog's
    # I/W/E/F, zap's dpanic), as logcat's letters are read
    "verbose": "debug",
    "vrb": "debug",
    "trc": "debug",
    "dbg": "debug",
    "t": "debug",
    "v": "debug",
    "d": "debug",
    "inf": "info",
    "i": "info",
    "wrn": "warning",
    "w": "warning",
    "e": "error",
    "ftl": "fatal",
    "f": "fatal",
    "crt": "critical",
    "dpanic": "critical",
}
_SYSLOG_SEVERITY = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
    "debug",
]


def norm_level(value: Any) -> str | None:
    """A level name in lower case (``warn`` -> ``warning``); numbers are syslog severities."""
    if value is None:
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit()):
        n = int(value)
        return _SYSLOG_SEVERITY[n] if 0 <= n < 8 else None
    text = str(value).strip().lower()
    return _LEVELS.get(text, text or None)


def syslog_severity(number: int) -> str:
    return _SYSLOG_SEVERITY[number % 8]


_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
)}  # fmt: skip


def month_number(name: str) -> int | None:
    return _MONTHS.get(name[:3].lower())


def parse_iso(text: str, default_tz: tzinfo = LOCAL) -> datetime | None:
    """An ISO-8601-ish timestamp (``T`` or space, ``,`` or ``.`` fraction, ``Z``/offset/none;
    without a zone, in ``default_tz``: the local time, :data:`LOCAL`)."""
    value = text.strip().replace(",", ".", 1)
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    for suffix in (" UTC", " GMT"):
        if value.endswith(suffix):
            value = value[: -len(suffix)] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed


def from_epoch(value: Any) -> datetime | None:
    """Epoch seconds, milliseconds or microseconds (guessed from the magnitude)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number > 1e14:
        number /= 1e6
    elif number > 1e11:
        number /= 1e3
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def offset_tz(text: str) -> timezone:
    """``+0200`` / ``-05:00`` as a timezone."""
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0)))


def to_number(text: str) -> float | int | None:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def local_time(
    year: int, month: int, day: int, hour: int, minute: int, second: int, micro: int = 0
) -> datetime | None:
    """A time written with no zone, in the machine's (:data:`LOCAL`); None when it is no date."""
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=LOCAL)
    except ValueError:
        return None


def yearless(
    month: int, day: int, hour: int, minute: int, second: int, micro: int = 0
) -> datetime | None:
    """A local time written with no year (syslog's RFC 3164, logcat, Proxifier): this year, or
    last year when that would be more than two days ahead (December's lines read in January)."""
    now = datetime.now(UTC)
    try:
        ts = datetime(now.year, month, day, hour, minute, second, micro, tzinfo=LOCAL)
        if ts > now + timedelta(days=2):
            ts = ts.replace(year=now.year - 1)
    except ValueError:  # 29 February outside a leap year
        return None
    return ts


def millis(text: str | None) -> int:
    """Microseconds from a fraction of a second's digits (``"008"`` -> 8000)."""
    return int((text or "0")[:6].ljust(6, "0"))
