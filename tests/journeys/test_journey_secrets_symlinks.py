"""Journey: ``prodshield audit secrets`` (a subprocess) follows symlinks as the rest of the audit
does (docs/audit.md, "Symlinks"). It skipped every link, so a ``.env -> /srv/shared/prod.env``
holding a token passed the gate that ``prodshield audit`` failed. Now a link leaving the tree has
its regular-file target scanned under the link's name, a link inside the tree adds nothing (its
file is scanned once), and FIFOs, folders outside the tree, ``/proc`` files, dangling links and
loops are never read: the run ends, and says what it did not read."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from support import secrets_tokens as tok
from support.cli import prodshield, shell_env


def _tree(tmp_path: Path, token: str) -> Path:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "prod.env").write_text(f"GITHUB_TOKEN={token}\n")
    os.mkfifo(tmp_path / "pipe")  # opened for reading, it would wait for a writer forever
    tree = tmp_path / "app"
    tree.mkdir()
    (tree / "settings.env").write_text(f"TOKEN={token}\n")
    os.symlink("../shared/prod.env", tree / ".env")  # leaves the tree: scanned as .env
    os.symlink("../shared/prod.env", tree / ".env.copy")  # same target: scanned once
    os.symlink("settings.env", tree / "alias.env")  # inside: settings.env is scanned already
    os.symlink("../pipe", tree / "pipe.env")
    os.symlink("/proc/self/environ", tree / "environ")
    os.symlink("../shared", tree / "shared")
    os.symlink("gone.env", tree / "dangling.env")
    os.symlink("loop", tree / "loop")
    return tree


@pytest.mark.parametrize("git", [False, True], ids=["folder", "git repository"])
def test_links_are_scanned_once_and_special_targets_never_read(tmp_path: Path, git: bool) -> None:
    token = tok.github_classic()
    tree = _tree(tmp_path, token)
    if git:
        subprocess.run(["git", "init", "-q", str(tree)], check=True)
    env = shell_env(COLUMNS="200", NO_COLOR="1", HOME=str(tmp_path))
    done = prodshield(tree, "audit", "secrets", ".", "--format", "json", env=env, timeout=60)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert sorted(f["path"] for f in report["findings"]) == [".env", "settings.env"]
    assert token not in done.stdout + done.stderr
    assert report["stats"]["links_not_read"] == 3  # the FIFO, /proc, the folder outside
    assert report["stats"]["links_not_followed"] == 2  # dangling, loop
    err = " ".join(done.stderr.split())
    assert "pipe.env: symlink to a named pipe (FIFO), not read" in err
    assert "environ: symlink to a kernel file, not read" in err
    assert "shared: symlink to a folder outside the tree, not walked" in err
    assert "Traceback" not in done.stderr


def test_a_link_into_a_skipped_folder_brings_that_file_in(tmp_path: Path) -> None:
    """As the audit does: a link to a file the walk passes over (a gitignored folder) has the
    file scanned, once, at its real path."""
    token = tok.github_classic()
    tree = tmp_path / "app"
    (tree / "build").mkdir(parents=True)
    (tree / ".gitignore").write_text("build/\n")
    (tree / "build" / "out.env").write_text(f"TOKEN={token}\n")
    os.symlink("build/out.env", tree / "deploy.env")
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    env = shell_env(COLUMNS="200", NO_COLOR="1", HOME=str(tmp_path))
    done = prodshield(tree, "audit", "secrets", ".", "--format", "json", env=env, timeout=60)
    assert done.returncode == 1, done.stderr
    assert [f["path"] for f in json.loads(done.stdout)["findings"]] == ["build/out.env"]
