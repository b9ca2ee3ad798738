"""Environment family: process environment, .env files, /proc/<pid>/environ (opt-in), redaction."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prodshield.audit import AuditSettings, audit
from prodshield.audit.rules.environment import TOKEN
from support.standard_envs import CONTAINER_ENV, DEVELOPER_ENV, RUNNER_ENV

STRIPE = "sk_live_" + "51HqLyjWDarjtT1zdp7dcXyZ0aB3cD5eF"
ENTROPIC = "Qx8" + "vL2mN7pR4sT1wY6zB9cD3fG5hJ0kK"


def wait_for_exec(pid: int) -> None:
    """Until the child has exec'd, /proc/<pid>/environ still shows the parent's environment."""
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing
    while time.monotonic() < deadline:
        try:
            if b"time.sleep" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise AssertionError("the child process did not start")


def test_process_environment_only_when_given() -> None:
    env = {"HOME": "/srv", "PAYMENTS_KEY": STRIPE, "LOG_LEVEL": "info"}
    assert audit(families="environment").findings == []
    report = audit(families="environment", environ=env)
    assert [f.rule for f in report.findings] == ["environment.process-secret"]
    f = report.findings[0]
    assert "PAYMENTS_KEY" in f.message and STRIPE not in f.message and STRIPE[8:] not in f.message
    assert f.path is None and f.target == "env:PAYMENTS_KEY" and f.location == "env:PAYMENTS_KEY"


def test_dotenv_values_known_formats_entropy_and_references(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"STRIPE_KEY={STRIPE}\n"
        f"SESSION_SECRET={ENTROPIC}\n"
        "DB_PASSWORD=${DB_PASSWORD}\n"
        "API_TOKEN=\n"
        "APP_NAME=shop-production-frontend\n"
        "CALLBACK_URL=https://shop.example.com/callback\n"
    )
    (tmp_path / ".env").chmod(0o600)
    (tmp_path / ".env.example").write_text(f"STRIPE_KEY={STRIPE}\n")  # also a .env-style file
    report = audit([tmp_path], families="environment")
    got = sorted((f.path, f.line, f.places) for f in report.findings)
    # the same key in two files is one finding naming both places
    assert got == [(".env", 1, (".env:1", ".env.example:1")), (".env", 2, ())]
    assert all(STRIPE not in f.message and ENTROPIC not in f.message for f in report.findings)


def test_proc_environ_is_opt_in_and_limited_to_own_processes(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "WEBHOOK_SECRET": ENTROPIC}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], env=env)
    try:
        wait_for_exec(child.pid)
        off = audit(families="environment", settings=AuditSettings(proc_pids=(child.pid,)))
        assert off.findings == []
        on = audit(
            families="environment",
            settings=AuditSettings(proc_environ=True, proc_pids=(child.pid,)),
        )
        assert [(f.rule, f.target) for f in on.findings] == [
            ("environment.proc-environ-secret", f"pid:{child.pid} env:WEBHOOK_SECRET")
        ]
        assert ENTROPIC not in on.findings[0].message
        # a uid that owns none of these processes sees nothing
        from prodshield.audit.rules.environment import proc_subjects

        assert list(proc_subjects(uid=os.getuid() + 12345, only=[child.pid])) == []
    finally:
        child.kill()
        child.wait(timeout=5)


AWS_KEY = "AKIA" + "QYLPMN5HHHFPZAM2"


@pytest.mark.parametrize(
    "env", [RUNNER_ENV, DEVELOPER_ENV, CONTAINER_ENV], ids=["runner", "developer", "container"]
)
def test_standard_environments_are_clean(env: dict[str, str]) -> None:
    assert audit(families="environment", environ=env).findings == []


@pytest.mark.parametrize(
    "env", [RUNNER_ENV, DEVELOPER_ENV, CONTAINER_ENV], ids=["runner", "developer", "container"]
)
def test_real_credentials_in_those_environments_are_still_found(env: dict[str, str]) -> None:
    planted = {
        **env,
        "DB_PASSWORD": "hunter2-long-secret",
        "AWS_ACCESS_KEY_ID": AWS_KEY,
        # a standard name holding a real credential is judged by its value
        "GITHUB_TOKEN": TOKEN,
    }
    report = audit(families="environment", environ=planted)
    assert sorted(f.target or "" for f in report.findings) == [
        "env:AWS_ACCESS_KEY_ID",
        "env:DB_PASSWORD",
        "env:GITHUB_TOKEN",
    ]
    by = {f.target: f for f in report.findings}
    assert "holds an aws_access_key_id" in by["env:AWS_ACCESS_KEY_ID"].message
    assert all(
        AWS_KEY not in f.message and "hunter2-long" not in f.message for f in report.findings
    )


def test_a_dotenv_file_is_still_judged_by_name(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PWD=s3cr3t-pa55w0rd!\n")
    (tmp_path / ".env").chmod(0o600)
    report = audit([tmp_path], families="environment")
    assert [(f.path, f.line, f.target) for f in report.findings] == [(".env", 1, None)]


def test_one_secret_on_one_dotenv_line_is_one_finding(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\nAPP_NAME=shop\n")
    (tmp_path / ".env").chmod(0o600)
    report = audit([tmp_path], families="secrets,environment")
    at_line = [(f.rule, f.path, f.line) for f in report.findings]
    assert at_line == [("secrets.leak", ".env", 1)]
    assert report.suppressed == {"duplicate": 1}
    # the environment family alone still reports it
    alone = audit([tmp_path], families="environment")
    assert [(f.rule, f.line) for f in alone.findings] == [("environment.dotenv-secret", 1)]
