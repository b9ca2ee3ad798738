"""Journey: `prodshield audit secrets --verify` read on an 80-column terminal (COLUMNS=80, a
subprocess): every file path and verdict word is whole (places that would be cut go on a line of
their own under their finding), the table's ``rule`` is the JSON ``rule`` of the same finding,
and a scan whose findings were all suppressed says how many, and by what."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import secrets_tokens as tok
from support.standins.providers import ProviderStandins


@pytest.fixture(scope="module")
def standins() -> Iterator[ProviderStandins]:
    with ProviderStandins.in_thread() as s:
        yield s


def _audit(cwd: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODSHIELD_", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", *args],
        cwd=cwd, env={**env, "COLUMNS": str(columns), "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_verify_table_keeps_paths_whole_at_80_columns(
    tmp_path: Path, standins: ProviderStandins
) -> None:
    github, slack = tok.github_classic(), tok.slack_bot()
    standins.set(github, "live")
    standins.set(slack, "revoked")
    deep = tmp_path / "services" / "checkout-backend" / "deployment"
    deep.mkdir(parents=True)
    (deep / "production_settings.py").write_text(f"GITHUB = '{github}'\nSLACK = '{slack}'\n")
    (tmp_path / "shield.yaml").write_text(standins.shield_yaml())

    table = _audit(tmp_path, "secrets", "services", "--verify", "--fail-on", "none")
    assert table.returncode == 1, table.stderr  # the live GitHub token fails the gate
    lines = table.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), table.stdout
    where = "services/checkout-backend/deployment/production_settings.py"
    assert f"{where}:1:11" in table.stdout and f"{where}:2:10" in table.stdout, table.stdout
    # the verdicts' words are whole, on the lines under their finding
    assert "LIVE (authenticates as octo-dev)" in table.stdout, table.stdout
    assert "inactive (ok=false, token_revoked)" in table.stdout, table.stdout

    report = _audit(tmp_path, "secrets", "services", "--verify", "--format", "json")
    rules = sorted(f["rule"] for f in json.loads(report.stdout)["findings"])
    header = next(line.split() for line in lines if line.split()[:2] == ["severity", "rule"])
    assert "kind" not in header
    at = lines.index(next(line for line in lines if line.split()[:2] == ["severity", "rule"]))
    shown = sorted(
        line.split()[1]
        for line in lines[at + 2 :]
        if re.match(r" (critical|high|medium|low) ", line)
    )
    assert shown == rules == ["github-pat-classic", "slack-bot-token"], table.stdout

    # Wide enough, the same findings are one row each, paths still whole.
    wide = _audit(tmp_path, "secrets", "services", "--verify", "--fail-on", "none", columns=200)
    row = next(line for line in wide.stdout.splitlines() if "github-pat-classic" in line)
    assert f"{where}:1:11" in row and "LIVE" in row, wide.stdout


def test_all_suppressed_scan_says_how_many_and_by_what(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "fixture.py").write_text(f"KEY = '{tok.stripe_live()}'  # prodshield:allow demo\n")
    (app / "old.env").write_text(f"GITHUB_TOKEN={tok.github_classic()}\n")
    made = _audit(tmp_path, "baseline", "app/old.env", "--reason", "rotated", "-o", "base.json")
    assert made.returncode == 0, made.stderr

    proc = _audit(tmp_path, "secrets", "app", "--baseline", "base.json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "No secrets reported: 2 suppressed (1 by inline allow comment, 1 by the baseline)."
    ), proc.stdout
    doc = json.loads(_audit(tmp_path, "secrets", "app", "--baseline", "base.json",
                            "--format", "json").stdout)  # fmt: skip
    assert doc["findings"] == []
    assert doc["stats"]["allowed_inline"] == 1 and doc["stats"]["baseline_suppressed"] == 1
    markdown = _audit(tmp_path, "secrets", "app", "--baseline", "base.json", "--format", "markdown")
    assert "No secrets reported: 2 suppressed (1 by inline allow comment, 1 by the baseline)." in (
        markdown.stdout
    ), markdown.stdout

    # --strict ignores the inline allow: the key is reported, the baseline still counted.
    strict = _audit(tmp_path, "secrets", "app", "--baseline", "base.json", "--strict")
    assert strict.returncode == 1, strict.stdout
    assert "stripe-secret-key" in strict.stdout
    assert strict.stdout.splitlines()[-1].endswith("; 1 suppressed (1 by the baseline)")

    # Nothing anywhere is still "No secrets found."
    (app / "fixture.py").write_text("KEY = 'none'\n")
    (app / "old.env").unlink()
    assert _audit(tmp_path, "secrets", "app").stdout.strip() == "No secrets found."
