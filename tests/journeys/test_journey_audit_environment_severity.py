"""Journey: a secret in a running process's environment had two severities: ``prodshield audit
--proc-environ`` rated ``DB_PASSWORD=...`` high (``environment.proc-environ-secret``, as
docs/audit.md states) and ``prodshield audit secrets --pid`` rated the same variable medium (the
generic rule's severity in a file). Both now rate a plaintext secret in an environment high, and
critical when its credential format is rated critical (an AWS secret access key)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.cli import prodshield, wide_env

PASSWORD = "Zq8#rT2!vLp9@wX4-long"  # prodshield:allow (a test value)
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8rT2vLp9"  # prodshield:allow (a test value)
VARIABLES = {"DB_PASSWORD": PASSWORD, "AWS_SECRET_ACCESS_KEY": AWS_SECRET}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[int]:
    env = {"PATH": os.environ.get("PATH", ""), **VARIABLES}
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], env=env, cwd=tmp_path
    )
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait()


def _json(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode in (0, 1), done.stdout + done.stderr
    findings: list[dict[str, Any]] = json.loads(done.stdout)["findings"]
    return findings


def test_both_commands_rate_a_secret_in_an_environment_alike(tmp_path: Path, service: int) -> None:
    repo = tmp_path / "app"
    repo.mkdir()
    (repo / "main.py").write_text('print("hello")\n')
    env = wide_env()
    pid = ("--pid", str(service))
    secrets = _json(prodshield(repo, "audit", "secrets", ".", *pid, "--format", "json", env=env))
    by_secrets = {
        p["variable"]: f["severity"]
        for f in secrets
        for p in f["places"]
        if p["kind"] == "process" and p["pid"] == service
    }
    audit = _json(
        prodshield(
            repo, "audit", ".", "--proc-environ", "--no-process-env", "--format", "json", env=env
        )
    )
    by_audit = {
        f["target"].split(" env:")[1]: f["severity"]
        for f in audit
        if f["rule"] == "environment.proc-environ-secret"
        and f["target"].startswith(f"pid:{service} ")
    }
    assert by_audit == {"DB_PASSWORD": "high", "AWS_SECRET_ACCESS_KEY": "critical"}, by_audit
    assert by_secrets == by_audit, (by_secrets, by_audit)
    text = json.dumps(secrets) + json.dumps(audit)
    assert PASSWORD not in text and AWS_SECRET not in text
