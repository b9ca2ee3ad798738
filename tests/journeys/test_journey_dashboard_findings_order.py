"""Journey: ``logs scan`` stores its findings, ``serve`` shows them on /dashboard/logs worst first:
a critical database failure from earlier comes before a medium finding seen since."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.cli import prodshield, shell_env
from support.serve_process import TOKEN, serve, signed_in_page

# yesterday's lines: serve's retention drops findings last seen more than 90 days ago (fixed
# 2026-12-06 lines failed this test from March 2027 on)
DAY = f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}"
APP = (
    f"{DAY} 10:00:01,000 ERROR shop.db: could not connect to server: Connection refused\n"
    f"{DAY} 10:05:00,000 WARNING shop.cart: cart quota reached for tenant 7\n"
)


def test_findings_panel_lists_the_worst_first(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(APP)
    db = tmp_path / "store.db"
    rules = (
        "logs:\n  rules:\n"
        "    - {kind: cart_quota, pattern: 'cart quota reached', severity: medium}\n"
    )
    (tmp_path / "shield.yaml").write_text(f"storage: sqlite:///{db}\n" + rules)
    out = prodshield(tmp_path, "logs", "scan", "app.log", env=shell_env(drop=("PRODSHIELD_",)))
    assert out.returncode == 1, out.stderr  # the critical finding fails the scan
    config = f'storage: sqlite:///{{db}}\nserve: {{port: {{port}}, token: "{TOKEN}"}}\n' + rules
    with serve(tmp_path / "srv", config, db=db) as srv:
        text = signed_in_page(srv, "/dashboard/logs")
    table = text.split('class="grid findings-table"')[1].split("</table>")[0]
    kinds = re.findall(r"<td class=\"kind\">([a-z_]+)</td>", table)
    assert kinds == ["db_connection_failure", "cart_quota"], kinds
    assert "Worst first, then the most recently seen." in text
