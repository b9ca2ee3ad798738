"""`config check` rejects absurd durations with a located error: every duration is at most ten
years, a check's interval at most 7d and its timeout at most 1h (each field's docstring says so)."""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield

CHECK = 'checks:\n  - name: web\n    type: http\n    url: "http://127.0.0.1:1/"\n'


def test_absurd_durations_are_located_errors(tmp_path: Path) -> None:
    (tmp_path / "huge.yaml").write_text(CHECK + "    interval: 99999999999999999999d\n")
    huge = prodshield(tmp_path, "config", "check", "-c", "huge.yaml")
    assert huge.returncode == 2
    assert huge.stderr == (
        "huge.yaml:5:5: checks[0].interval: '99999999999999999999d' is too long a duration"
        " (at most 3650d)\n1 error in config\n"
    )
    (tmp_path / "long.yaml").write_text(
        "defaults:\n  timeout: 2h\nlogs:\n  brute_force_window: 20000d\n"
        + CHECK
        + "    interval: 30d\n"
    )
    long = prodshield(tmp_path, "config", "check", "-c", "long.yaml")
    assert long.returncode == 2
    assert "long.yaml:2:3: defaults.timeout: 2h is too long (at most 1h)" in long.stderr
    assert "long.yaml:9:5: checks[0].interval: 30d is too long (at most 7d)" in long.stderr
    assert "long.yaml:4:3: logs.brute_force_window: '20000d' is too long a duration" in long.stderr
    assert "Traceback" not in long.stderr
    (tmp_path / "fine.yaml").write_text(CHECK + "    interval: 7d\n    timeout: 1h\n")
    fine = prodshield(tmp_path, "config", "check", "-c", "fine.yaml")
    assert fine.returncode == 0, fine.stderr
