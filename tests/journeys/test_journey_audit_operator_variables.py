"""Journey: the variables an operator exports for prodshield (its own ``PRODSHIELD_*`` settings
and what shield.yaml reads as ``${VAR}``) do not fail the audit gate in that environment, and
any other secret variable still does (CLI as a subprocess, the environment given whole)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from support.cli import prodshield
from support.standard_envs import DEVELOPER_ENV

TOKEN = "newcomer-token-1234567890"
HOOK_SECRET = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA9q"  # prodshield:allow (a test value)

SHIELD = """\
storage: "sqlite:///prodshield.db"
serve:
  token: "${PRODSHIELD_TOKEN}"
notifiers:
  hook:
    type: webhook
    url: "http://127.0.0.1:9/x"
    secret: "${HOOK_SECRET}"
"""


def _audit(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # only the given environment (like `env -i`), plus the checkout under test
    step_env = {**env, "PYTHONPATH": os.environ.get("PYTHONPATH", ""), "COLUMNS": "200"}
    return prodshield(repo, "audit", ".", env=step_env)


def _tree(tmp_path: Path, shield: bool) -> Path:
    repo = tmp_path / "shop"
    repo.mkdir()
    (repo / "main.py").write_text('print("hello")\n')
    if shield:
        (repo / "shield.yaml").write_text(SHIELD)
    return repo


def test_the_token_the_docs_export_passes_the_gate_without_a_config(tmp_path: Path) -> None:
    repo = _tree(tmp_path, shield=False)
    done = _audit(repo, {**DEVELOPER_ENV, "PRODSHIELD_TOKEN": TOKEN})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "env:PRODSHIELD_TOKEN: prodshield's own setting" in done.stdout
    assert TOKEN not in done.stdout + done.stderr


def test_variables_shield_yaml_reads_pass_and_other_secrets_still_fail(tmp_path: Path) -> None:
    repo = _tree(tmp_path, shield=True)
    env = {**DEVELOPER_ENV, "PRODSHIELD_TOKEN": TOKEN, "HOOK_SECRET": HOOK_SECRET}
    done = _audit(repo, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "env:HOOK_SECRET: shield.yaml reads it as ${HOOK_SECRET}" in done.stdout

    leaked = _audit(repo, {**env, "DB_PASSWORD": "hunter2-long-secret"})
    assert leaked.returncode == 1, leaked.stdout + leaked.stderr
    assert "env:DB_PASSWORD" in leaked.stdout
    assert leaked.stdout.count("environment.process-secret") == 1, leaked.stdout

    # a .env file in the tree holding the same variable is a leak wherever it is read from
    (repo / ".env").write_text(f"HOOK_SECRET={HOOK_SECRET}\n")
    (repo / ".env").chmod(0o600)
    dotenv = _audit(repo, env)
    assert dotenv.returncode == 1, dotenv.stdout + dotenv.stderr
    assert ".env:1" in dotenv.stdout, dotenv.stdout
