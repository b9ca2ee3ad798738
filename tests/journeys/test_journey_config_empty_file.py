"""Journey: a newcomer's shield.yaml is empty (or comments only). `prodshield config check` still
says ok (every default is valid, exit 0) but warns that the file is empty and names the
`prodshield init` that writes the commented example; following it, the warning is gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.cli import prodshield, shell_env


@pytest.mark.parametrize("text", ["", "# to do: the checks\n\n", "{}\n"])
def test_empty_config_points_to_init(tmp_path: Path, text: str) -> None:
    (tmp_path / "shield.yaml").write_text(text)
    env = shell_env()
    check = prodshield(tmp_path, "config", "check", env=env)
    assert check.returncode == 0, check.stderr
    assert "ok: 0 environments, 0 checks" in check.stdout
    assert "warning: shield.yaml is empty" in check.stderr, check.stderr
    assert "`prodshield init --force` writes a commented example" in check.stderr

    elsewhere = prodshield(tmp_path.parent, "config", "check", "-c", str(tmp_path / "shield.yaml"))
    assert f"`prodshield init {tmp_path} --force`" in elsewhere.stderr, elsewhere.stderr

    assert prodshield(tmp_path, "init", "--force", env=env).returncode == 0
    again = prodshield(tmp_path, "config", "check", env=env)
    assert again.returncode == 0, again.stderr
    assert "empty" not in again.stderr, again.stderr
