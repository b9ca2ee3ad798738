"""Journey: "where is this secret live". A token committed to a repository (and removed since),
still in the environment of a running service and printed in its log is ONE finding listing the
three places, in every report format of `prodshield audit secrets` (run as a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import secrets_tokens as tok
from support.standins.providers import ProviderStandins


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=Dev One", "-c", "user.email=dev@example.org",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return proc.stdout.strip()


def _shield(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", "secrets", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, str]]:
    """A running "service" whose environment holds a GitHub token (and an unrelated one)."""
    token, other = tok.github_classic(), tok.slack_bot()
    env = {"PATH": os.environ.get("PATH", ""), "DEPLOY_TOKEN": token, "CHAT_TOKEN": other}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], env=env, cwd=tmp_path
    )
    try:
        yield proc, token, other
    finally:
        proc.kill()
        proc.wait(10)


def _repo_and_log(tmp_path: Path, token: str) -> tuple[Path, str, Path]:
    repo = tmp_path / "shop"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "deploy.sh").write_text(f"#!/bin/sh\nset -e\nexport GITHUB_TOKEN={token}\n./release\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "deploy script")
    leak = _git(repo, "rev-parse", "HEAD")
    (repo / "deploy.sh").write_text("#!/bin/sh\nset -e\n./release\n")
    _git(repo, "commit", "-qam", "read the token from the vault")
    log = tmp_path / "app.log"
    log.write_text(
        "2026-12-04 10:00:00 INFO starting release\n"
        f"2026-12-04 10:00:01 DEBUG cloning with https://x-access-token:{token}@github.com/acme/shop\n"
    )
    return repo, leak, log


def test_one_secret_three_places(tmp_path: Path, service: tuple) -> None:  # type: ignore[type-arg]
    proc, token, other = service
    _repo, leak, log = _repo_and_log(tmp_path, token)
    args = ["shop", "--git", "--pid", str(proc.pid), "--log", str(log), "--fail-on", "none"]

    out = _shield(tmp_path, *args, "--format", "json")
    assert out.returncode == 0, out.stderr
    findings = json.loads(out.stdout)["findings"]
    github = [f for f in findings if f["kind"] == "github_pat_classic"]
    assert len(github) == 1, findings  # one finding, not three
    places = github[0]["places"]
    assert places == [
        {"kind": "git", "path": "deploy.sh", "line": 3, "commit": leak},
        {"kind": "process", "pid": proc.pid, "variable": "DEPLOY_TOKEN"},
        {"kind": "log", "path": str(log), "line": 2},
    ]
    assert (github[0]["path"], github[0]["commit"]) == ("deploy.sh", leak)
    # The other secret of the environment is its own finding, with its one place.
    slack = [f for f in findings if f["kind"] == "slack_bot_token"]
    assert [f["places"] for f in slack] == [
        [{"kind": "process", "pid": proc.pid, "variable": "CHAT_TOKEN"}]
    ]
    for secret in (token, other):
        assert secret not in out.stdout + out.stderr

    md = _shield(tmp_path, *args, "--format", "markdown")
    row = next(line for line in md.stdout.splitlines() if "github_pat_classic" in line)
    assert f"`deploy.sh:3 @{leak[:10]}` (git)" in row
    assert f"`pid {proc.pid} env DEPLOY_TOKEN` (process)" in row and f"`{log}:2` (log)" in row
    assert token not in md.stdout

    sarif = json.loads(_shield(tmp_path, *args, "--format", "sarif").stdout)
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "github-pat-classic")
    assert [p["kind"] for p in result["properties"]["places"]] == ["git", "process", "log"]
    assert "found in 3 places" in result["message"]["text"]

    # --environ reads every process of this user: the service is among them.
    out = _shield(tmp_path, *args[:2], "--environ", "--log", str(log), "--format", "json")
    github = [
        f for f in json.loads(out.stdout)["findings"]
        if {"kind": "process", "pid": proc.pid, "variable": "DEPLOY_TOKEN"} in f.get("places", [])
    ]  # fmt: skip
    assert len(github) == 1 and len(github[0]["places"]) == 3

    # The production logs shield.yaml already names (logs.sources) are read with --config-logs.
    (tmp_path / "shield.yaml").write_text(
        "logs:\n  sources:\n    - name: app\n      path: app.log\n      format: raw\n"
    )
    out = _shield(tmp_path, *args[:4], "--config-logs", "--format", "json", "--fail-on", "none")
    assert out.returncode == 0, out.stderr
    github = [f for f in json.loads(out.stdout)["findings"] if f["kind"] == "github_pat_classic"]
    assert [(p["kind"], p.get("line")) for p in github[0]["places"]] == [
        ("git", 3), ("process", None), ("log", 2)
    ]  # fmt: skip
    assert github[0]["places"][2]["path"].endswith("app.log")
    (tmp_path / "shield.yaml").write_text("logs:\n  sources: []\n")
    out = _shield(tmp_path, "shop", "--config-logs")
    assert out.returncode == 2 and "names no existing log file" in out.stderr
    (tmp_path / "shield.yaml").unlink()

    # Without the place options the report is as before: no places, the file finding alone.
    out = _shield(tmp_path, "shop", "--git", "--format", "json", "--fail-on", "none")
    assert [("places" in f, f["path"]) for f in json.loads(out.stdout)["findings"]] == [
        (False, "deploy.sh")
    ]


def test_a_live_secret_in_three_places_is_verified_once(
    tmp_path: Path,
    service: tuple,  # type: ignore[type-arg]
) -> None:
    proc, token, _ = service
    repo, _, log = _repo_and_log(tmp_path, token)
    with ProviderStandins.in_thread() as standins:
        standins.set(token, "live")
        (tmp_path / "shield.yaml").write_text(standins.shield_yaml())
        out = _shield(
            tmp_path, "shop", "--git", "--pid", str(proc.pid), "--log", str(log),
            "--format", "json", "--fail-on", "none",
        )  # fmt: skip
        assert out.returncode == 1, out.stderr
        finding = next(
            f for f in json.loads(out.stdout)["findings"] if f["kind"] == "github_pat_classic"
        )
        assert finding["verification"]["status"] == "live" and len(finding["places"]) == 3
        assert standins.received("github") == [token]  # one secret, one question
    assert repo.is_dir()


def test_a_missing_log_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("nothing\n")
    out = _shield(tmp_path, "a.txt", "--log", "nope.log")
    assert out.returncode == 2 and out.stderr.strip() == "error: --log nope.log: no such file"


def test_a_pid_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    """--pid of a process that is gone (or not ours) scanned nothing and passed the gate."""
    (tmp_path / "a.txt").write_text("nothing\n")
    with open("/proc/sys/kernel/pid_max") as f:
        gone = int(f.read()) + 1  # above the highest id the kernel gives
    out = _shield(tmp_path, "a.txt", "--pid", str(gone))
    assert out.returncode == 2, out.stdout
    assert out.stderr.strip() == (
        f"error: --pid {gone}: no process of yours with a readable environment"
    )
