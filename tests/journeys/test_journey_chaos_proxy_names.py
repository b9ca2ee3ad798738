"""Journey: a chaos proxy name no API URL can address is refused where it is written.

A proxy named `../../etc` could be created (API or shield.yaml) but never shown, changed or
deleted. shield.yaml's `chaos.proxies[].name` is now checked when the file loads, with its line.
"""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield, shell_env

CONFIG = """\
version: 1
chaos:
  api: {host: 127.0.0.1, port: 0}
  proxies:
    - {name: web, listen: "127.0.0.1:0", upstream: "127.0.0.1:9"}
    - name: ../../etc
      listen: "127.0.0.1:0"
      upstream: "127.0.0.1:9"
"""


def test_config_check_names_the_line_of_a_bad_proxy_name(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(CONFIG)
    done = prodshield(tmp_path, "config", "check", env=shell_env())
    assert done.returncode != 0, done.stdout
    out = done.stdout + done.stderr
    assert "shield.yaml:6:" in out and "chaos.proxies[1].name" in out, out
    assert "invalid proxy name '../../etc'" in out and "letters, digits" in out, out
    assert "proxies[0]" not in out, out
