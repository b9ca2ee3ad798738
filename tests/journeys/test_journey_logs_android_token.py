"""Journey: Android's window manager prints ``mToken=Token{a1b2c3 ActivityRecord{...}}``, an
object's class and identity hash, not a credential. ``logs scan`` keeps it readable in the
finding's sample (it was ``mToken=*** ActivityRecord{...``), while a real ``token=`` value on
the next line is still masked."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, shell_env

ANDROID = "mToken=Token{a1b2c3 ActivityRecord{f00d u0 com.example.shop/.MainActivity t12}}"
SECRET = "q8Zt4vN2xR7pL0sK9wE3"


def test_an_android_token_object_is_not_a_secret(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(
        f"2026-12-07 04:10:00,000 ERROR wm: window lost {ANDROID}\n"
        f"2026-12-07 04:10:01,000 ERROR api: refresh failed token={SECRET}\n",
        encoding="utf-8",
    )
    env = shell_env(NO_COLOR="1")
    scan = prodshield(
        tmp_path, "logs", "scan", "app.log", "--no-store", "--format", "json", env=env
    )
    out = json.loads(scan.stdout)
    samples = [s for f in out["findings"] for s in f["samples"]]
    assert any(ANDROID in s for s in samples), samples
    assert SECRET not in scan.stdout
    assert any("token=***" in s for s in samples), samples


WINDOW_LINES = (
    "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogsopening app wtoken ="
    " AppWindowToken{9f4ef63 token=Token{a64f992 ActivityRecord{de9231d u0 com.example/.Main t761}}}\n"
    "03-17 16:13:38.839  1702  2113 V WindowManager: Skipping AppWindowToken{df0798e"
    " token=Token{78af589 ActivityRecord{3b04890 u0 com.example/.Player t762}}} -- going to hide\n"
    "03-17 16:13:39.001  1702  2113 V WindowManager: Skipping AppWindowToken{aa0798e"
    " token=Token{bbaf589 ActivityRecord{cc04890 u0 com.example/.Player t763}}} -- going to hide\n"
)


def test_logs_parse_templates_keep_the_object_name(tmp_path: Path) -> None:
    """``logs parse`` printed the template of these lines as ``wtoken = *** token=***``: the line
    was judged (its object names kept), then its template judged again, where ``Token{<*>`` no
    longer looked like an object's name, so the template lost two ``<*>`` its parameters stand
    for. Streamed (stdin) or read from a file, the template keeps them, as ``--no-redact``."""
    (tmp_path / "wm.log").write_text(WINDOW_LINES, encoding="utf-8")
    env = shell_env(NO_COLOR="1")
    runs = {
        "stdin": prodshield(
            tmp_path, "logs", "parse", "-", "-f", "raw", env=env, stdin=WINDOW_LINES
        ),
        "file": prodshield(tmp_path, "logs", "parse", "wm.log", "-f", "raw", env=env),
        "no-redact": prodshield(
            tmp_path, "logs", "parse", "wm.log", "-f", "raw", "--no-redact", env=env
        ),
    }
    templates = {}
    for name, run in runs.items():
        assert run.returncode == 0, (name, run.stderr)
        events = [json.loads(line) for line in run.stdout.splitlines()]
        assert len(events) == 3, (name, run.stdout)
        for event in events:
            assert "token=Token{<*>" in event["template"], (name, event["template"])
            assert event["template"].count("<*>") == len(event["params"]), (name, event)
        templates[name] = [e["template"] for e in events[1:]]  # the stream's first is its own
    assert templates["stdin"] == templates["file"] == templates["no-redact"]
