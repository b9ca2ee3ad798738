"""Journey: usage mistakes get one `error:` line and exit 2, whichever command made them, and a
mistyped command is offered only the commands close to it (CLI as a subprocess)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.cli import prodshield


def test_init_over_an_existing_file_says_error(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text("checks: []\n")
    done = prodshield(tmp_path, "init", ".")
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["error: shield.yaml exists; use --force to overwrite it"], (
        done.stderr
    )
    alone = prodshield(tmp_path, "init", "--install", "prodshield==1.0")
    assert alone.returncode == 2
    assert alone.stderr.splitlines() == [
        "error: --install and --audit-after go with --github-actions"
    ]


@pytest.mark.parametrize("installed", [False, True], ids=["python -m", "console script"])
def test_chaos_run_of_a_missing_file_is_one_line_and_exit_2(
    tmp_path: Path, installed: bool
) -> None:
    done = prodshield(tmp_path, "chaos", "run", "nope.json", installed=installed)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["error: nope.json: no such file"]
    assert not (tmp_path / "journal.json").exists()


def test_a_mistyped_command_is_offered_only_close_ones(tmp_path: Path) -> None:
    done = prodshield(tmp_path, "monitr")
    assert done.returncode == 2
    assert "Did you mean 'monitor'?" in done.stderr and "'init'" not in done.stderr, done.stderr
    group = prodshield(tmp_path, "chaos", "rnu")
    assert group.returncode == 2 and "Did you mean 'run'?" in group.stderr, group.stderr
