"""`--check` / `--env` naming nothing configured: the error lists the configured names and, when
one is close, asks whether it was meant."""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield

CONFIG = """\
environments:
  staging: {}
  production: {}
checks:
  - {name: web, type: http, url: "http://127.0.0.1:1/"}
  - {name: db-primary, type: tcp, host: 127.0.0.1, port: 1}
"""


def test_unknown_check_and_environment_list_what_is_configured(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(CONFIG)
    far = prodshield(tmp_path, "monitor", "once", "-c", "one.yaml", "--check", "nope")
    assert far.returncode == 2
    assert far.stderr == "error: no check named 'nope' (checks: db-primary, web)\n"
    near = prodshield(tmp_path, "monitor", "once", "-c", "one.yaml", "--check", "webb")
    assert near.returncode == 2
    assert near.stderr == (
        "error: no check named 'webb'; did you mean 'web'? (checks: db-primary, web)\n"
    )
    env = prodshield(tmp_path, "monitor", "once", "-c", "one.yaml", "--env", "prod")
    assert env.returncode == 2
    assert env.stderr == (
        "error: no environment named 'prod'; did you mean 'production'? "
        "(environments: production, staging)\n"
    )
