"""Journey: one definition of "an env file" for every audit rule (CLI as a subprocess, real files
and modes): `permissions.env-file-readable` missed env files whose name holds a space, a tab, a
newline or an escape (`my app.env` at 0644 passed) although `environment.dotenv-secret` read them
as env files; a newline-named env file holding a key was told to `chmod 0640` (still readable by
the group). Every name is printed safely (no raw control character reaches the terminal)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from support.cli import prodshield, wide_env

TOKEN = "ghp_" + "R7dK2mQ9xL4vB8nT3wZ6yH1cF5jP0sA2eG7u"
ENV_FILES = [
    "my app.env",
    "tab\there.env",
    "nl\nhere.env",
    "esc\x1b.env",
    "plain.env",
    ".env.local",
]


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    root.mkdir()
    for name in ENV_FILES:
        (root / name).write_text("LOG=info\n")
    (root / "nl\nhere.env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    (root / ".env.example").write_text("GITHUB_TOKEN=\n")  # a template: any mode
    for path in root.iterdir():
        path.chmod(0o644)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def test_every_env_file_is_judged_whatever_its_name(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    args = ("audit", ".", "--no-process-env", "--no-store")
    done = prodshield(root, *args, "--only", "permissions", "--format", "json", env=wide_env())
    assert done.returncode == 1, done.stdout + done.stderr
    findings = json.loads(done.stdout)["findings"]
    readable = {f["path"] for f in findings if f["rule"] == "permissions.env-file-readable"}
    assert readable == set(ENV_FILES), readable
    nl = [f for f in findings if f["path"] == "nl\nhere.env"]
    assert [f["rule"] for f in nl] == ["permissions.env-file-readable"], nl
    assert "0600" in nl[0]["fix"] and "0640" not in nl[0]["fix"]

    # the environment family reads the same files: the token is in the newline-named one
    env = prodshield(
        root, *args, "--only", "environment,secrets", "--format", "json", env=wide_env()
    )
    places = {f["path"] for f in json.loads(env.stdout)["findings"]}
    assert places == {"nl\nhere.env"}, places

    table = prodshield(root, *args, "--only", "permissions", env=wide_env())
    assert table.returncode == 1
    assert "\x1b" not in table.stdout and "\t" not in table.stdout
    assert not any(line.startswith("here.env") for line in table.stdout.splitlines()), table.stdout
    assert "my app.env" in table.stdout
    assert TOKEN not in table.stdout + env.stdout
