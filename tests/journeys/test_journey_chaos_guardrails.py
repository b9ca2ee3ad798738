"""Journey: chaos joined to the monitoring. `monitor once` opens an incident in production; `chaos run
-c shield.yaml --env production` then refuses to start (exit 4, the incident named); staging runs,
its steady state being the shield.yaml check (`type: check` probe); `--force` runs in production,
says so, the failing check keeps the method from starting, and the skipped rollback is said even
with `--quiet`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.chaos_experiments import api_check_passes
from support.cli import prodshield, shell_env
from support.net import http_server
from support.standins.production_down import ProductionDown


@pytest.fixture
def target() -> Iterator[str]:
    with http_server(ProductionDown) as port:
        yield f"http://127.0.0.1:{port}"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, env=shell_env(drop=("PRODSHIELD_CONFIG",)))


def _experiment(path: Path, env: str, marker: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "title": f"api survives in {env}",
                "description": "steady state is the shield.yaml check",
                "steady-state-hypothesis": api_check_passes(env),
                "method": [
                    {
                        "type": "action",
                        "name": "touch-marker",
                        "provider": {"type": "process", "path": "touch", "arguments": str(marker)},
                    }
                ],
                "rollbacks": [
                    {
                        "type": "action",
                        "name": "remove-marker",
                        "provider": {"type": "process", "path": "rm", "arguments": f"-f {marker}"},
                    }
                ],
            }
        )
    )
    return path


def test_chaos_run_guarded_by_incidents_and_checks(tmp_path: Path, target: str) -> None:
    cfg = tmp_path / "shield.yaml"
    cfg.write_text(
        f"""
storage: "sqlite:///{tmp_path / "state.db"}"
defaults: {{timeout: 5s, failure_threshold: 1}}
environments:
  production: {{vars: {{base_url: "{target}/prod"}}}}
  staging: {{vars: {{base_url: "{target}/stage"}}}}
checks:
  - name: api
    type: http
    url: "{{base_url}}/health"
    environments: [production, staging]
    conditions: ["[STATUS] == 200"]
"""
    )
    once = _cli(tmp_path, "monitor", "once", "-c", str(cfg))
    assert once.returncode == 1, once.stderr  # production is down: an incident opens

    marker = tmp_path / "marker"
    prod = _experiment(tmp_path / "prod.json", "production", marker)
    refused = _cli(tmp_path, "chaos", "run", str(prod), "-c", str(cfg), "--env", "production")
    assert refused.returncode == 4, refused.stderr
    assert "refusing to inject faults while 1 incident is open in production" in refused.stderr
    assert "#1 api (production)" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "journal.json").exists()  # nothing ran

    # a dry run of the activities injects nothing: a check, which the incident does not stop
    for what in ("activities", "actions"):
        dry = _cli(tmp_path, "chaos", "run", str(prod), "-c", str(cfg), "--dry", what)
        assert dry.returncode != 4 and "refusing" not in dry.stderr, dry.stderr
        assert "--force" not in dry.stderr and not marker.exists()
        assert json.loads((tmp_path / "journal.json").read_text())["experiment"]["dry"] == what
        (tmp_path / "journal.json").unlink()
    probes_only = _cli(tmp_path, "chaos", "run", str(prod), "-c", str(cfg), "--dry", "probes")
    assert probes_only.returncode == 4, probes_only.stderr  # its actions still run

    stage = _experiment(tmp_path / "stage.json", "staging", marker)
    ran = _cli(tmp_path, "chaos", "run", str(stage), "-c", str(cfg), "--env", "staging")
    assert ran.returncode == 0, ran.stderr
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "completed" and not journal["deviated"]
    assert journal["steady_states"]["before"]["probes"][0]["output"] is True
    assert not marker.exists()  # the rollback ran

    anyway = _cli(
        tmp_path,
        "chaos", "run", str(prod), "-c", str(cfg), "--env", "production", "--force", "-q",
        "--rollback-strategy", "deviated",
    )  # fmt: skip
    assert "warning: 1 open incident in production: #1 api (production)" in anyway.stderr
    assert "running anyway (--force)" in anyway.stderr
    journal = json.loads((tmp_path / "journal.json").read_text())
    before = journal["steady_states"]["before"]
    assert before["steady_state_met"] is False and before["probes"][0]["output"] is False
    assert journal["run"] == [] and not marker.exists()  # the method did not start
    assert (
        "warning: rollback skipped: remove-marker (rollback strategy deviated and the steady "
        "state did not deviate)" in anyway.stderr
    )

    elsewhere = tmp_path / "elsewhere"  # no ./shield.yaml there
    elsewhere.mkdir()
    unguarded = _cli(elsewhere, "chaos", "run", str(prod), "--env", "production")
    assert unguarded.returncode == 2 and "--env needs --config" in unguarded.stderr
    no_config = _cli(elsewhere, "chaos", "run", str(stage))
    assert no_config.returncode == 1
    journal = json.loads((elsewhere / "journal.json").read_text())
    assert "no shield.yaml to run checks from" in "".join(
        journal["steady_states"]["before"]["probes"][0]["exception"]
    )
