"""The experiment runner's library API: loading and validation errors, substitution, tolerances,
prodshield's extras (export_as, undoes, re-check after rollbacks), JUnit, and the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from prodshield.chaos.experiments import (
    InvalidExperiment,
    RollbackStrategy,
    RunOptions,
    exit_code,
    load_experiment,
    run_experiment,
    save_journal,
    to_junit,
    validate_experiment,
)
from prodshield.chaos.experiments.configuration import (
    Bindings,
    load_configuration,
    load_secrets,
    load_var_files,
    parse_vars,
    substitute,
)
from prodshield.chaos.experiments.hypothesis import within_tolerance
from prodshield.chaos.experiments.strategy import Dry, HypothesisStrategy


def sh(name: str, script: str, kind: str = "action", **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "name": name,
        "provider": {"type": "process", "path": "sh", "arguments": ["-c", script]},
        **extra,
    }


def experiment(
    method: list[Any], rollbacks: list[Any] | None = None, /, **extra: Any
) -> dict[str, Any]:
    exp: dict[str, Any] = {
        "title": "unit",
        "description": "unit test experiment",
        "method": method,
        "rollbacks": rollbacks or [],
    }
    exp.update(extra)
    return exp


def quiet() -> RunOptions:
    return RunOptions(handle_signals=False)


# --- loading and validation ---------------------------------------------------------------------


def test_yaml_and_json_load_the_same(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("title: t\ndescription: d\nmethod: []\n")
    (tmp_path / "e.json").write_text('{"title": "t", "description": "d", "method": []}')
    assert load_experiment(tmp_path / "e.yaml") == load_experiment(tmp_path / "e.json")


def test_syntax_errors_name_file_line_and_column(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"title": "t",\n  "method": [}\n')
    with pytest.raises(InvalidExperiment, match=r"bad\.json:2:\d+"):
        load_experiment(bad_json)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("title: t\nmethod: [\n  - a: b\n")
    with pytest.raises(InvalidExperiment, match=r"bad\.yaml:\d+:\d+"):
        load_experiment(bad_yaml)
    with pytest.raises(InvalidExperiment, match="no such file"):
        load_experiment(tmp_path / "missing.json")


def test_validation_lists_every_problem_with_its_place() -> None:
    exp = experiment(
        [
            {"type": "action", "name": "a", "provider": {"type": "nope"}},
            {"type": "dance", "name": "b", "provider": {"type": "process", "path": "true"}},
            {"ref": "missing"},
            sh("c", "true", pauses={"before": "soon"}),
        ],
        [sh("r", "true", undoes="not-an-action")],
        **{
            "steady-state-hypothesis": {
                "title": "h",
                "probes": [
                    sh("p", "true", "probe"),
                    sh("q", "true", "probe", tolerance={"type": "jsonpath", "path": "$[["}),
                ],
            }
        },
    )
    with pytest.raises(InvalidExperiment) as info:
        validate_experiment(exp)
    text = "\n".join(info.value.problems)
    assert "method[0] (a): unknown provider type 'nope'" in text
    assert "method[1] (b): type must be 'probe' or 'action'" in text
    assert "method[2] (ref missing): ref 'missing' names no activity" in text
    assert "method[3] (c): pauses.before" in text
    assert "steady-state-hypothesis.probes[0] (p): a hypothesis probe needs a tolerance" in text
    assert "probes[1] (q): tolerance: path '$[[' is not a valid JSON path" in text
    assert "rollbacks[0] (r): undoes 'not-an-action'" in text


def test_cli_reports_invalid_experiment_in_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text(json.dumps({"title": "t", "method": []}))
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield.cli.entry", "chaos", "run", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    assert "error: description: an experiment needs a description" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_quiet_says_why_a_run_whose_steady_state_was_off_before_fails(tmp_path: Path) -> None:
    exp = experiment(
        [sh("touch", "touch injected")],
        **{
            "steady-state-hypothesis": {
                "title": "the service answers",
                "probes": [sh("answers", "exit 3", kind="probe", tolerance=0)],
            }
        },
    )
    (tmp_path / "e.json").write_text(json.dumps(exp))
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield.cli.entry", "chaos", "run", "-q", "e.json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "steady state was NOT met before the method" in proc.stdout, proc.stdout
    assert not (tmp_path / "injected").exists()  # the method did not run


# --- configuration, secrets, substitution -------------------------------------------------------


def test_substitution_keeps_types_and_reaches_into_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PS_TEST_PORT", "8080")
    conf = load_configuration(
        {
            "port": {"type": "env", "key": "PS_TEST_PORT", "env_var_type": "int"},
            "host": {"type": "env", "key": "PS_TEST_UNSET_HOST", "default": "localhost"},
            "name": "svc",
        },
        {"name": "override"},
    )
    secrets = load_secrets({"db": {"password": "s3cret"}})
    b = Bindings(conf, secrets)
    b.export("answer", {"body": {"items": [{"id": 7}]}})
    assert substitute("${port}", b) == 8080
    assert substitute("http://${host}:${port}/${name}", b) == "http://localhost:8080/override"
    assert substitute({"k": ["${password}", "${unknown}"]}, b) == {"k": ["s3cret", "${unknown}"]}
    assert substitute("${answer.body.items.0.id}", b) == 7
    with pytest.raises(InvalidExperiment, match="PS_TEST_MISSING is not set"):
        load_configuration({"x": {"type": "env", "key": "PS_TEST_MISSING"}})


def test_vars_and_var_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_vars(["a=1", "b:int=2", "c:float=0.5", "d:bool=true"]) == {
        "a": "1",
        "b": 2,
        "c": 0.5,
        "d": True,
    }
    with pytest.raises(InvalidExperiment, match="name\\[:type\\]=value"):
        parse_vars(["novalue"])
    with pytest.raises(InvalidExperiment, match="cannot read 'x' as int"):
        parse_vars(["n:int=x"])
    yaml_file = tmp_path / "vars.yaml"
    yaml_file.write_text("configuration:\n  who: file\nsecrets:\n  db:\n    password: pw\n")
    env_file = tmp_path / "vars.env"
    env_file.write_text("# comment\nPS_TEST_FROM_ENV_FILE=yes\n")
    monkeypatch.delenv("PS_TEST_FROM_ENV_FILE", raising=False)
    config, secrets = load_var_files([yaml_file, env_file])
    assert config == {"who": "file"} and secrets == {"db": {"password": "pw"}}
    assert os.environ["PS_TEST_FROM_ENV_FILE"] == "yes"


# --- tolerances ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tolerance", "value", "expected"),
    [
        (True, True, True),
        (True, 1, True),  # as Chaos Toolkit: equality
        (False, True, False),
        ("ok", "ok", True),
        ("ok", "ko", False),
        (0, {"status": 0, "stdout": ""}, True),
        (200, {"status": 503}, False),
        (5, 5, True),
        ([1, 10], 5, True),  # two values: a range
        ([1, 10], 11, False),
        ([1, 2, 3], 2, True),  # more: membership
        ([1, 2, 3], 4, False),
        ([200, 204], {"status": 204}, True),  # with a status: membership
        ([1, 10], "text", False),  # not comparable: outside
        ({"type": "regex", "pattern": "^up"}, "up and running", True),
        ({"type": "regex", "pattern": "^up", "target": "stdout"}, {"stdout": "down"}, False),
        ({"type": "range", "range": [0.5, 1.0]}, "0.75", True),
        ({"type": "range", "range": [0, 1], "target": "body"}, {"body": 2}, False),
        ({"type": "range", "range": [0, 1]}, "nan-ish", False),
        ({"type": "jsonpath", "path": "$.items[*].id"}, '{"items": [{"id": 1}]}', True),
        ({"type": "jsonpath", "path": "$.items[*].id", "count": 2}, {"items": [{"id": 1}]}, False),
        (
            {"type": "jsonpath", "path": "$.state", "expect": "up", "target": "body"},
            {"body": {"state": "up"}},
            True,
        ),
        ({"type": "jsonpath", "path": "$.state", "expect": "up"}, {"state": "down"}, False),
    ],
)
def test_tolerances(tolerance: Any, value: Any, expected: bool) -> None:
    assert within_tolerance(tolerance, value) is expected


# --- runs ----------------------------------------------------------------------------------------


def test_export_as_feeds_a_later_activity(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    exp = experiment(
        [
            {
                "type": "probe",
                "name": "make-token",
                "export_as": "token",
                "provider": {"type": "process", "path": "echo", "arguments": ["abc123"]},
            },
            sh("use-token", f"printf %s '${{token.stdout}}' > {out}"),
        ]
    )
    validate_experiment(exp)
    journal = run_experiment(exp, quiet())
    assert exit_code(journal) == 0
    assert out.read_text().strip() == "abc123"


def test_interrupted_run_rolls_back_only_what_ran(tmp_path: Path) -> None:
    log = tmp_path / "rollbacks.log"
    exp = experiment(
        [
            sh("first", "true"),
            {
                "type": "action",
                "name": "stop",
                "provider": {
                    "type": "python",
                    "module": "support.chaos_experiments",
                    "func": "interrupt",
                },
            },
            sh("never-ran", "true"),
        ],
        [
            sh("undo-first", f"echo undo-first >> {log}", undoes="first"),
            sh("undo-never-ran", f"echo undo-never-ran >> {log}", undoes="never-ran"),
            sh("untied", f"echo untied >> {log}"),
        ],
    )
    validate_experiment(exp)
    journal = run_experiment(exp, quiet())
    assert journal["status"] == "interrupted"
    # default strategy plays no rollback on interruption, except those tied to what ran
    assert log.read_text().split() == ["undo-first"]
    log.unlink()
    journal = run_experiment(
        exp, RunOptions(rollback_strategy=RollbackStrategy.ALWAYS, handle_signals=False)
    )
    assert log.read_text().split() == ["undo-first", "untied"]
    log.unlink()
    run_experiment(exp, RunOptions(rollback_strategy=RollbackStrategy.NEVER, handle_signals=False))
    assert not log.exists()


def test_recheck_after_rollbacks(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.touch()
    probe = sh("marker", f"test -f {marker}", "probe", tolerance=0)
    hyp = {"steady-state-hypothesis": {"title": "marker", "probes": [probe]}}
    good = experiment([sh("rm", f"rm {marker}")], [sh("restore", f"touch {marker}")], **hyp)
    journal = run_experiment(good, RunOptions(verify_after_rollbacks=True, handle_signals=False))
    assert journal["deviated"] is True and journal["recovered"] is True
    assert journal["steady_states"]["after_rollbacks"]["steady_state_met"] is True
    bad = experiment([sh("rm", f"rm {marker}")], [sh("forget", "true")], **hyp)
    marker.touch()
    journal = run_experiment(
        bad,
        RunOptions(
            verify_after_rollbacks=True,
            rollback_strategy=RollbackStrategy.ALWAYS,
            handle_signals=False,
        ),
    )
    assert journal["recovered"] is False and exit_code(journal) == 1


def test_dry_probes_skips_probes_and_tolerances(tmp_path: Path) -> None:
    exp = experiment(
        [sh("touch", f"touch {tmp_path / 'acted'}")],
        **{
            "steady-state-hypothesis": {
                "title": "never true",
                "probes": [sh("false", "exit 3", "probe", tolerance=0)],
            }
        },
    )
    journal = run_experiment(exp, RunOptions(dry=Dry.PROBES, handle_signals=False))
    assert journal["status"] == "completed" and not journal["deviated"]
    assert (tmp_path / "acted").exists()
    assert journal["steady_states"]["before"]["probes"][0]["output"] is None


def test_continuous_hypothesis_with_fail_fast_stops_the_method(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.touch()
    exp = experiment(
        [sh("rm", f"rm {marker}"), sh("wait", "sleep 0.6"), sh("late", f"touch {tmp_path}/late")],
        **{
            "steady-state-hypothesis": {
                "title": "marker",
                "probes": [sh("marker", f"test -f {marker}", "probe", tolerance=0)],
            }
        },
    )
    journal = run_experiment(
        exp,
        RunOptions(
            hypothesis_strategy=HypothesisStrategy.DURING_METHOD,
            fail_fast=True,
            hypothesis_frequency=0.1,
            handle_signals=False,
        ),
    )
    assert journal["status"] == "failed"
    assert any(s and not s["steady_state_met"] for s in journal["steady_states"]["during"])
    assert not (tmp_path / "late").exists()


def test_junit_report_counts_failures() -> None:
    exp = experiment(
        [
            sh("ok", "true"),
            {
                "type": "probe",
                "name": "boom",
                "provider": {
                    "type": "process",
                    "path": "sh",
                    "arguments": ["-c", "sleep 5"],
                    "timeout": 0.2,
                },
            },
        ],
        **{
            "steady-state-hypothesis": {
                "title": "h",
                "probes": [sh("status", "exit 1", "probe", tolerance=0)],
            }
        },
        runtime={"hypothesis": {"strategy": "after-method-only"}},
    )
    journal = run_experiment(exp, quiet())
    root = ET.fromstring(to_junit(journal))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "4"  # after probe, two method activities, the verdict
    assert suite.get("errors") == "1"  # the timed-out probe
    assert suite.get("failures") == "2"  # the probe outside tolerance and the verdict
    names = [c.get("name") for c in suite.iter("testcase")]
    assert names == ["status", "ok", "boom", "verdict"]


def test_journal_goes_to_the_store(store: Any) -> None:
    from prodshield.store import tables as t

    journal = run_experiment(experiment([sh("ok", "true")]), quiet())
    row_id = save_journal(store, journal, 1.0, 2.0)
    with store.connect() as conn:
        row = conn.execute(
            select(t.experiment_journals).where(t.experiment_journals.c.id == row_id)
        ).one()
    assert row.status == "completed" and row.deviated is False
    assert row.journal["run"][0]["activity"]["name"] == "ok"


def test_cli_stores_the_journal_when_given_a_config(tmp_path: Path) -> None:
    import sqlite3

    (tmp_path / "shield.yaml").write_text("storage: sqlite:///./store.db\n")
    (tmp_path / "e.yaml").write_text(
        "title: stored\ndescription: d\nmethod:\n"
        "  - {type: action, name: a, provider: {type: process, path: 'true'}}\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "prodshield.cli.entry",
            "chaos",
            "run",
            "e.yaml",
            "-c",
            "shield.yaml",
            "--junit",
            "r.xml",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "stored: completed" in proc.stdout
    rows = (
        sqlite3.connect(tmp_path / "store.db")
        .execute("SELECT title, status, deviated FROM experiment_journals")
        .fetchall()
    )
    assert rows == [("stored", "completed", 0)]
    assert json.loads((tmp_path / "journal.json").read_text())["run"][0]["status"] == "succeeded"
    assert ET.parse(tmp_path / "r.xml").getroot().find("testsuite") is not None


def test_full_cli_path_keeps_the_exit_code(tmp_path: Path) -> None:
    """``python -m prodshield`` goes through the typer group, not the fast path."""
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield", "chaos", "run", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2  # a missing file is a usage error
    assert proc.stderr.strip().endswith("missing.json: no such file"), proc.stderr
