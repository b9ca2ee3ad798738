"""The layouts of OpenStack (oslo.log), Spark (log4j), Android logcat, Blue Gene/L RAS and Windows
CBS: a real line's level, time and message, and detection from a file's first lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from prodshield.logs.api import parse_lines
from prodshield.logs.formats.base import LOCAL
from prodshield.logs.formats.registry import FORMATS, detect_format


def _yearless(
    month: int, day: int, hour: int, minute: int, second: int, micro: int = 0
) -> datetime:
    """The time a line with no year (logcat, Proxifier) names when read today: this year, or last
    year when that is more than two days ahead. (This year's date alone failed from 1 January
    until the line's own date came within two days: 28 October for Proxifier's 10.30.)"""
    now = datetime.now(UTC)
    when = datetime(now.year, month, day, hour, minute, second, micro)
    if when.replace(tzinfo=LOCAL) > now + timedelta(days=2):
        when = when.replace(year=now.year - 1)
    return when


CASES = [
    (
        "openstack",
        "2017-05-16 00:00:05.185 2931 ERROR nova.compute.manager [req-3ea4052c-895d-4b64-9e2d-"
        "04d64c4d94ab - - - - -] [instance: 3edec1e4] Instance failed to spawn",
        "error",
        datetime(2017, 5, 16, 0, 0, 5, 185000),
        "[instance: 3edec1e4] Instance failed to spawn",
    ),
    (
        "openstack",
        "nova-api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:00.008 25746 INFO "
        "nova.osapi_compute.wsgi.server [req-38101a0b-2096 113d3a99 54fadb41 - - -] 10.11.10.1 "
        '"GET /v2/servers/detail HTTP/1.1" status: 200',
        "info",
        datetime(2017, 5, 16, 0, 0, 0, 8000),
        '10.11.10.1 "GET /v2/servers/detail HTTP/1.1" status: 200',
    ),
    (
        "spark",
        "17/06/09 20:11:11 ERROR executor.CoarseGrainedExecutorBackend: RECEIVED SIGNAL 15: SIGTERM",
        "error",
        datetime(2017, 6, 9, 20, 11, 11),
        "RECEIVED SIGNAL 15: SIGTERM",
    ),
    (
        "logcat",
        "03-17 16:13:39.002  2227  2227 E AndroidRuntime: FATAL EXCEPTION: main",
        "error",
        _yearless(3, 17, 16, 13, 39, 2000),
        "FATAL EXCEPTION: main",
    ),
    (
        "bgl",
        "- 1117869872 2005.06.04 R23-M1-N8-I:J18-U11 2005-06-04-00.24.32.432192 "
        "R23-M1-N8-I:J18-U11 RAS APP FATAL ciod: Error loading /home/auser/a.out",
        "fatal",
        datetime(2005, 6, 4, 0, 24, 32, 432192),
        "ciod: Error loading /home/auser/a.out",
    ),
    (
        "bgl",
        "- 1120241131 2005.07.01 R37-M1-N4 2005-07-01-11.05.31.120732 R37-M1-N4 NULL DISCOVERY "
        "SEVERE Can not get assembly information for node card",
        "error",
        datetime(2005, 7, 1, 11, 5, 31, 120732),
        "Can not get assembly information for node card",
    ),
    (
        "cbs",
        "2016-09-29 02:04:27, Error                 CBS    Failed to process single phase "
        "execution. [HRESULT = 0x800f0816]",
        "error",
        datetime(2016, 9, 29, 2, 4, 27),
        "Failed to process single phase execution. [HRESULT = 0x800f0816]",
    ),
    (
        "proxifier",
        "[10.30 17:16:10] QQ.exe - tcpconn4.tencent.com:80 error : Could not connect through "
        "proxy proxy.cse.cuhk.edu.hk:5070",
        "error",
        _yearless(10, 30, 17, 16, 10),
        "tcpconn4.tencent.com:80 error : Could not connect through proxy proxy.cse.cuhk.edu.hk:5070",
    ),
]
TB = (
    "- 1131566461 2005.11.09 dn228 Nov 9 12:01:01 dn228/dn228 crond(pam_unix)[2915]: "
    "session closed for user root"
)


@pytest.mark.parametrize(("name", "line", "level", "when", "message"), CASES)
def test_a_real_line_gives_level_time_and_message(
    name: str, line: str, level: str, when: datetime, message: str
) -> None:
    record = FORMATS[name].parse(line)
    assert record is not None
    assert record.level == level
    assert record.timestamp == when.replace(tzinfo=LOCAL)  # no zone in the line: local time
    assert record.message == message


def test_a_thunderbird_line_has_the_epoch_time_and_no_level() -> None:
    """Its syslog lines carry no severity; the epoch column is an instant."""
    record = FORMATS["thunderbird"].parse(TB)
    assert record is not None and record.level is None
    assert record.timestamp == datetime.fromtimestamp(1131566461, UTC)
    assert record.message == "session closed for user root"
    assert record.fields == {
        "node": "dn228",
        "host": "dn228/dn228",
        "app": "crond(pam_unix)",
        "pid": 2915,
    }
    assert detect_format(FORMATS["thunderbird"].example["lines"] * 3).type == "thunderbird"


@pytest.mark.parametrize("name", sorted({c[0] for c in CASES}))
def test_a_file_of_it_is_detected(tmp_path: Path, name: str) -> None:
    lines = [*FORMATS[name].example["lines"], *(c[1] for c in CASES if c[0] == name)] * 5
    path = tmp_path / f"{name}.log"
    path.write_text("\n".join(lines) + "\n")
    head = path.read_text().splitlines()[:50]
    assert detect_format(head).type == name
    events = list(parse_lines(head, str(path)))
    assert all(e.timestamp is not None and e.level for e in events), events[:2]


def test_a_loghub_openstack_line_is_not_read_as_a_python_line() -> None:
    """The file-name column before the date is not a logger: the whole line is oslo.log's."""
    line = CASES[1][1]
    assert detect_format([line] * 3).type == "openstack"
    assert FORMATS["openstack"].parse(line).fields == {  # type: ignore[union-attr]
        "pid": 25746,
        "logger": "nova.osapi_compute.wsgi.server",
        "request_id": "req-38101a0b-2096",
        "file": "nova-api.log.1.2017-05-16_13:53:08",
    }


def test_docs_list_every_format_with_an_example_line() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "logs.md").read_text()
    rows = {line.split("|")[1].strip(" `") for line in docs.splitlines() if line.startswith("| `")}
    assert set(FORMATS) <= rows, sorted(set(FORMATS) - rows)
    for line in docs.splitlines():
        if line.startswith("| `") and line.split("|")[1].strip(" `") in FORMATS:
            assert line.split("|")[3].strip().startswith("`"), line  # an example line


@pytest.mark.parametrize("name", sorted({c[0] for c in CASES}))
def test_a_long_hostile_line_is_sniffed_at_once(name: str) -> None:
    """One 64 KB word (no space after it) took quadratic time in the file-name column."""
    import time

    for line in ("a" * 65_536, "a" * 65_536 + " x", "- 1117838570 2005.06.03 " + "R" * 65_536):
        start = time.perf_counter()
        assert FORMATS[name].parse(line) is None
        assert time.perf_counter() - start < 0.5


def test_an_hpc_line_has_the_epoch_time_and_its_error_state() -> None:
    """LANL's HPC events: the epoch column is an instant; an error state is the level."""
    record = FORMATS["hpc"].parse("460123 node-70 node error 1131566461 1 ambient=37")
    assert record is not None
    assert record.timestamp == datetime(2005, 11, 9, 20, 1, 1, tzinfo=UTC)
    assert (record.level, record.message) == ("error", "ambient=37")
    assert record.fields == {"node": "node-70", "component": "node", "state": "error"}
    other = FORMATS["hpc"].parse("2286759 full partition status 1061219795 -1 running")
    assert other is not None and other.level == "info"


def test_a_healthapp_line_has_its_unpadded_time_and_pipes_in_its_message() -> None:
    line = "20171224-0:0:0:234|Step_StandStepDataManager|30002312|reload1514044800223|3786|0|0"
    record = FORMATS["healthapp"].parse(line)
    assert record is not None
    assert record.timestamp == datetime(2017, 12, 24, 0, 0, 0, 234000, tzinfo=LOCAL)
    assert record.level is None  # no level column
    assert record.message == "reload1514044800223|3786|0|0"
    assert record.fields == {"component": "Step_StandStepDataManager", "pid": 30002312}
