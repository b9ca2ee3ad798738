"""Journey: a finding whose message is longer than the digest shows. The HTML digest cut it to
160 characters and said nothing; it now cuts it as the Markdown digest does (200 characters, a
note saying how many more) and holds the whole message in the cell's title (CLI as a
subprocess, Markdown and HTML)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from support.cli import prodshield, wide_env

TAIL = " ".join(f"shard{i:03d} is down" for i in range(40))
LINE = f"2026-12-07 09:01:01 ERROR payment gateway rejected the batch: {TAIL}"


def test_a_long_message_is_cut_visibly_and_kept_whole_in_the_page(tmp_path: Path) -> None:
    lines = [f"2026-12-07 09:00:{i:02d} INFO GET /api/orders 200 12ms" for i in range(20)]
    (tmp_path / "app.log").write_text("\n".join([*lines, LINE]) + "\n")
    env = wide_env()
    page = tmp_path / "d.html"
    digest = ("logs", "digest", "app.log", "--no-store")
    done = prodshield(tmp_path, *digest, "--format", "html", "-o", str(page), env=env)
    assert done.returncode == 0, done.stderr
    alerts = page.read_text().split("<h2>Alerts</h2>", 1)[1].split("</table>", 1)[0]
    cell = re.search(r'<td title="([^"]*)">([^<]*)</td></tr>', alerts)
    assert cell, alerts
    whole, shown = html.unescape(cell.group(1)), html.unescape(cell.group(2))
    assert len(whole) > 300, whole  # the stored message: redacted, bounded, longer than shown
    assert len(shown) <= 200, shown
    cut = re.search(r"…\[([\d,]+) more characters\]$", shown)
    assert cut, shown
    assert whole.startswith(shown[: -len(cut.group(0))]), (shown, whole)
    assert int(cut.group(1).replace(",", "")) >= len(whole) - len(shown), (shown, whole)

    md = prodshield(tmp_path, *digest, "--format", "markdown", env=env)
    assert md.returncode == 0, md.stderr
    bullet = md.stdout.split("## Alerts", 1)[1].split("## Security", 1)[0]
    assert f"{shown}`" in bullet, bullet  # the same cut, the same note
