"""Journey: a partial audit (`--only permissions --fix --yes`, as docs/audit.md suggests after the
gate, or an audit of another folder) between two full ones, in a real git repository with the
store shield.yaml names (CLI as a subprocess). The partial run fixes only what it checked; the next
full run finds nothing "new" that was there all along, yet a secret leaked meanwhile is new; a run
that looked elsewhere is compared with nothing; `audit history` marks partial runs; the evidence
an incident gets (`monitor once`, `incident show`) names only what is really new."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env
from support.net import refused_port

AWS_KEY = "AKIA" + "QYLPMN5HHHFPZAM2"
OTHER_KEY = "AKIA" + "Q3EGTRZ7XKLM4P2N"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, env=shell_env(drop=("PRODSHIELD_",), COLUMNS="80"))


def _repo(tmp_path: Path, port: int) -> Path:
    root = tmp_path / "shop"
    (root / "app").mkdir(parents=True)
    (root / "shield.yaml").write_text(
        'storage: "sqlite:///ps.db"\n'
        "audit:\n"
        '  paths: ["."]\n'
        '  exclude: ["ps.db*"]\n'
        "checks:\n"
        f"  - {{name: shop, type: tcp, host: 127.0.0.1, port: {port}, timeout: 1s,"
        " failure_threshold: 1}\n"
    )
    (root / ".env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    (root / ".env").chmod(0o644)
    (root / "app" / "settings.py").write_text("DEBUG = True\nALLOWED_HOSTS = ['*']\n")
    (root / "app" / "run.sh").write_text("#!/bin/sh\n")
    (root / "app" / "run.sh").chmod(0o777)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _history(root: Path) -> dict[str, Any]:
    done = _cli(root, "audit", "history", "--format", "json")
    assert done.returncode == 0, done.stderr
    history: dict[str, Any] = json.loads(done.stdout)
    return history


def test_a_partial_run_is_no_baseline_for_what_it_did_not_check(tmp_path: Path) -> None:
    port = refused_port()
    root = _repo(tmp_path, port)

    first = _cli(root, "audit", "--no-process-env")  # run 1: everything
    assert first.returncode == 1, first.stdout + first.stderr
    fixing = _cli(root, "audit", "--only", "permissions", "--fix", "--yes")  # run 2
    assert fixing.returncode == 0, fixing.stdout + fixing.stderr
    assert "--fix: applied 2 of 2" in fixing.stderr, fixing.stderr
    (root / "app" / "keys.py").write_text(f'KEY = "{OTHER_KEY}"\n')  # leaked meanwhile
    third = _cli(root, "audit", "--no-process-env")  # run 3: everything again
    assert third.returncode == 1

    data = _history(root)
    run3, run2, _ = data["runs"]
    permissions = [f for f in run1_findings(root) if f["family"] == "permissions"]
    assert len(permissions) == 2
    # the permissions run fixed the permission findings, and nothing it did not look at
    assert run2["partial"] is True and run2["families"] == ["permissions"]
    assert run2["fixed"] == 2 and run2["new"] == 0
    assert run2["compared_with"] == {"permissions": 1}
    # the full run: its permissions against run 2, the rest against run 1; only the new leak
    assert run3["partial"] is False
    assert run3["compared_with"]["permissions"] == 2
    assert run3["compared_with"]["secrets"] == run3["compared_with"]["config"] == 1
    assert run3["new"] == 1 and run3["fixed"] == 0
    latest = data["latest"]
    assert [(f["rule"], f["path"]) for f in latest["new"]] == [("secrets.leak", "app/keys.py")]
    assert latest["fixed"] == []

    table = _cli(root, "audit", "history")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), table.stdout
    row2 = next(line for line in lines if line.split()[:1] == ["2"])
    assert "passed*" in row2.split(), row2
    assert "* run 2 checked only permissions" in table.stdout
    assert "run 3 against each family's last run: 1 new, 0 fixed" in table.stdout
    assert "permissions: run 2" in table.stdout and "config, secrets" in table.stdout
    assert OTHER_KEY not in table.stdout

    # an audit of another folder is compared with nothing, and is nobody's base
    elsewhere = _cli(root, "audit", "app", "--no-process-env")  # run 4
    assert elsewhere.returncode == 1
    (root / "app" / "keys.py").unlink()
    _cli(root, "audit", "--no-process-env")  # run 5
    run5, run4 = _history(root)["runs"][:2]
    assert run4["new"] is None and run4["fixed"] is None and run4["previous"] is None
    assert set(run5["compared_with"].values()) == {3}
    assert run5["new"] == 0 and run5["fixed"] == 1

    # run 6: permissions only, after a file went world-writable again; the incident opened now
    # gets, as new audit findings, that file only (not the secrets and settings run 5 had)
    (root / "app" / "run.sh").chmod(0o777)
    assert _cli(root, "audit", "--only", "permissions").returncode == 1
    once = _cli(root, "monitor", "once")
    assert once.returncode != 0 or "down" in once.stdout, once.stdout + once.stderr
    shown = _cli(root, "incident", "show", "1")
    assert shown.returncode == 0, shown.stderr
    audit_lines = [line for line in shown.stdout.splitlines() if " audit: " in line]
    assert len(audit_lines) == 1, shown.stdout
    assert "permissions." in audit_lines[0] and "app/run.sh" in audit_lines[0], audit_lines


def run1_findings(root: Path) -> list[dict[str, Any]]:
    """Run 1's findings as the store holds them."""
    with sqlite3.connect(root / "ps.db") as db:
        rows = db.execute("SELECT family, rule, path FROM audit_findings WHERE run_id = 1")
        return [{"family": f, "rule": r, "path": p} for f, r, p in rows]
