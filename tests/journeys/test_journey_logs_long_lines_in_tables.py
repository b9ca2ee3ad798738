"""Journey: a runaway log line does not fill the screen of `logs templates` or `logs scan`.

A log holds the odd huge line (a JSON dump, a request body, a minified stack). `logs templates`
printed its template whole in the table, up to the reader's 8,192-character cap: 70 rows of one
cell at 120 columns before the next template. The table now cuts a template (and `logs scan` a
message) at 300 characters and says how much it left out; `--format json` keeps more.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import prodshield, wide_env

HUGE = "payload " + "[{" * 3000 + "}]"


def test_a_huge_template_is_cut_in_the_table(tmp_path: Path) -> None:
    lines = [f"worker {i} started" for i in range(5)] + [HUGE, "ERROR token refresh failed"]
    (tmp_path / "app.log").write_text("\n".join(lines) + "\n")
    env = wide_env(COLUMNS="120")

    table = prodshield(tmp_path, "logs", "templates", "app.log", "--log-format", "raw", env=env)
    assert table.returncode == 0, table.stderr
    assert "more characters]" in table.stdout, table.stdout[:2000]
    assert len(table.stdout.splitlines()) < 30, len(table.stdout.splitlines())
    assert "worker <*> started" in table.stdout and "token refresh failed" in table.stdout

    as_json = prodshield(
        tmp_path, "logs", "templates", "app.log", "--log-format", "raw", "--format", "json"
    )
    assert as_json.returncode == 0, as_json.stderr
    longest = max(len(t["template"]) for t in json.loads(as_json.stdout)["templates"])
    assert longest >= 1000, longest
