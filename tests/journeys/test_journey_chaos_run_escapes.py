"""Journey: an experiment file from elsewhere (a shared game-day repository) whose title and
activity names carry terminal escapes (a title-setting OSC ended by BEL, colours). ``prodshield
chaos run`` prints its progress and verdict with the words and without the escapes, as every
other command does with outside text (it wrote them to the terminal as they were)."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env

TITLE = "web survives \x1b]0;owned\x07latency \x1b[31mred\x1b[0m"
EXPERIMENT = {
    "version": "1.0.0",
    "title": TITLE,
    "description": "escapes in the names",
    "steady-state-hypothesis": {
        "title": "steady \x1b[2Jstate",
        "probes": [
            {
                "type": "probe",
                "name": "says \x1b]52;c;cHduZWQ=\x07ok",
                "tolerance": 0,
                "provider": {"type": "process", "path": "true"},
            }
        ],
    },
    "method": [
        {
            "type": "action",
            "name": "fails \x1b[5mloudly",
            "provider": {"type": "process", "path": "false"},
        }
    ],
}


def test_chaos_run_prints_no_escapes_from_the_experiment(tmp_path: Path) -> None:
    (tmp_path / "experiment.json").write_text(json.dumps(EXPERIMENT))

    done = prodshield(
        tmp_path, "chaos", "run", "experiment.json", "--journal-path", "journal.json",
        env=wide_env(),
    )  # fmt: skip

    out = done.stdout + done.stderr
    assert done.returncode in (0, 1), out
    assert "\x1b" not in out and "\x07" not in out, repr(out)
    # each escape shown as the mark a page shows, so the tampering is visible
    shown_title = "web survives ␛]0;owned␇latency ␛[31mred␛[0m"
    assert f"Running experiment: {shown_title}" in done.stderr, done.stderr
    assert "Probe: says ␛]52;c;cHduZWQ=␇ok" in done.stderr, done.stderr
    assert "Action: fails ␛[5mloudly" in done.stderr, done.stderr
    assert done.stdout.startswith(f"{shown_title}: "), done.stdout
    # the journal keeps the experiment as written (Chaos Toolkit's format)
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["experiment"]["title"] == TITLE


def test_a_store_error_line_shows_marks_not_the_escape(tmp_path: Path) -> None:
    """``chaos run -c`` says why it cannot store the run in one line; the store's name (from an
    environment variable, a mount, a generated config) is shown with marks, never as raw ESC."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, so no folder can be made under it\n")
    (tmp_path / "shield.yaml").write_text(
        f'storage: "sqlite:///{blocker}/run\\x1b[2J\\x1b]0;owned\\x07/store.db"\n'
    )
    experiment = tmp_path / "exp.json"
    experiment.write_text(
        json.dumps(
            {
                "version": "1.0.0",
                "title": "store",
                "description": "d",
                "method": [
                    {"type": "action", "name": "a", "provider": {"type": "process", "path": "true"}}
                ],
            }
        )
    )
    done = prodshield(
        tmp_path, "chaos", "run", str(experiment), "-c", "shield.yaml", env=wide_env()
    )
    assert done.returncode != 0, done.stdout + done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error and "run\u241b[2J\u241b]0;owned\u2407" in error[0], done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr, repr(done.stderr)
