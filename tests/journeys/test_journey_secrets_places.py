"""Journey: "where is this secret live". A token committed to a repository (and removed since),
still in the environment of a running service and printed in its log is ONE finding listing the
three places, in every report format of `prodshield audit secrets` (run as a subprocess)."""

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
from support.cli import clean_env
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


def test_one_secret_three_places(
    tmp_path: Path, service: tuple[subprocess.Popen[bytes], str, str]
) -> None:
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
    service: tuple[subprocess.Popen[bytes], str, str],
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


def _prodshield(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_full_audit_joins_the_places_of_one_secret(tmp_path: Path) -> None:
    """`prodshield audit` (every family): the token in a settings file, in a .env file and in the
    audit's own process environment is one finding listing the three places; another secret
    stays a finding of its own."""
    token, other = tok.github_classic(), tok.slack_bot()
    app = tmp_path / "app"
    (app / "deploy").mkdir(parents=True)
    (app / "deploy" / "settings.py").write_text(f'DEBUG = False\nGITHUB_TOKEN = "{token}"\n')
    (app / ".env.production").write_text(f"APP=shop\nDEPLOY_TOKEN={token}\nCHAT={other}\n")
    (app / ".env.production").chmod(0o600)
    env = clean_env(tmp_path, RELEASE_TOKEN=token, COLUMNS="200")
    proc = _prodshield(app, "audit", ".", "--format", "json", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert token not in proc.stdout + proc.stderr and other not in proc.stdout
    findings = json.loads(proc.stdout)["findings"]
    joined = [f for f in findings if f.get("places")]
    assert len(joined) == 1, findings
    [one] = joined
    # reported at its first place in the tree (files in order), then the process environment
    assert one["rule"] == "secrets.leak" and one["path"] == ".env.production"
    assert one["places"] == [".env.production:2", "deploy/settings.py:2", "env:RELEASE_TOKEN"]
    assert "also in deploy/settings.py:2, env:RELEASE_TOKEN" in one["message"]
    # nothing else reports that token's places again
    rest = [f for f in findings if f is not one]
    assert not any(f.get("target") == "env:RELEASE_TOKEN" for f in rest), rest
    assert not any(f.get("path") == "deploy/settings.py" for f in rest), rest
    assert not any(f.get("path") == ".env.production" and f["line"] == 2 for f in rest), rest
    # the other secret (only in the .env file) is a finding of its own
    assert any(f.get("path") == ".env.production" and f["line"] == 3 for f in rest), rest

    table = _prodshield(app, "audit", ".", env=env)
    assert "the same secret is also in" in table.stdout and token not in table.stdout


def test_logs_scan_lists_every_place_of_a_leaked_secret(tmp_path: Path) -> None:
    """`prodshield logs scan`: a token printed in two logs is one finding with every place."""
    token, other = tok.github_classic(), tok.github_oauth()
    (tmp_path / "app.log").write_text(
        f"2026-12-01T10:00:00Z ERROR login failed token={token}\n"
        "2026-12-01T10:00:01Z INFO ok\n"
        f"2026-12-01T10:00:02Z WARN retry with {token}\n"
        f"2026-12-01T10:00:03Z WARN oauth {other}\n"
    )
    (tmp_path / "worker.log").write_text(f"2026-12-01T11:00:00Z ERROR worker auth {token}\n")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = _prodshield(
        tmp_path, "logs", "scan", "app.log", "worker.log", "--format", "json", env=env
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert token not in proc.stdout + proc.stderr
    leaks = [f for f in json.loads(proc.stdout)["findings"] if f["kind"] == "secret_in_log"]
    by_rule = {f["source"]["rule"]: f for f in leaks}
    assert set(by_rule) == {"github-pat-classic", "github-oauth"}, leaks
    pat = by_rule["github-pat-classic"]
    [secret] = pat["details"]["secrets"]
    assert secret["places"] == ["app.log:1", "app.log:3", "worker.log:1"]
    assert pat["details"]["files"] == ["app.log", "worker.log"] and pat["count"] == 3
    assert "app.log:1, app.log:3, worker.log:1" in pat["message"]
    assert by_rule["github-oauth"]["details"]["secrets"][0]["places"] == ["app.log:4"]
    table = _prodshield(tmp_path, "logs", "scan", "app.log", "worker.log", env=env)
    assert "worker.log:1" in table.stdout and token not in table.stdout


def test_the_table_says_which_place_is_the_file_and_which_the_log(tmp_path: Path) -> None:
    """`audit secrets --log aws.log` in the folder holding aws.log gave the location
    "aws.log:1; aws.log:1": a file place and a log place the table did not tell apart."""
    key = tok.aws_id()
    (tmp_path / "aws.log").write_text(f"2026-12-07 09:00:00 INFO boot aws_access_key_id={key}\n")
    out = subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", "secrets", "--log", "aws.log"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    row = next(line for line in out.stdout.splitlines() if "aws-access-key-id" in line)
    assert "file aws.log:1; log aws.log:1" in row, out.stdout
    assert key not in out.stdout + out.stderr
    # one place alone needs no word
    (tmp_path / "app.env").write_text(f"AWS_ACCESS_KEY_ID={tok.aws_id()}\n")
    alone = _shield(tmp_path, "app.env")
    assert re.search(r" app\.env:1(:\d+)? ", alone.stdout), alone.stdout
    assert "file app.env" not in alone.stdout
