"""Journey: durations print in one form. `incident silence --for 90m` said "silenced for 1h30m"
while `incident list` and the dashboard say "5m 43s": every duration users read is now written
with a space between its units; shield.yaml still reads (and `config show` still writes) the
compact form."""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield, wide_env

SHIELD = """version: 1
storage: "sqlite:///prodshield.db"
defaults: {interval: 1m30s}
checks:
  - {name: api, type: tcp, host: 127.0.0.1, port: 9}
"""


def test_a_silence_says_its_length_as_incidents_do(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(SHIELD)
    env = wide_env()
    done = prodshield(
        tmp_path, "incident", "silence", "api", "--for", "90m", "--reason", "deploy",
        "-c", "shield.yaml", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "api silenced for 1h 30m (until " in done.stdout, done.stdout

    shown = prodshield(tmp_path, "config", "show", "-c", "shield.yaml", env=env)
    assert shown.returncode == 0, shown.stderr
    assert '"interval": "1m30s"' in shown.stdout, shown.stdout  # config syntax, read back
