"""A six-field cron written seconds first (Quartz's order) passed `config check` silently while
prodshield reads the seconds from the last field: ``15,45 * * * * *`` would run every second of
minutes 15 and 45. `config check` now warns with the place and the rewrite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _check(folder: Path, text: str) -> subprocess.CompletedProcess[str]:
    (folder / "shield.yaml").write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "config", "check", "-c", "shield.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_seconds_first_schedule_is_warned_with_its_place(tmp_path: Path) -> None:
    proc = _check(
        tmp_path,
        "chaos:\n"
        "  experiments:\n"
        "    - name: game-day\n"
        "      file: x.json\n"
        '      schedule: "15,45 * * * * *"\n'
        '    - {name: fine, file: x.json, schedule: "* * * * * 15,45"}\n',
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "warning: shield.yaml:5:7: chaos.experiments[0].schedule: '15,45 * * * * *' runs every "
        "second of the minutes it names: the sixth (last) field counts seconds, the first is the "
        "minute; for seconds first (Quartz's order) write '* * * * * 15,45'"
    ]


def test_minute_first_schedules_say_nothing(tmp_path: Path) -> None:
    proc = _check(
        tmp_path,
        'audit: {schedule: "0 */6 * * *"}\n'
        "chaos:\n  experiments:\n"
        '    - {name: a, file: x.json, schedule: "* * * * * */30"}\n'
        '    - {name: b, file: x.json, schedule: "* * * * * *"}\n',
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
