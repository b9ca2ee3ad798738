"""Battery verdicts are words, not Python reprs. Seen on the bank example's ``--broken``:
``FAIL bank invariant: INVALID: {'wrong-total': 20} (first {'at_s': 0.154, ...})`` and
``(acquire timeout None s)``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from prodshield.chaos.batteries.db.bank import invalid_words
from support.chaos_batteries import bank_example, proxy_server


@pytest.fixture
def proxy_api(tmp_path: Path) -> Iterator[str]:
    with proxy_server(tmp_path) as url:
        yield url


def test_invalid_bank_in_words() -> None:
    first = {"at_s": 0.154, "problems": ["wrong-total"], "total": 795}
    assert invalid_words({"wrong-total": 20, "nil-balance": 1}, first, 800) == (
        "wrong-total 20 times, nil-balance 1 time; first at 0.15 s (wrong-total: "
        "the accounts held 795, not 800)"
    )


@pytest.mark.postgres
def test_db_battery_on_the_broken_example_prints_words(
    pg_url: str, proxy_api: str, tmp_path: Path
) -> None:
    with bank_example(tmp_path, proxy_api, pg_url, broken=True) as url:
        cmd = [sys.executable, "-m", "prodshield", "chaos", "db", "--dsn", pg_url]
        cmd += ["--proxy", "pg", "--api", proxy_api, "--service", url, "--seconds", "3"]
        cmd += ["--seed", "3", "--check", "bank", "--check", "pool"]
        cmd += ["--journal-path", str(tmp_path / "j.json")]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "(the pool has no acquire timeout)" in out, out
    assert "None" not in out and "{" not in out and "[" not in out, out
    (bank,) = [line for line in out.splitlines() if "bank invariant:" in line]
    assert bank.startswith("PASS bank invariant: valid") or " time" in bank, out
