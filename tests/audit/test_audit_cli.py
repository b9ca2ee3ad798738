"""The gate from the command line, as a pipeline runs it: real processes, real exit codes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import pytest

from prodshield.audit.tlsbench import TlsBench
from support.cli import clean_env

AWS_KEY = "AKIA" + "QYLPMN5HFIQR7XYZ"


def proc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``prodshield audit ...`` as a pipeline runs it: a real process with a clean environment."""
    env = clean_env(cwd)
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


class RunCli(Protocol):
    def __call__(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """The same entry point in-process (main() and its error boundary), for speed."""
    from prodshield.cli.main import main

    def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["prodshield", "audit", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main()
        out, err = capsys.readouterr()
        code = exit_info.value.code
        return subprocess.CompletedProcess(args, code if isinstance(code, int) else 0, out, err)

    return run


def _vulnerable(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app/settings.py").write_text("DEBUG = True\n")
    (root / "app/notes.yaml").write_text(f"aws_access_key_id: {AWS_KEY}\n")
    (root / "app/notes.yaml").chmod(0o600)
    return root / "app"


def _clean(root: Path) -> Path:
    (root / "ok").mkdir(parents=True)
    (root / "ok/settings.py").write_text("import os\nDEBUG = os.environ.get('DEBUG') == '1'\n")
    return root / "ok"


def test_exit_0_on_a_clean_tree_and_1_on_findings(tmp_path: Path) -> None:
    _clean(tmp_path)
    _vulnerable(tmp_path)
    cli = proc
    ok = cli("ok", "--no-process-env", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "passed" in ok.stdout
    bad = cli("app", "--no-process-env", cwd=tmp_path)
    assert bad.returncode == 1
    assert "config.django-debug" in bad.stdout and "secrets.leak" in bad.stdout
    assert AWS_KEY not in bad.stdout  # redacted


def test_several_paths_as_arguments_and_default_dot(cli: RunCli, tmp_path: Path) -> None:
    _clean(tmp_path)
    _vulnerable(tmp_path)
    r = cli("ok", "app", "--only", "config", "-f", "json", cwd=tmp_path)
    assert r.returncode == 1
    assert [f["rule"] for f in json.loads(r.stdout)["findings"]] == ["config.django-debug"]
    here = cli("--only", "config", "-f", "json", cwd=tmp_path / "app")
    assert [f["path"] for f in json.loads(here.stdout)["findings"]] == ["settings.py"]


def test_fail_on_threshold(cli: RunCli, tmp_path: Path) -> None:
    _vulnerable(tmp_path)
    # config.django-debug is high; below a critical gate it passes
    assert cli("app", "--only", "config", "--fail-on", "critical", cwd=tmp_path).returncode == 0
    assert cli("app", "--only", "config", "--fail-on", "high", cwd=tmp_path).returncode == 1


@pytest.mark.parametrize("args", [("--only", "nonsense"), ("--fail-on", "severe")])
def test_exit_2_on_usage_errors_in_a_real_process(tmp_path: Path, args: tuple[str, ...]) -> None:
    r = proc(".", *args, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--format", "pdf"),
        ("-c", "missing.yaml"),
        ("--tls", "host:port:oops"),
        ("--ca-file", "nope.pem", "--tls", "127.0.0.1:1"),
        ("--baseline", "nope.json"),
        ("no/such/dir",),
    ],
)
def test_exit_2_on_usage_errors(cli: RunCli, tmp_path: Path, args: tuple[str, ...]) -> None:
    r = cli(".", "--no-process-env", *args, cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr


def test_exit_2_on_a_bad_config(cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text("audit:\n  fail_on: sometimes\n")
    r = cli(cwd=tmp_path)
    assert r.returncode == 2 and "shield.yaml" in r.stderr


def test_output_file_sarif(cli: RunCli, tmp_path: Path) -> None:
    _vulnerable(tmp_path)
    r = cli("app", "--no-process-env", "-f", "sarif", "-o", "out/audit.sarif", cwd=tmp_path)
    assert r.returncode == 1
    doc = json.loads((tmp_path / "out/audit.sarif").read_text())
    assert doc["version"] == "2.1.0" and doc["runs"][0]["results"]
    assert "FAILED" in r.stderr and "out/audit.sarif" in r.stderr


def test_config_paths_tls_and_store(cli: RunCli, tmp_path: Path, bench: TlsBench) -> None:
    _vulnerable(tmp_path)
    expired = bench.endpoint("expired")
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///state.db\n"
        "audit:\n  paths: [app]\n  fail_on: critical\n"
        f"  ca_file: {bench.ca_file}\n"
        f"  tls:\n    - {{host: 127.0.0.1, port: {expired.port}, servername: localhost}}\n"
    )
    r = cli("-f", "json", "--no-process-env", cwd=tmp_path)
    assert r.returncode == 1, r.stderr  # tls.expired is critical
    rules = {f["rule"] for f in json.loads(r.stdout)["findings"]}
    assert {"tls.expired", "config.django-debug", "secrets.leak"} <= rules
    with sqlite3.connect(tmp_path / "state.db") as db:
        (runs,) = db.execute("select count(*) from audit_runs").fetchone()
        (found,) = db.execute(
            "select count(*) from audit_findings where rule='tls.expired'"
        ).fetchone()
    assert runs == 1 and found == 1


def test_tls_shortcut(cli: RunCli, tmp_path: Path, bench: TlsBench) -> None:
    clean, selfsigned = bench.endpoint("clean"), bench.endpoint("self-signed")
    ok = cli(
        "tls",
        f"127.0.0.1:{clean.port}",
        "--servername",
        "localhost",
        "--ca-file",
        str(bench.ca_file),
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = cli(
        "tls",
        f"127.0.0.1:{selfsigned.port}",
        "--servername",
        "localhost",
        "--ca-file",
        str(bench.ca_file),
        "-f",
        "json",
        cwd=tmp_path,
    )
    assert bad.returncode == 1
    assert [f["rule"] for f in json.loads(bad.stdout)["findings"]] == ["tls.self-signed"]


def test_tls_option_in_the_full_run(cli: RunCli, tmp_path: Path, bench: TlsBench) -> None:
    mismatch = bench.endpoint("hostname-mismatch")
    r = cli(
        "--only",
        "tls",
        "--tls",
        f"127.0.0.1:{mismatch.port}",
        "--servername",
        "localhost",
        "--ca-file",
        str(bench.ca_file),
        "-f",
        "json",
        cwd=tmp_path,
    )
    assert r.returncode == 1
    assert [f["rule"] for f in json.loads(r.stdout)["findings"]] == ["tls.hostname-mismatch"]


def test_secrets_shortcut(cli: RunCli, tmp_path: Path) -> None:
    _vulnerable(tmp_path)
    r = cli("secrets", "app", cwd=tmp_path)
    assert r.returncode == 1
    assert AWS_KEY not in r.stdout


def test_baseline_accepts_known_findings(cli: RunCli, tmp_path: Path) -> None:
    _vulnerable(tmp_path)
    first = cli("app", "--no-process-env", "-f", "json", cwd=tmp_path)
    data = json.loads(first.stdout)
    (tmp_path / "baseline.json").write_text(
        json.dumps({"version": 1, "tool": "prodshield", "findings": data["findings"]})
    )
    again = cli("app", "--no-process-env", "--baseline", "baseline.json", cwd=tmp_path)
    assert again.returncode == 0, again.stdout
    assert "baseline" in again.stdout


def test_process_environment_is_audited_and_redacted(tmp_path: Path) -> None:
    env = clean_env(tmp_path, PAYMENTS_API_KEY="sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "prodshield",
            "audit",
            "--only",
            "environment",
            "-f",
            "json",
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    findings = json.loads(r.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["environment.process-secret"]
    assert "PAYMENTS_API_KEY" in findings[0]["message"]
    assert "4eC39HqLyjWDarjtT1zdp7dc" not in r.stdout


@pytest.mark.parametrize("where", [".", "app"])
def test_one_baseline_for_audit_secrets_and_the_full_audit(
    cli: RunCli, tmp_path: Path, where: str
) -> None:
    _vulnerable(tmp_path)
    (tmp_path / "app/settings.py").unlink()
    written = cli("baseline", where, "-o", "accepted.json", "--reason", "demo keys", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    plain = cli(where, "--only", "secrets", cwd=tmp_path)
    assert plain.returncode == 1
    accepted = cli(where, "--only", "secrets", "--baseline", "accepted.json", cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stdout
    assert "(suppressed: 1 by the baseline)" in " ".join(accepted.stdout.split())


def test_sarif_anchors_an_endpoint_to_the_shield_yaml_in_the_tree_and_never_invents_one(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "main.py").write_text("print(1)\n")
    with TlsBench() as bench:
        target = bench.endpoint("expired")
        (repo / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "audit:\n"
            f"  tls: [{{host: {target.host}, port: {target.port}, servername: localhost}}]\n"
            f"  ca_file: {bench.ca_file}\n"
        )
        done = proc("--only", "tls", "--format", "sarif", "--no-store", cwd=repo)
        assert done.returncode == 1, done.stderr
        (result,) = [
            r for r in json.loads(done.stdout)["runs"][0]["results"] if r["ruleId"] == "tls.expired"
        ]
        location = result["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "shield.yaml"
        assert location["logicalLocations"][0]["name"] == f"127.0.0.1:{target.port}"
        # the same endpoint given on the command line, from a folder without a shield.yaml
        bare = tmp_path / "bare"
        bare.mkdir()
        cli_only = proc(
            "tls", target.label, "--ca-file", str(bench.ca_file), "--servername", "localhost",
            "--format", "sarif", "--no-store", cwd=bare,
        )  # fmt: skip
        assert cli_only.returncode == 1, cli_only.stderr
        assert "shield.yaml" not in cli_only.stdout
        for r in json.loads(cli_only.stdout)["runs"][0]["results"]:
            assert "physicalLocation" not in r["locations"][0]


def test_strict_full_audit_ignores_inline_allows(cli: RunCli, tmp_path: Path) -> None:
    from support import secrets_tokens as tok

    app = tmp_path / "app"
    app.mkdir()
    (app / "settings.py").write_text(f"TOKEN = '{tok.github_classic()}'  # prodshield:allow\n")
    allowed = cli("app", "--only", "secrets", "--no-store", cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stdout
    strict = cli("app", "--only", "secrets", "--no-store", "--strict", cwd=tmp_path)
    assert strict.returncode == 1 and "secrets.leak" in strict.stdout, strict.stdout
