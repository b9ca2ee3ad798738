"""Journey: with `chaos.api.port: 0`, the chaos client commands say how to find the API.

`chaos.api: {port: 0}` lets `chaos proxy` take a free port (and print it). The client commands
(`chaos proxy list`, `chaos toxic ...`) read the same shield.yaml and called
http://127.0.0.1:0, answering only `cannot reach the proxy API at http://127.0.0.1:0: [Errno 111]
Connection refused`. They now say that port 0 is any free port and how to name the real one.
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
"""


def test_port_zero_names_the_way_out(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(CONFIG)
    env = shell_env()
    for args in (("proxy", "list"), ("toxic", "list", "web")):
        done = prodshield(tmp_path, "chaos", *args, env=env)
        assert done.returncode == 3, (args, done.stdout, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert "http://127.0.0.1:0" in lines[0] and "any free port" in lines[0], lines
        assert "--api" in lines[0] and "PRODSHIELD_PROXY_API" in lines[0], lines
