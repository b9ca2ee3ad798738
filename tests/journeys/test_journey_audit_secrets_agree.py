"""Journey: ``prodshield audit`` and ``prodshield audit secrets`` run on the same tree (real files,
real modes) report the same secrets: a GitHub-looking token in ``deploy.env`` (which ``audit``
reported and ``audit secrets`` missed), a ``deploy.env`` readable by others (``.env`` was flagged,
``deploy.env`` was not), and the operator's own variables in a running process's environment
(skipped by ``audit``, reported by ``audit secrets --pid``)."""

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

# 36 random alphanumerics after ghp_ (not GitHub's checksum): what a newcomer pastes to try it
GH_TOKEN = "ghp_" + "Qz8rTb2LkW9xVn4PsJ7dHc3MfY6gA1eUo5iR"
PASSWORD = "hunter2-Long-secret-77"  # prodshield:allow (a test value)
OWN_TOKEN = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA9qR7kLp2Xw"  # prodshield:allow (a test value)
HOOK_SECRET = "Yk3nP9qW2xL7vR4tZ8mB6cD1fG5hJ0sAeQ"  # prodshield:allow (a test value)
LEAKED = "Qm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA7zWq4"  # prodshield:allow (a test value)

SHIELD = """\
storage: "sqlite:///prodshield.db"
notifiers:
  hook:
    type: webhook
    url: "http://127.0.0.1:9/x"
    secret: "${HOOK_SECRET}"
"""


def _tree(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    (repo / "env").mkdir(parents=True)
    (repo / "main.py").write_text('print("hello")\n')
    files = {
        "deploy.env": f"APP=shop\nGITHUB_TOKEN={GH_TOKEN}\n",
        "env/production.env": f"DB_PASSWORD={PASSWORD}\n",
        ".env": "DEBUG=0\n",
        "example.env": "GITHUB_TOKEN=\n",
    }
    for name, text in files.items():
        (repo / name).write_text(text)
        (repo / name).chmod(0o644)
    return repo


def _json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode in (0, 1), done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert isinstance(data, dict)
    return data


def test_both_commands_report_the_same_secrets_in_env_files(tmp_path: Path) -> None:
    repo = _tree(tmp_path)
    env = wide_env()
    audit = _json(prodshield(repo, "audit", ".", "--no-process-env", "--format", "json", env=env))
    secrets = _json(prodshield(repo, "audit", "secrets", ".", "--format", "json", env=env))
    audit_findings = audit["findings"]
    secret_findings = secrets["findings"]

    by_audit = {
        (f["path"], f["line"])
        for f in audit_findings
        if f["family"] in ("secrets", "environment") and f["path"]
    }
    by_secrets = {(f["path"], f["line"]) for f in secret_findings}
    assert ("deploy.env", 2) in by_audit
    assert ("env/production.env", 1) in by_audit
    assert by_secrets == by_audit, (by_secrets, by_audit)
    for f in secret_findings:
        assert f["rule"] == "environment.dotenv-secret"
        assert f["severity"] == "high"
    text = json.dumps(secrets) + json.dumps(audit)
    assert GH_TOKEN not in text and PASSWORD not in text


def test_every_env_file_readable_by_others_is_flagged_as_env_is(tmp_path: Path) -> None:
    repo = _tree(tmp_path)
    done = prodshield(repo, "audit", ".", "--no-process-env", "--format", "json", env=wide_env())
    readable = {
        f["path"] for f in _json(done)["findings"] if f["rule"] == "permissions.env-file-readable"
    }
    assert readable == {".env", "deploy.env", "env/production.env"}, readable  # no template

    (repo / "deploy.env").chmod(0o600)
    done = prodshield(repo, "audit", ".", "--no-process-env", "--format", "json", env=wide_env())
    assert "deploy.env" not in {
        f["path"] for f in _json(done)["findings"] if f["rule"] == "permissions.env-file-readable"
    }


@pytest.fixture
def service(tmp_path: Path) -> Iterator[int]:
    """A running process (ours) whose environment holds the operator's variables and a leak."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PRODSHIELD_TOKEN": OWN_TOKEN,
        "HOOK_SECRET": HOOK_SECRET,
        "OTHER_SECRET": LEAKED,
    }
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], env=env, cwd=tmp_path
    )
    try:
        yield child.pid
    finally:
        child.kill()
        child.wait()


def test_operator_variables_in_a_process_are_skipped_by_both(tmp_path: Path, service: int) -> None:
    repo = tmp_path / "ops"
    repo.mkdir()
    (repo / "shield.yaml").write_text(SHIELD)
    env = wide_env(HOOK_SECRET=HOOK_SECRET)  # the operator's shell sets what shield.yaml reads
    secrets = prodshield(
        repo, "audit", "secrets", ".", "--pid", str(service), "--fail-on", "medium", env=env
    )
    assert secrets.returncode == 1, secrets.stdout + secrets.stderr
    assert "OTHER_SECRET" in secrets.stdout
    assert "PRODSHIELD_TOKEN" not in secrets.stdout and "HOOK_SECRET" not in secrets.stdout
    own = f"pid:{service} env:PRODSHIELD_TOKEN: prodshield's own setting"
    hook = f"pid:{service} env:HOOK_SECRET: shield.yaml reads it as ${{HOOK_SECRET}}"
    assert own in secrets.stderr and hook in secrets.stderr, secrets.stderr

    audit = prodshield(repo, "audit", ".", "--proc-environ", "--no-process-env", env=env)
    assert own in audit.stdout and hook in audit.stdout, audit.stdout
    assert f"pid:{service} env:OTHER_SECRET" in audit.stdout
    everything = secrets.stdout + secrets.stderr + audit.stdout + audit.stderr
    assert (
        OWN_TOKEN not in everything and HOOK_SECRET not in everything and LEAKED not in everything
    )
