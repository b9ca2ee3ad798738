"""Journey: a newcomer clones prodshield from a local path (`git clone /work/prodshield`),
`pip install .` in the clone, and runs `prodshield init --github-actions`. The workflows get
`prodshield==VERSION` because the clone's origin is a folder no runner can fetch; the warning did
not say why, and now names the origin and what to pass (`--install SPEC`). The install is stood in
for by the metadata pip writes (PEP 610 `direct_url.json`), ahead of the real one on the path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from prodshield import __version__


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip


def _installed_from(tmp_path: Path, clone: Path) -> dict[str, str]:
    """An environment whose `prodshield` distribution says pip installed it from ``clone``."""
    site = tmp_path / "site"
    info = site / "prodshield-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: prodshield\nVersion: 0.1.0\n")
    (info / "direct_url.json").write_text(json.dumps({"url": f"file://{clone}", "dir_info": {}}))
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODSHIELD_", "GITHUB_"))}
    return {**env, "PYTHONPATH": path, "COLUMNS": "200", "NO_COLOR": "1"}


def _init(cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "prodshield", "init", "--github-actions"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = (cwd / ".github" / "workflows" / "production-monitoring.yml").read_text()
    assert f"prodshield=={__version__}" in workflow
    (warning,) = [line for line in done.stderr.splitlines() if "from the package index" in line]
    return warning


def test_init_says_why_a_local_origin_gives_the_pinned_version(tmp_path: Path) -> None:
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    _git("-C", str(upstream), "init", "-q")
    (upstream / "README.md").write_text("prodshield\n")
    _git("-C", str(upstream), "add", "README.md")
    _git("-C", str(upstream), "commit", "-qm", "one")
    clone = tmp_path / "newcomer"
    _git("clone", "-q", str(upstream), str(clone))
    env = _installed_from(tmp_path, clone)

    project = tmp_path / "shop"
    project.mkdir()
    warning = _init(project, env)
    assert warning.startswith(
        f"warning: the workflows install prodshield=={__version__} from the package index, "
        f"because the origin of the clone it was installed from ({clone}) is a local path "
        f"({upstream}) a runner cannot fetch"
    ), warning
    assert "rerun with --install SPEC" in warning, warning
    assert "git+https://github.com/OWNER/prodshield@v" in warning, warning

    # a clone without an origin says so
    _git("-C", str(clone), "remote", "remove", "origin")
    other = tmp_path / "shop2"
    other.mkdir()
    warning = _init(other, env)
    assert f"because the clone it was installed from ({clone}) has no origin remote" in warning
    assert "--install SPEC" in warning
