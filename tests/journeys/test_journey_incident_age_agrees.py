"""Journey: an open incident's age reads the same everywhere.

The same incident said `ongoing for 4m49s` in `incident list`, `ongoing, 5m 43s` on the dashboard
and `ongoing for 5m 46s` on the status page (newcomer trial). Here an incident opened an hour and
a half ago says `ongoing for 1h 30m` in `incident list` and `incident show`, the static status
page (`status build`), and serve's dashboard, incidents tab and incident page."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

from support.alerting import TOKEN, Browser
from support.cli import prodshield, wide_env
from support.net import refused_port
from support.serve import serving, write_config

AGE = re.compile(r"ongoing for 1h 3[01]m\b")
"""90 minutes and the seconds the test takes (it writes the opening 5,415 s back)."""


def test_an_open_incidents_age_reads_the_same_everywhere(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        0,
        "checks:\n"
        f"  - {{name: orders, type: tcp, host: 127.0.0.1, port: {refused_port()},"
        " failure_threshold: 1, interval: 1h}\n",
        token=TOKEN,
    )
    env = wide_env()
    once = prodshield(tmp_path, "monitor", "once", env=env)
    assert "incident #1 opened" in once.stdout, once.stdout + once.stderr
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute("UPDATE incidents SET opened_at = ?", (time.time() - 5415,))

    listed = prodshield(tmp_path, "incident", "list", env=env)
    row = next(line for line in listed.stdout.splitlines() if "#1" in line)
    assert AGE.search(row), row
    shown = prodshield(tmp_path, "incident", "show", "1", env=env)
    assert any(AGE.fullmatch(line) for line in shown.stdout.splitlines()), shown.stdout
    built = prodshield(tmp_path, "status", "build", "--out", "site", env=env)
    assert built.returncode == 0, built.stderr
    assert AGE.search((tmp_path / "site" / "index.html").read_text()), built.stdout

    with serving(config) as served:
        browser = Browser(served.port)
        browser.login()
        for path in ("/", "/dashboard", "/dashboard/incidents", "/dashboard/incidents/1"):
            page = browser.get(path)
            assert AGE.search(page), (path, re.findall(r"ongoing[^<]{0,30}", page))
            assert "ongoing, " not in page, path
