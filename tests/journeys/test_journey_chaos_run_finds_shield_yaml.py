"""A user runs ``prodshield chaos run experiment.json`` (no ``-c``) next to their shield.yaml.

The README says the config is found via ``-c FILE``, then ``$PRODSHIELD_CONFIG``, then
``./shield.yaml``; ``chaos run`` finds it as every command does, so a ``type: check`` probe runs
that file's check, and ``--env`` reads its store's incidents. ``$PRODSHIELD_CONFIG`` naming no file
is one line and exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.chaos_experiments import api_check_passes
from support.cli import prodshield, shell_env
from support.net import answering, http_server


def _files(folder: Path, url: str) -> Path:
    (folder / "shield.yaml").write_text(
        f"""
storage: "sqlite:///{folder / "state.db"}"
defaults: {{timeout: 5s, failure_threshold: 1}}
environments:
  staging: {{}}
checks:
  - name: api
    type: http
    url: "{url}/health"
    environments: [staging]
    conditions: ["[STATUS] == 200"]
"""
    )
    experiment = folder / "experiment.json"
    experiment.write_text(
        json.dumps(
            {
                "title": "the api check holds",
                "description": "steady state is the shield.yaml check",
                "steady-state-hypothesis": api_check_passes(),
                "method": [],
            }
        )
    )
    return experiment


def test_chaos_run_reads_the_shield_yaml_of_the_current_folder(tmp_path: Path) -> None:
    env = shell_env()  # no $PRODSHIELD_CONFIG
    with http_server(answering(200)) as port:
        experiment = _files(tmp_path, f"http://127.0.0.1:{port}")
        ran = prodshield(tmp_path, "chaos", "run", "experiment.json", "--env", "staging", env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    journal = json.loads((tmp_path / "journal.json").read_text())
    probe = journal["steady_states"]["before"]["probes"][0]
    assert probe["status"] == "succeeded" and probe["output"] is True, probe
    assert "journal stored as experiment_journals #1" in ran.stderr

    missing = prodshield(
        tmp_path, "chaos", "run", str(experiment), env={**env, "PRODSHIELD_CONFIG": "nope.yaml"}
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        "error: nope.yaml: no such config file (from $PRODSHIELD_CONFIG)"
    ]
