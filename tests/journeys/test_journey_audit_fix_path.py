"""Journey: the audit's proposed fix works as typed from where the audit ran.

`prodshield audit app` run from the parent folder proposed `chmod 0664 run.sh` in the table, the
Markdown, the JSON and the SARIF: the path relative to the audited folder, which fails from the
working directory (newcomer trial). The finding's `path` stays relative to the audited folder; the
fix now names `app/run.sh`, and the printed command, run as it is, fixes the file."""

from __future__ import annotations

import json
import shlex
import stat
import subprocess
from pathlib import Path

from support.cli import prodshield, wide_env


def test_the_fix_command_runs_from_the_working_directory(tmp_path: Path) -> None:
    script = tmp_path / "app" / "run.sh"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o666)
    done = prodshield(
        tmp_path, "audit", "app", "--report", "json:audit.json", "--report", "markdown:audit.md",
        "--report", "sarif:audit.sarif", env=wide_env(),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    [finding] = json.loads((tmp_path / "audit.json").read_text())["findings"]
    assert finding["path"] == "run.sh"
    assert finding["fix"] == "chmod 0664 app/run.sh", finding
    assert "chmod 0664 app/run.sh" in done.stdout, done.stdout
    assert "| chmod 0664 app/run.sh |" in (tmp_path / "audit.md").read_text()
    assert "Fix: chmod 0664 app/run.sh" in (tmp_path / "audit.sarif").read_text()

    subprocess.run(shlex.split(finding["fix"]), cwd=tmp_path, check=True)
    assert stat.S_IMODE(script.stat().st_mode) == 0o664

    inside = prodshield(script.parent, "audit", ".", env=wide_env())
    assert inside.returncode == 0, inside.stdout + inside.stderr
