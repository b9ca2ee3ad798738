"""Journey: the audit gate on a deploy tree whose files are symlinks (CLI as a subprocess).

A `.env` linked to a file holding a key must fail the gate as a plain `.env` would: a link
inside the tree is audited once at its real path, a link leaving the tree is a finding of its own
and its file is audited under the link's name; FIFOs, devices and /proc are never opened, and
dangling links are counted, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from support.cli import prodshield, shell_env

AWS_KEY = "AKIA" + "Q3EGRLN4X7PZ2WQM"  # split so scanners of this repository stay quiet
OTHER_KEY = "AKIA" + "QYLPMN5HHHFPZAM2"


def _repo(root: Path) -> Path:
    repo = root / "shop"
    repo.mkdir()
    (repo / "main.py").write_text('print("hello")\n')
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _audit(repo: Path, *args: str, probe: str = "") -> subprocess.CompletedProcess[str]:
    return prodshield(
        repo,
        "audit",
        ".",
        "--no-process-env",
        *args,
        env=shell_env(COLUMNS="200", NO_COLOR="1", PROBE_KEY=probe),
        timeout=90,  # a FIFO opened for reading would block the run past this
    )


def _json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _where(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["rule"], f["path"]) for f in report["findings"])


def test_a_dotenv_linked_out_of_the_tree_fails_the_gate_under_its_own_name(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "prod.env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    (shared / "prod.env").chmod(0o600)
    os.symlink(shared / "prod.env", repo / ".env")
    os.symlink("../shared/prod.env", repo / "again.env")  # the same file: audited once

    done = _audit(repo, "--format", "json")

    assert done.returncode == 1, done.stdout + done.stderr
    report = _json(done)
    assert _where(report) == [
        ("permissions.symlink-outside-tree", ".env"),
        ("permissions.symlink-outside-tree", "again.env"),
        ("secrets.leak", ".env"),
    ], report["findings"]
    link = next(f for f in report["findings"] if f["rule"].endswith("outside-tree"))
    assert link["severity"] == "low"
    assert link["message"] == (
        f"leads to {shared / 'prod.env'}, outside the audited tree "
        "(its content is audited under this path)"
    )
    assert AWS_KEY not in done.stdout

    table = _audit(repo)  # the terminal table says it too, without the key
    assert table.returncode == 1 and AWS_KEY not in table.stdout
    assert "permissions.symlink-outside-tree" in table.stdout, table.stdout


def test_a_link_inside_the_tree_is_audited_once_at_its_real_path(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "config").mkdir()
    (repo / "config" / "prod.env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    (repo / "config" / "prod.env").chmod(0o600)
    os.symlink("config/prod.env", repo / ".env")
    os.symlink("config", repo / "settings")  # a folder inside: walked once, as config/
    # a folder the walk passes over: the link brings that one file in
    (repo / "node_modules" / "pkg").mkdir(parents=True)
    (repo / "node_modules" / "pkg" / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={OTHER_KEY}\n")
    (repo / "node_modules" / "pkg" / "deploy.env").chmod(0o600)
    os.symlink("node_modules/pkg/deploy.env", repo / "deploy.env")

    report = _json(_audit(repo, "--format", "json"))

    assert _where(report) == [
        ("secrets.leak", "config/prod.env"),
        ("secrets.leak", "node_modules/pkg/deploy.env"),
    ], report["findings"]
    assert report["skipped"] == []


def test_fifos_devices_proc_and_dangling_links_neither_hang_nor_break_the_run(
    tmp_path: Path,
) -> None:
    repo = _repo(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.mkfifo(outside / "pipe")
    os.mkfifo(repo / "inner-pipe")  # a FIFO in the tree itself, and a link to it
    os.symlink("inner-pipe", repo / "inner.env")
    os.symlink(outside / "pipe", repo / ".env")
    os.symlink("/dev/zero", repo / "zero.env")  # endless if read
    os.symlink("/proc/self/environ", repo / "environ.env")  # the audit's own environment
    os.symlink(outside, repo / "shared")
    os.symlink("/srv/gone\x1b[31m.env", repo / "gone.env")
    (repo / "settings.py").write_text("DEBUG = False\n")

    done = _audit(repo, "--format", "json", probe=AWS_KEY)  # read if /proc were followed

    assert done.returncode == 0, done.stdout + done.stderr  # low findings: the gate passes
    report = _json(done)
    said = {f["path"]: f["message"] for f in report["findings"]}
    environ = said.pop("environ.env")  # /proc/self resolves to /proc/<the audit's pid>
    assert environ.startswith("leads to /proc/"), environ
    assert environ.endswith("/environ, outside the audited tree (a kernel file: not read)")
    assert said == {
        ".env": f"leads to {outside / 'pipe'}, outside the audited tree "
        "(a named pipe (FIFO): not read)",
        "shared": f"leads to {outside}, outside the audited tree "
        "(a directory: its files are not audited)",
        "zero.env": "leads to /dev/zero, outside the audited tree (a character device: not read)",
    }, report["findings"]
    assert report["skipped"] == [
        "gone.env: dangling symlink (its target /srv/gone\x1b[31m.env does not exist)"
    ]
    assert report["summary"]["skipped"] == 1

    table = _audit(repo)
    assert table.returncode == 0, table.stdout + table.stderr
    assert "\x1b" not in table.stdout, repr(table.stdout)
    assert "skipped: gone.env: dangling symlink" in table.stdout, table.stdout


def test_fix_leaves_a_file_outside_the_tree_alone(tmp_path: Path) -> None:
    """The target's mode is judged (the application reads it), but `--fix` changes nothing
    through a link: the file belongs to whoever put it outside the tree."""
    repo = _repo(tmp_path)
    (tmp_path / "prod.env").write_text("DEBUG=0\n")
    (tmp_path / "prod.env").chmod(0o644)
    os.symlink(tmp_path / "prod.env", repo / ".env")

    done = _audit(repo, "--only", "permissions", "--format", "json", "--fix", "--yes")

    assert done.returncode == 1, done.stdout + done.stderr
    assert _where(_json(done)) == [
        ("permissions.env-file-readable", ".env"),
        ("permissions.symlink-outside-tree", ".env"),
    ]
    assert "--fix: no permission fixes to apply" in done.stderr, done.stderr
    assert (tmp_path / "prod.env").stat().st_mode & 0o777 == 0o644
