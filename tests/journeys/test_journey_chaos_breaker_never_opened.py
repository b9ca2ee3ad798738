"""A service with no circuit breaker (the bank example's ``--broken``) never passes the breaker
battery: a property whose precondition (the breaker opened) never happened is n/a, never PASS.

Seen: ``PASS timeout: no traffic while open``, ``PASS timeout: half-open trials: 0 of 6`` and
``PASS timeout: closes after recovery: closed 0.05 s`` for a breaker that never opened, and
``--fault down`` alone passing the whole battery.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.chaos_batteries import bank_example, proxy_server

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def proxy_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with proxy_server(tmp_path_factory.mktemp("proxy")) as url:
        yield url


def _breaker(url: str, api: str, tmp: Path, *faults: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "prodshield", "chaos", "breaker", "--service", f"{url}/quote"]
    cmd += ["--dependency", "dep", "--api", api, "--threshold", "3", "--open-latency-ms", "200"]
    cmd += ["--recovery-s", "1", "--journal-path", str(tmp / "j.json")]
    for fault in faults:
        cmd += ["--fault", fault]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _lines(out: str, prefix: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize("fault", ["timeout", "down", "reset_peer"])
def test_no_breaker_fails_and_never_passes_what_needs_an_open_breaker(
    pg_url: str, proxy_api: str, tmp_path: Path, fault: str
) -> None:
    flags = {"threshold": "3", "recovery_s": "1", "slow_ms": "200"}
    with bank_example(tmp_path, proxy_api, pg_url, broken=True, **flags) as url:
        proc = _breaker(url, proxy_api, tmp_path, fault)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "breaker battery on" in out and "FAILED" in out
    for prop in ("half-open trials", "closes after recovery"):
        (line,) = [x for x in out.splitlines() if f"{fault}: {prop}" in x]
        assert line.startswith("n/a"), out
        assert "the breaker never opened" in line
    (traffic,) = [x for x in out.splitlines() if f"{fault}: no traffic while open" in x]
    assert not traffic.startswith("PASS"), out
    assert "Traceback" not in proc.stderr and "{" not in out and "[" not in out


def test_a_real_breaker_still_passes_under_down(
    pg_url: str, proxy_api: str, tmp_path: Path
) -> None:
    flags = {"threshold": "3", "recovery_s": "1", "slow_ms": "200"}
    with bank_example(tmp_path, proxy_api, pg_url, broken=False, **flags) as url:
        proc = _breaker(url, proxy_api, tmp_path, "down", "reset_peer")
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert _lines(out, "PASS down: no traffic while open: 0 connections and 0 bytes"), out
    assert _lines(out, "PASS down: closes after recovery"), out
    (trials,) = _lines(out, "PASS reset_peer: half-open trials: ")
    assert "from 6 concurrent calls" in trials and " of 6 " not in trials
