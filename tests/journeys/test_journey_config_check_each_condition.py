"""Journey: `config check` on a check whose ``conditions:`` hold one condition that does not parse
and others the check type cannot judge reports each of them, at its own line, in one run. The
bad one used to drop the whole list from the later checks, so a tcp check's ``[STATUS] == 200``
and an http check's ``[ROLE] == primary`` two lines further down were only reported once the
first mistake was fixed."""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield, shell_env

SHIELD = """\
storage: sqlite:///store.db
checks:
  - name: db
    type: tcp
    host: 127.0.0.1
    port: 5432
    conditions:
      - "[CONNECTED] == true"
      - "[STATUS] =! 3"
      - "[STATUS] == 200"
      - "[RESPONSE_TIME] < 500"
  - name: web
    type: http
    url: http://127.0.0.1:8080/health
    conditions:
      - "[STATUS] == 200"
      - "[STATUZ] == 200"
      - "[BODY].ok == true"
      - "[ROLE] == primary"
"""


def test_config_check_reports_each_condition(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(SHIELD)
    done = prodshield(tmp_path, "config", "check", env=shell_env(NO_COLOR="1", COLUMNS="300"))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("shield.yaml:")]
    assert [line.split(": ")[0:2] for line in lines] == [
        ["shield.yaml:9:9", "checks[0].conditions[1]"],
        ["shield.yaml:10:9", "checks[0].conditions[2]"],
        ["shield.yaml:17:9", "checks[1].conditions[1]"],
        ["shield.yaml:19:9", "checks[1].conditions[3]"],
    ], done.stderr
    assert "expected an operator" in lines[0]
    assert "tcp checks do not provide [STATUS]" in lines[1]
    assert "unknown placeholder [STATUZ]" in lines[2]
    assert "[ROLE]" in lines[3]
    assert "4 errors in config" in done.stderr
