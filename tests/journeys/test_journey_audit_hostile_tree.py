"""Journey: the audit gate on a deploy tree a user does not fully control (CLI as a subprocess):
symlink loops, a file whose name carries terminal escapes, and a log larger than the audit holds
in memory with a key at its end. Each run gives its whole report and the right verdict."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from support.cli import prodshield, shell_env

AWS_KEY = "AKIA" + "Q3EGRLN4X7PZ2WQM"  # split so scanners of this repository stay quiet
PASSWORD = "Zq8vLm2Rt9" + "Xw4Kp7Nc3B"


def _repo(root: Path) -> Path:
    repo = root / "shop"
    repo.mkdir()
    (repo / "main.py").write_text('print("hello")\n')
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def _audit(repo: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    return prodshield(repo, "audit", ".", *args, env=shell_env(COLUMNS=str(columns), NO_COLOR="1"))


def test_symlink_loops_are_passed_over_and_the_rest_audited(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    os.symlink("b", repo / "a")
    os.symlink("a", repo / "b")
    os.symlink("self", repo / "self")
    (repo / "loop").mkdir()
    os.symlink("..", repo / "loop" / "up")
    (repo / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n')

    done = _audit(repo, "--format", "json")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert [(f["rule"], f["path"]) for f in report["findings"]] == [
        ("secrets.leak", "settings.py")
    ], report["findings"]


def test_a_file_name_with_terminal_escapes_hides_nothing_of_the_report(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    # a title-setting OSC ended by BEL, a colour, and a newline: all legal in a file name
    (repo / "evil\x1b[31mred\x1b]0;pwned\x07\nname.env").write_text(f"PASSWORD={PASSWORD}\n")
    (repo / "zz-settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n')

    for columns in (80, 200):
        done = _audit(repo, columns=columns)

        assert done.returncode == 1, done.stdout + done.stderr
        out = done.stdout
        assert "\x1b" not in out and "\x07" not in out, repr(out)
        # every finding with its problem, and the verdict line after them
        assert "zz-settings.py" in out, (columns, out)
        # an env file whatever its name holds (3870807): readable by the group and others
        assert "mode 0644: the group and every user can read it" in out, (columns, out)
        assert out.count("secrets.leak") == 2, (columns, out)
        assert "audit FAILED (fail-on high): 1 critical, 2 high" in " ".join(out.split()), (
            columns,
            out,
        )


def test_a_key_at_the_end_of_a_large_log_fails_the_gate(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    line = "2026-12-06T10:00:00Z INFO GET /api/orders 200 12ms user=bob " + "x" * 60 + "\n"
    with (repo / "app.log").open("w") as f:
        for _ in range(3 * 1024 * 1024 // len(line) + 1):  # past 3 MiB
            f.write(line)
        f.write(f"export AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    assert (repo / "app.log").stat().st_size > 3 * 1024 * 1024

    done = _audit(repo, "--format", "sarif", "--output", "audit.sarif", "--fail-on", "high")

    assert done.returncode == 1, done.stdout + done.stderr
    results = json.loads((repo / "audit.sarif").read_text())["runs"][0]["results"]
    where = [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in results
    ]
    lines = (repo / "app.log").read_text().count("\n")
    assert ("secrets.leak", "app.log", lines) in where, where
    assert AWS_KEY not in (repo / "audit.sarif").read_text()


def test_a_fix_command_pasted_into_a_shell_fixes_that_file_and_runs_nothing_else(
    tmp_path: Path,
) -> None:
    """A readable secret's fix is a chmod naming the file: a name a pull request chose (`;`, a
    space, a newline) must stay one quoted word, or pasting the fix runs the name's commands."""
    repo = _repo(tmp_path)
    names = ["a b;touch PWNED;.env", "evil\nname.env", "it's $(touch PWNED2).env"]
    for name in names:
        (repo / name).write_text(f"PASSWORD={PASSWORD}\n")
        os.chmod(repo / name, 0o644)

    done = _audit(repo, "--format", "json")
    assert done.returncode == 1, done.stdout + done.stderr
    fixes = [
        f["fix"]
        for f in json.loads(done.stdout)["findings"]
        if f["rule"] == "permissions.env-file-readable"  # env files, whatever their names hold
    ]
    assert len(fixes) == len(names), fixes
    assert all("\n" not in fix for fix in fixes), fixes
    for fix in fixes:
        subprocess.run(["bash", "-c", fix], cwd=repo, check=True, capture_output=True)
    assert not (repo / "PWNED").exists() and not (repo / "PWNED2").exists()
    assert sorted(oct((repo / name).stat().st_mode & 0o777) for name in names) == ["0o600"] * 3

    table = _audit(repo, columns=200)  # fixed: only the secrets are left, each on its line
    assert "evil\u2424name.env:1" in table.stdout, table.stdout


def test_a_file_whose_name_is_not_utf8_is_audited_in_every_format(tmp_path: Path) -> None:
    """A name with a byte that is not UTF-8 (legal on Linux, ``\\udcff`` to Python) stopped the
    whole audit with "internal error" (its finding's fingerprint could not be encoded), so no
    report said a readable file held a password."""
    repo = _repo(tmp_path)
    (repo / os.fsdecode(b"leak\xff.env")).write_text(f"PASSWORD={PASSWORD}\n")

    for fmt in ("table", "json", "sarif", "markdown"):
        done = _audit(repo, "--format", fmt)

        assert done.returncode == 1, (fmt, done.stdout + done.stderr)
        assert "internal error" not in done.stderr, (fmt, done.stderr)
        assert "secrets.leak" in done.stdout and "leak" in done.stdout, (fmt, done.stdout)
        assert PASSWORD not in done.stdout


def test_sarif_names_a_hostile_file_by_a_uri_that_code_scanning_takes(tmp_path: Path) -> None:
    """A SARIF location is a URI: a raw ``#`` cut the name at a fragment, a space is not allowed,
    and a byte that is not UTF-8 became the JSON escape ``\\udcff``, a lone surrogate that
    strict JSON readers refuse (the whole upload with it). Percent-encoded, the name is exact."""
    repo = _repo(tmp_path)
    (repo / os.fsdecode(b"leak \xff#1.env")).write_text(f"PASSWORD={PASSWORD}\n")

    for args in (
        ("audit", ".", "--format", "sarif"),
        ("audit", "secrets", ".", "--format", "sarif"),
    ):
        done = prodshield(repo, *args, env=shell_env(NO_COLOR="1"))

        assert "internal error" not in done.stderr, (args, done.stderr)
        assert "\\ud" not in done.stdout.lower(), (args, done.stdout)  # no surrogate escape
        results = json.loads(done.stdout)["runs"][0]["results"]
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
        assert "leak%20%FF%231.env" in uris, (args, uris)
