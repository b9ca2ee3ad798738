"""Log times written without a zone are the machine's local time (``TZ``): each format that has
such times, parsed in a subprocess running an hour ahead of UTC, gives the instant the line was
written, while times with an offset are read as written."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.cli import prodshield, shell_env

# a day of last month: syslog's lines have no year, and a fixed 5 December is this year's once
# that day is no more than two days ahead (the test failed from 3 December 2027 on)
DAY = datetime.now(UTC) - timedelta(days=30)
TEN_UTC = datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=UTC).timestamp()
YMD = f"{DAY:%Y-%m-%d}"
LINES = {
    "nginx": f"{DAY:%Y/%m/%d} 10:00:00 [error] 12#12: *1 connect() failed (111: Connection refused)",
    "apache": f"[{DAY:%a %b %d} 10:00:00.000000 {DAY:%Y}] [core:error] [pid 12] AH00037: gone",
    "syslog": f"{DAY:%b} {DAY.day:2d} 10:00:00 web1 sshd[12]: Failed password for root from 10.0.0.1",
    "python": f"{YMD} 10:00:00,000 ERROR shop: payment failed",
    "postgres": f"{YMD} 10:00:00.000 [12] LOG:  checkpoint starting: time",
    "json": f'{{"time": "{YMD}T10:00:00", "level": "error", "msg": "payment failed"}}',
}
OFFSET = {
    "nginx": f'10.0.0.1 - - [{DAY:%d/%b/%Y}:10:00:00 +0000] "GET / HTTP/1.1" 200 2 "-" "curl"',
    "python": f"{YMD} 10:00:00,000+00:00 ERROR shop: payment failed",
    "json": f'{{"time": "{YMD}T10:00:00Z", "level": "error", "msg": "payment failed"}}',
}
SCRIPT = """
import json, sys
from prodshield.logs.formats.registry import get_format
print(json.dumps([get_format(n).parse(line).timestamp.timestamp() for n, line in json.loads(sys.argv[1])]))
"""


def _instants(tz: str, pairs: list[tuple[str, str]]) -> list[float]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(pairs)],
        env=shell_env(TZ=tz),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [float(v) for v in json.loads(out.stdout)]


def test_times_without_a_zone_are_local_time_and_offsets_are_kept() -> None:
    ten_utc = TEN_UTC
    pairs = [*LINES.items(), *OFFSET.items()]
    ahead = dict(zip(pairs, _instants("WAT-1", pairs), strict=True))  # POSIX: UTC+1
    for pair in LINES.items():
        assert ahead[pair] == ten_utc - 3600, pair  # 10:00 at UTC+1
    for pair in OFFSET.items():
        assert ahead[pair] == ten_utc, pair
    # a machine in UTC reads them all as UTC, as before
    assert set(_instants("UTC", pairs)) == {ten_utc}


def test_the_hours_of_a_scan_are_utc_hours(tmp_path: Path) -> None:
    """The digest draws "events per hour (UTC)": a line written at 10:30 local time an hour ahead
    of UTC counts in the 09:00 UTC hour, as a line with an offset does."""
    (tmp_path / "app.log").write_text(
        "2026-12-05 10:30:00,000 ERROR shop: payment failed\n"
        "2026-12-05 11:30:00,000+02:00 ERROR shop: payment failed\n"
    )
    out = prodshield(
        tmp_path, "logs", "scan", "app.log", "--format", "json", "--no-store",
        env=shell_env(TZ="WAT-1"),
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    assert json.loads(out.stdout)["hourly"] == {"2026-12-05T09:00": {"events": 2, "errors": 2}}
