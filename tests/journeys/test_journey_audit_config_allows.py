"""Journey: shield.yaml's secret allow-lists mean the same to `prodshield audit secrets` and the
full `prodshield audit` (CLI as a subprocess, a real git repository): `audit.secrets.allow_paths`
was honoured by `audit secrets` and ignored by the full audit (a key in `docs/guide.md` failed the
gate), and what `allow_paths` and `allow_rules` hid was counted by neither, although what is found
but suppressed is always counted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from support.cli import prodshield, wide_env

DOC_KEY = "AKIA" + "Q3EGTRZ7XKLM4P2N"
PASSWORD = "Xk29vLq8" + "mZ3pR7tN"

SHIELD = """\
audit:
  exclude: ["*.db*"]
  secrets:
    allow_paths: ["docs/*.md"]
    allow_rules: ["generic-secret"]
"""


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "guide.md").write_text(f"Example key: {DOC_KEY}\n")
    (root / "app.py").write_text(f'password = "{PASSWORD}"\n')
    (root / "shield.yaml").write_text(SHIELD)
    for path in (root / "docs" / "guide.md", root / "app.py", root / "shield.yaml"):
        path.chmod(0o600)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(root, *args, env=wide_env())


def _json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode in (0, 1), done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert isinstance(data, dict)
    return data


def test_both_commands_honour_and_count_the_config_allows(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    # without the allow-lists both report both secrets (so the allows below hide real findings)
    (root / "shield.yaml").write_text("audit:\n  exclude: ['*.db*']\n")
    bare = _json(_run(root, "audit", "secrets", ".", "--format", "json"))
    assert sorted(f["path"] for f in bare["findings"]) == ["app.py", "docs/guide.md"]
    (root / "shield.yaml").write_text(SHIELD)

    scanner = _run(root, "audit", "secrets", ".", "--format", "json")
    assert scanner.returncode == 0, scanner.stdout + scanner.stderr
    data = _json(scanner)
    assert data["findings"] == [] and data["stats"]["allowed_config"] == 2
    table = _run(root, "audit", "secrets", ".")
    assert table.returncode == 0
    assert "No secrets reported: 2 suppressed (2 by shield.yaml's allow-lists)." in table.stdout

    full = _run(root, "audit", "--no-process-env", "--no-store", "--format", "json")
    assert full.returncode == 0, full.stdout + full.stderr
    report = _json(full)
    assert [f["rule"] for f in report["findings"] if f["family"] == "secrets"] == []
    assert report["summary"]["suppressed"].get("config") == 2, report["summary"]
    shown = _run(root, "audit", "--no-process-env", "--no-store")
    assert shown.returncode == 0 and "by shield.yaml's allow-lists" in shown.stdout, shown.stdout
    for done in (scanner, table, full, shown):
        assert DOC_KEY not in done.stdout + done.stderr
        assert PASSWORD not in done.stdout + done.stderr
