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
