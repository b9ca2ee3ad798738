"""A user runs ``prodshield audit secrets .`` in their project and reads where each secret is.

Through the CLI as a subprocess: the table, the JSON, the Markdown and SARIF name the file the same
way (``settings/config.py``, not ``./settings/config.py``), as ``prodshield audit .`` does; the
fingerprint is the one the scan always gave, so a baseline recorded before still matches.
"""

from __future__ import annotations

import json
from pathlib import Path

from support import secrets_tokens as tok
from support.cli import prodshield, wide_env


def test_one_path_in_the_table_and_the_json(tmp_path: Path) -> None:
    (tmp_path / "settings").mkdir()
    (tmp_path / "settings" / "config.py").write_text(f"x = 1\nTOKEN = '{tok.github_classic()}'\n")
    env = wide_env()
    js = prodshield(tmp_path, "audit", "secrets", ".", "--format", "json", env=env)
    finding = json.loads(js.stdout)["findings"][0]
    assert finding["path"] == "settings/config.py"

    table = prodshield(tmp_path, "audit", "secrets", ".", env=env)
    assert f"settings/config.py:2:{finding['column']}" in table.stdout, table.stdout
    assert "./settings" not in table.stdout
    markdown = prodshield(tmp_path, "audit", "secrets", ".", "--format", "markdown", env=env)
    assert f"`settings/config.py:2:{finding['column']}`" in markdown.stdout
    sarif = json.loads(prodshield(tmp_path, "audit", "secrets", ".", "-f", "sarif", env=env).stdout)
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "settings/config.py"

    # a baseline recorded with `audit secrets .` accepts the finding: its fingerprint is unchanged
    recorded = prodshield(
        tmp_path, "audit", "baseline", ".", "-o", "baseline.json", "--reason", "test key", env=env
    )
    assert recorded.returncode == 0, recorded.stderr
    entries = json.loads((tmp_path / "baseline.json").read_text())["findings"]
    assert [e["fingerprint"] for e in entries] == [finding["fingerprint"]]
    again = prodshield(tmp_path, "audit", "secrets", ".", "--baseline", "baseline.json", env=env)
    assert again.returncode == 0 and "1 by the baseline" in again.stdout, again.stdout
