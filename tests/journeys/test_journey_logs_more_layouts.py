"""Journey: logs of OpenStack, Spark, Android (logcat), Blue Gene/L, Windows CBS, LANL's HPC
clusters and Huawei's HealthApp are read with their levels and times (HealthApp has no level), so ``logs scan`` sees their errors and ``--since`` windows them.

Before, each was read as ``raw``: ``logs scan`` on Loghub's BGL log said ``no findings (2000
lines scanned)`` though 443 of its lines are FATAL or ERROR, and ``--since 1h`` kept every line.
"""

from __future__ import annotations

import calendar
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from support.cli import prodshield, shell_env

LOGHUB = Path("/work/shared/datasets/loghub-2k")
NOTE = "no known layout"

LINES: dict[str, Callable[[datetime, str], str]] = {
    "openstack": lambda t, lv: (
        f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} 2931 {lv} nova.compute.manager "
        f"[req-3ea4052c - - - - -] [instance: 3edec1e4] sync {t:%H%M}"
    ),
    "spark": lambda t, lv: f"{t:%y/%m/%d %H:%M:%S} {lv} storage.BlockManager: block {t:%H%M} put",
    "logcat": lambda t, lv: (
        f"{t:%m-%d %H:%M:%S}.{t.microsecond // 1000:03d}  1702  2395 {lv[0]} WindowManager: "
        f"focus changed {t:%H%M}"
    ),
    "bgl": lambda t, lv: (
        f"- {int(t.timestamp())} {t:%Y.%m.%d} R02-M1-N0-C:J12-U11 "
        f"{t:%Y-%m-%d-%H.%M.%S}.000000 R02-M1-N0-C:J12-U11 RAS KERNEL "
        f"{'FATAL' if lv == 'ERROR' else lv} data TLB error interrupt {t:%H%M}"
    ),
    "cbs": lambda t, lv: (
        f"{t:%Y-%m-%d %H:%M:%S}, {lv.title():<21} CBS    Session {t:%H%M} initialized"
    ),
    "hpc": lambda t, lv: (
        f"134681 node-246 node {'error' if lv == 'ERROR' else 'status'} "
        f"{calendar.timegm(t.timetuple())} 1 ambient={t:%H%M}"
    ),
    "proxifier": lambda t, lv: (
        f"[{t:%m.%d %H:%M:%S}] chrome.exe - api.example.com:443 "
        + (
            "error : Could not connect through proxy px:5070"
            if lv == "ERROR"
            else "open through proxy px:5070 HTTPS"
        )
    ),
}


@pytest.mark.parametrize("name", sorted(LINES))
def test_scan_since_windows_a_file_of_it(tmp_path: Path, name: str) -> None:
    # a day of the past weeks: 12 March of this year was ahead of a run before 10 March, and a
    # layout with no year (logcat, Proxifier) rightly read it as last year's
    newest = (datetime.now(UTC) - timedelta(days=20)).replace(
        hour=10, minute=0, second=0, microsecond=0, tzinfo=None
    )
    times = [newest - timedelta(minutes=10 * i) for i in range(18)][::-1]  # 3 hours
    lines = [LINES[name](t, "INFO") for t in times[:-1]] + [LINES[name](times[-1], "ERROR")]
    (tmp_path / "app.log").write_text("\n".join(lines) + "\n")
    env = shell_env(drop=("PRODSHIELD_",), TZ="UTC")

    out = prodshield(
        tmp_path, "logs", "scan", "app.log", "--since", "1h", "--format", "json", "--no-store",
        env=env,
    )  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    assert NOTE not in out.stderr, out.stderr
    scan = json.loads(out.stdout)
    assert scan["window"][1] == newest.strftime("%Y-%m-%dT%H:%M:%S+00:00"), scan["window"]
    assert scan["stats"]["events"] == 7, scan["stats"]  # 09:00 to 10:00
    assert scan["stats"]["outside_window"] == 11, scan["stats"]
    kinds = {f["kind"] for f in scan["findings"]}
    assert kinds & {"error_logged", "fatal_error"}, scan["findings"]


def test_scan_of_the_bgl_log_reports_its_fatal_and_error_lines(tmp_path: Path) -> None:
    shutil.copy(LOGHUB / "BGL" / "BGL_2k.log", tmp_path / "bgl.log")
    env = shell_env(drop=("PRODSHIELD_",), TZ="UTC")
    out = prodshield(tmp_path, "logs", "scan", "bgl.log", "--no-store", env=env)
    assert NOTE not in out.stderr, out.stderr
    assert "no findings" not in out.stdout, out.stdout
    as_json = prodshield(
        tmp_path, "logs", "scan", "bgl.log", "--format", "json", "--no-store", env=env
    )
    findings = json.loads(as_json.stdout)["findings"]
    counted = sum(f["count"] for f in findings if f["kind"] in ("error_logged", "fatal_error"))
    assert counted >= 300, [(f["kind"], f["severity"], f["count"]) for f in findings]


def test_the_hpc_and_healthapp_logs_are_read_with_their_times(tmp_path: Path) -> None:
    """Both were read as raw (no time, no level): their Loghub files are now read in their own
    layouts, every line with its time; the HPC log's error events are reported."""
    shutil.copy(LOGHUB / "HPC" / "HPC_2k.log", tmp_path / "hpc.log")
    shutil.copy(LOGHUB / "HealthApp" / "HealthApp_2k.log", tmp_path / "health.log")
    env = shell_env(drop=("PRODSHIELD_",), TZ="UTC")
    for name, fields in (("hpc.log", {"node", "component", "state"}), ("health.log", {"pid"})):
        out = prodshield(tmp_path, "logs", "parse", name, "--output", "jsonl", env=env)
        assert out.returncode == 0 and NOTE not in out.stderr, out.stderr
        events = [json.loads(line) for line in out.stdout.splitlines()]
        assert len(events) == 2000
        assert all(e["timestamp"] and fields <= set(e["fields"]) for e in events), name
    scan = prodshield(
        tmp_path, "logs", "scan", "hpc.log", "--format", "json", "--no-store", env=env
    )
    findings = json.loads(scan.stdout)["findings"]
    counted = sum(f["count"] for f in findings if f["kind"] == "error_logged")
    assert counted >= 300, [(f["kind"], f["count"]) for f in findings]
