"""Journey: a log line with a NUL byte is binary for ``serve`` as it is for the CLI. ``logs parse``
says ``1 binary line skipped``; ``serve`` mined the same line: ``/api/v1/templates`` answered
``"nul\\u0000byte here"``, the dashboard's Templates panel listed ``nul␀byte here`` and the raw
NUL was stored in ``log_templates``. Now the follower skips it and counts it
(``prodshield_log_follower_binary_lines``), and the lines after it keep their numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from support.cli import prodshield, shell_env
from support.serve_process import TOKEN, serve, signed_in_page, wait_for


def _app_log(path: Path) -> None:
    hour = datetime.now(UTC).strftime("%Y-%m-%d %H")
    path.write_bytes(
        f"{hour}:00:01,000 INFO app.web: started\n"
        f"{hour}:00:02,000 INFO app.web: nul\x00byte here\n"
        f"{hour}:00:03,000 INFO app.web: after the binary line\n".encode()
    )


def test_the_cli_skips_a_nul_line_as_binary(tmp_path: Path) -> None:
    _app_log(tmp_path / "app.log")
    out = prodshield(tmp_path, "logs", "parse", "app.log", env=shell_env())
    assert out.returncode == 0, out.stderr
    assert "1 binary line skipped" in out.stderr
    assert "byte here" not in out.stdout
    lines = [json.loads(row)["line"] for row in out.stdout.splitlines()]
    assert lines == [1, 3]


def test_serve_skips_and_counts_a_nul_line_as_the_cli_does(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    _app_log(log)
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n"
        f"    - {{name: app, path: {log}, format: python}}\n"
    )
    with serve(tmp_path / "srv", config) as srv:
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def learnt() -> bool:
            body = json.dumps(srv.get("/api/v1/templates", headers=auth).json())
            return "after the binary line" in body and "started" in body

        wait_for("the templates of the lines around the binary one", learnt, timeout=90)
        body = json.dumps(srv.get("/api/v1/templates", headers=auth).json())
        assert "byte here" not in body and "\\u0000" not in body, body
        page = signed_in_page(srv, "/dashboard/logs")
        assert "after the binary line" in page
        assert "byte here" not in page and "␀" not in page
        metrics = srv.get("/metrics").body.decode()
        assert f'prodshield_log_follower_binary_lines{{path="{log}"}} 1.0' in metrics, metrics
        assert (
            srv.count("SELECT count(*) FROM log_templates WHERE instr(template, char(0)) > 0") == 0
        )
        assert (
            srv.count("SELECT count(*) FROM log_templates WHERE template LIKE '%byte here%'") == 0
        )
        assert "binary line skipped" in srv.output()
