"""Journey: ``prodshield audit secrets`` and ``prodshield audit`` run on the same tree give each
secret the same rule and the same severity (an AWS secret access key is
``aws-secret-access-key``, critical, in both; it was ``generic-secret`` medium in one and high
in the other)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

KEY_ID = "AKIA" + "QYLPMN5HHHFPZAM2"
SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzQ8RkT4a1x"
OTHER = "Zq8wE3rT5yU7iO9pA1sD3f" + "G5hJ7kL9zX2cV4bN6m"
THIRD = "Hq8wE3rT5yU7iO9pA1sD3f" + "G5hJ7kL9zX2cV4bN6m"


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}


def _cli(cwd: Path, *args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "prodshield", *args, "--format", "json"],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def test_both_audit_commands_rate_an_aws_secret_key_alike(tmp_path: Path) -> None:
    tree = tmp_path / "shop"
    tree.mkdir()
    (tree / ".env").write_text(f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n")
    (tree / "settings.py").write_text(f'aws_secret_access_key = "{OTHER}"\n')
    (tree / "deploy.yaml").write_text(
        f'env:\n  - name: AWS_SECRET_ACCESS_KEY\n    value: "{THIRD}"\n'
    )
    secrets = _cli(tree, "audit", "secrets", ".")["findings"]
    audit = [f for f in _cli(tree, "audit", ".")["findings"] if f["rule"] == "secrets.leak"]

    by_line = {(Path(f["path"]).name, f["line"]): (f["rule"], f["severity"]) for f in secrets}
    assert by_line == {
        (".env", 1): ("aws-access-key-id", "critical"),
        (".env", 2): ("aws-secret-access-key", "critical"),
        ("settings.py", 1): ("aws-secret-access-key", "critical"),
        ("deploy.yaml", 3): ("aws-secret-access-key", "critical"),
    }
    engine = {f["fingerprint"]: (f["rule"], f["severity"]) for f in secrets}
    assert {f["fingerprint"] for f in audit} == set(engine)
    for f in audit:  # the same rule named in the message, the same severity
        rule, severity = engine[f["fingerprint"]]
        assert f["severity"] == severity, f
        assert f"({rule}, confidence" in f["message"], f


def test_markdown_report_says_what_its_suppressed_findings_are(tmp_path: Path) -> None:
    """The .env lines the secret scan reports are not reported again by the environment
    family; the report says they are duplicates of listed findings, not "2 by duplicate"."""
    tree = tmp_path / "shop"
    tree.mkdir()
    (tree / ".env").write_text(f"AWS_ACCESS_KEY_ID={KEY_ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n")
    out = subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", ".", "--format", "markdown"],
        cwd=tree,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1, out.stderr
    assert out.stdout.rstrip().endswith("Suppressed: 2 duplicates of findings listed above.")
    assert "by duplicate" not in out.stdout
