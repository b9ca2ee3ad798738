"""Permissions family on real files with real modes, and ``--fix`` from the CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from prodshield.audit import audit
from prodshield.audit.context import AuditSettings
from prodshield.audit.rules.permissions import apply_fixes, plan_fixes
from support.cli import clean_env

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


def _file(root: Path, name: str, text: str, mode: int) -> Path:
    p = root / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    p.chmod(mode)
    return p


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _deploy(root: Path) -> None:
    _file(root, ".env", "SECRET_KEY=${SECRET_KEY}\n", 0o644)
    _file(root, "keys/deploy_key.key", KEY, 0o640)
    _file(root, ".ssh/id_ed25519", KEY, 0o600)
    (root / ".ssh").chmod(0o755)
    _file(root, ".pgpass", "db:5432:*:app:${PGPASSWORD}\n", 0o640)
    _file(root, "kubeconfig", "apiVersion: v1\nkind: Config\n", 0o644)
    _file(root, "bin/run.sh", "#!/bin/sh\n", 0o777)
    _file(root, "README.md", "hello\n", 0o644)


def test_findings_and_proposed_commands(tmp_path: Path) -> None:
    _deploy(tmp_path)
    report = audit([tmp_path], families="permissions")
    got = sorted((f.path, f.rule, f.fix) for f in report.findings)
    assert got == [
        (".env", "permissions.env-file-readable", "chmod 0600 .env"),
        (".pgpass", "permissions.client-credential-file", "chmod 0600 .pgpass"),
        (".ssh", "permissions.ssh-dir-open", "chmod 0700 .ssh"),
        ("bin/run.sh", "permissions.world-writable", "chmod 0775 bin/run.sh"),
        (
            "keys/deploy_key.key",
            "permissions.private-key-readable",
            "chmod 0600 keys/deploy_key.key",
        ),
        ("kubeconfig", "permissions.kubeconfig-readable", "chmod 0600 kubeconfig"),
    ]
    assert all("can read" in f.message or "can" in f.message for f in report.findings)


def test_plan_and_apply_fixes_then_clean(tmp_path: Path) -> None:
    _deploy(tmp_path)
    report = audit([tmp_path], families="permissions")
    fixes = plan_fixes(report.findings, report.root or tmp_path)
    assert len(fixes) == 6
    assert apply_fixes(fixes) == []
    assert _mode(tmp_path / ".env") == 0o600
    assert _mode(tmp_path / ".ssh") == 0o700
    assert _mode(tmp_path / "README.md") == 0o644  # untouched
    assert audit([tmp_path], families="permissions").findings == []


def test_writable_secret_combines_with_readable(tmp_path: Path) -> None:
    _file(tmp_path, ".env.production", "A=1\n", 0o666)
    report = audit([tmp_path], families="permissions")
    assert sorted(f.rule for f in report.findings) == [
        "permissions.env-file-readable",
        "permissions.secret-writable",
    ]
    fixes = plan_fixes(report.findings, tmp_path)
    assert [(fx.old_mode, fx.new_mode) for fx in fixes] == [(0o666, 0o600)]


def test_secret_content_detected_by_the_engine(tmp_path: Path) -> None:
    _file(tmp_path, "notes/handover.txt", "prod aws key AKIAQYLPMN5HFIQR7XYZ\n", 0o644)
    _file(tmp_path, "notes/plain.txt", "nothing to see\n", 0o644)
    report = audit([tmp_path], families="permissions")
    assert [(f.path, f.rule) for f in report.findings] == [
        ("notes/handover.txt", "permissions.secret-content-readable")
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_wrong_owner_proposes_chown(tmp_path: Path) -> None:
    p = _file(tmp_path, ".env", "A=1\n", 0o600)
    os.chown(p, 65534, -1)
    report = audit([tmp_path], families="permissions")
    assert [f.rule for f in report.findings] == ["permissions.wrong-owner"]
    assert report.findings[0].fix.startswith("chown ")
    # an explicit expected owner wins over the folder's owner
    ok = audit([tmp_path], families="permissions", settings=AuditSettings(owner_uid=65534))
    assert ok.findings == []


def _cli(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = clean_env(cwd)
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_fix_needs_confirmation(tmp_path: Path) -> None:
    _deploy(tmp_path)
    r = _cli(".", "--only", "permissions", "--fix", cwd=tmp_path)
    assert r.returncode == 1
    assert "not applied" in r.stderr and "chmod 0600" in r.stderr
    assert _mode(tmp_path / ".env") == 0o644


def test_cli_fix_with_yes_applies_and_passes(tmp_path: Path) -> None:
    _deploy(tmp_path)
    r = _cli(".", "--only", "permissions", "--fix", "--yes", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "applied 6 of 6" in r.stderr
    assert _mode(tmp_path / "keys/deploy_key.key") == 0o600
