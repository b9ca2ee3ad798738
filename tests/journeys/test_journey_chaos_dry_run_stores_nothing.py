"""Journey: `prodshield chaos run exp.json --dry activities` next to a shield.yaml checks the
experiment without running anything, as docs/chaos-experiments.md says, and without recording a
run: no experiment_journals row (the dashboard's runs, an incident's "chaos running") for a run
that injected nothing. The journal file is still written, as Chaos Toolkit writes it. The same
experiment run for real is stored (#1)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from support.cli import prodshield, shell_env


def test_dry_run_is_not_stored(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    (tmp_path / "shield.yaml").write_text(f'storage: "sqlite:///{db}"\n')
    (tmp_path / "exp.json").write_text(
        json.dumps(
            {
                "title": "touch a marker",
                "description": "the method's one action leaves a file",
                "method": [
                    {
                        "type": "action",
                        "name": "touch",
                        "provider": {"type": "process", "path": "touch", "arguments": ["marker"]},
                    }
                ],
            }
        )
    )
    env = shell_env()
    dry = prodshield(tmp_path, "chaos", "run", "exp.json", "--dry", "activities", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert not (tmp_path / "marker").exists()
    assert "stored as experiment_journals" not in dry.stderr, dry.stderr
    assert json.loads((tmp_path / "journal.json").read_text())["experiment"]["dry"] == "activities"

    def stored() -> int:
        if not db.exists():
            return 0
        with sqlite3.connect(db) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "experiment_journals" not in tables:
                return 0
            return int(conn.execute("SELECT count(*) FROM experiment_journals").fetchone()[0])

    assert stored() == 0
    real = prodshield(tmp_path, "chaos", "run", "exp.json", env=env)
    assert real.returncode == 0, real.stdout + real.stderr
    assert (tmp_path / "marker").exists()
    assert "journal stored as experiment_journals #1" in real.stderr, real.stderr
    assert stored() == 1
