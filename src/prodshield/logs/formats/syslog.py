"""``syslog``: RFC 3164 (``<34>Oct 11 22:14:15 host app[12]: msg``, PRI optional as in files
written by rsyslog) and RFC 5424 (``<165>1 2003-10-11T22:14:15.003Z host app 12 ID47 [sd] msg``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from prodshield.logs.formats.base import (
    LOCAL,
    BaseFormat,
    Record,
    month_number,
    norm_level,
    parse_iso,
    syslog_severity,
)

_RFC5424 = re.compile(
    r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$"
)
# sysklogd's and FreeBSD's repeat compression names no program: "web1 last message repeated 5
# times" (the line above in the file, five more times)
_LAST_REPEATED = r"(?:--- )?last message repeated \d{1,9} times?(?: ---)?"
_RFC3164 = re.compile(
    r"(?:<(\d{1,3})>)?(\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) "
    r"(?:([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)|(?P<repeated>" + _LAST_REPEATED + r"))$"
)
# rsyslog's high-precision file format: ISO time, host, tag
_ISO_FILE = re.compile(r"(\d{4}-\d{2}-\d{2}T\S+) (\S+) ([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)$")
# "2024-03-12T10:15:32Z ERROR db: ..." is an application's "time LEVEL logger: message" line
# (the python format), not a host called ERROR
_LEVEL_WORD = re.compile(r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL|SEVERE)$")
_WORDS = "trace|debug[1-5]?|info|notice|warn|warning|err|error|crit|critical|fatal|severe|alert|emerg|panic"
# a level the program wrote at the start of its message, as the python format reads it: an upper
# case word (`ERROR payment failed`), or any case followed by a colon (OpenSSH's `error: ...`,
# `Error: ...`) or in brackets (`[ERROR] ...`, `<error> ...`)
_MESSAGE_LEVEL = re.compile(
    rf"(?:(?P<upper>{_WORDS.upper()})(?=[\s:]|$)|(?P<colon>(?i:{_WORDS})):|"
    rf"[\[<](?P<bracket>(?i:{_WORDS}))[\]>])"
)


def message_level(message: str) -> str | None:
    """The level a syslog message names at its start (RFC 3164 lines in files carry no PRI)."""
    m = _MESSAGE_LEVEL.match(message)
    if m is None:
        return None
    return norm_level(m.group("upper") or m.group("colon") or m.group("bracket"))


class SyslogFormat(BaseFormat):
    type = "syslog"
    example: dict[str, Any] = {
        "lines": [
            "<34>Mar 12 10:15:32 web-1 sshd[2211]: Failed password for invalid user admin from 203.0.113.50 port 53211 ssh2",
            '<13>1 2024-03-12T10:15:33.512Z web-1 api 3310 REQ42 [meta seq="7"] upstream timed out after 30s',
        ]
    }
    description = "syslog, RFC 3164 and RFC 5424"
    multiline = False

    def __init__(self, year: int | None = None) -> None:
        self.year = year

    def sniff(self, line: str) -> bool:
        return self.parse(line) is not None

    def parse(self, line: str) -> Record | None:
        m = _RFC5424.match(line)
        if m is not None:
            pri = int(m.group(1))
            fields: dict[str, Any] = {"facility": pri // 8}
            for key, idx in (("host", 3), ("app", 4), ("pid", 5), ("msgid", 6)):
                if m.group(idx) != "-":
                    fields[key] = m.group(idx)
            if isinstance(fields.get("pid"), str) and fields["pid"].isdigit():
                fields["pid"] = int(fields["pid"])
            if m.group(7) != "-":
                fields["structured_data"] = m.group(7)
            message = (m.group(8) or "").removeprefix("\ufeff")
            ts = None if m.group(2) == "-" else parse_iso(m.group(2))
            return Record(message, ts, syslog_severity(pri), fields)
        m = _RFC3164.match(line)
        if m is not None:
            month = month_number(m.group(2))
            if month is None:
                return None
            now = datetime.now(UTC)
            year = self.year or now.year
            try:
                ts = datetime(
                    year, month, int(m.group(3)), int(m.group(4)), int(m.group(5)),
                    int(m.group(6)), tzinfo=LOCAL,
                )  # fmt: skip
                if self.year is None and ts > now + timedelta(days=2):
                    ts = ts.replace(year=year - 1)  # RFC 3164 has no year: December in January
            except ValueError:
                ts = None
            fields = {"host": m.group(7)}
            if m.group(8):
                fields["app"] = m.group(8)
            if m.group(9):
                fields["pid"] = int(m.group(9))
            message = m.group(10) if m.group(8) else m.group("repeated")
            if m.group(1):  # the PRI gives the severity (PRI % 8: 3 is err)
                pri = int(m.group(1))
                fields["facility"] = pri // 8
                return Record(message, ts, syslog_severity(pri), fields)
            return Record(message, ts, message_level(message), fields)
        m = _ISO_FILE.match(line)
        if (
            m is not None
            and _LEVEL_WORD.match(m.group(2)) is None
            and (ts := parse_iso(m.group(1))) is not None
        ):
            fields = {"host": m.group(2), "app": m.group(3)}
            if m.group(4):
                fields["pid"] = int(m.group(4))
            return Record(m.group(5), ts, message_level(m.group(5)), fields)
        return None


FORMAT = SyslogFormat()
