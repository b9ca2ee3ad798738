"""Journey: `notify status` and `incident list` read the store and print; they cost about a CPU
second each, most of it imports, and a fifth of that was aiohttp with every notifier's delivery
code, pulled in by `prodshield.notify`'s package import and by the incident engine's subscriber
announcements. The delivery side is now imported by the commands that deliver (`notify flush`,
`notify test`, `notify retry`, `monitor once`), so these two never load aiohttp
(``-X importtime``, CLI as a subprocess, as tests/web/test_web_start_imports.py does for serve)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = """\
version: 1
storage: sqlite:///store.db
checks:
  - {name: website, type: http, url: "http://127.0.0.1:9/"}
notifiers:
  ops: {type: webhook, url: "http://127.0.0.1:9/hook"}
  gh: {type: github, repo: acme/platform, token: ghp_not_a_real_token_just_for_this_test}
"""


def _imported(tmp_path: Path, *args: str) -> set[str]:
    (tmp_path / "shield.yaml").write_text(CONFIG)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "prodshield", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = done.stderr.splitlines()
    return {row.rsplit("|", 1)[1].strip() for row in rows if row.startswith("import time:")}


@pytest.mark.parametrize("command", [("notify", "status"), ("incident", "list")])
def test_reading_commands_do_not_import_the_delivery_side(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    names = _imported(tmp_path, *command)
    assert "prodshield.notify.outbox" in names  # the store is read
    assert "aiohttp" not in names
    assert "prodshield.notify.worker" not in names


def test_flush_still_delivers_through_the_worker(tmp_path: Path) -> None:
    names = _imported(tmp_path, "notify", "flush", "--wait", "1s")
    assert "prodshield.notify.worker" in names
    assert "aiohttp" in names


def test_monitor_status_reads_the_store_without_the_check_side(tmp_path: Path) -> None:
    """`monitor status` lists the checks and reads their results: it imported aiohttp through
    monitor.api (the scheduler, removed-check sweeps) and the check modules (probe, failures)."""
    names = _imported(tmp_path, "monitor", "status")
    assert "prodshield.monitor.checks" in names  # the checks are listed
    assert "aiohttp" not in names
    assert "prodshield.monitor.failures" not in names
