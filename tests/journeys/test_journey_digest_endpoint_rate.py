"""Journey: the daily digest of an access log where 108 of 834 requests to one endpoint failed
(spread out: an error rate, no burst). Its Performance table and the finding under it give the
same 5xx share: the table printed 13.0% (the stored rate rounded to 0.1295 first) beside the
finding's 12.9%, in Markdown and in HTML."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from support.cli import prodshield, wide_env


def _access_log(path: Path) -> None:
    start = datetime.datetime(2026, 12, 4, 6, 0, 0)
    lines = []
    for i in range(834):
        when = (start + datetime.timedelta(seconds=10 * i)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        status = 500 if i % 7 == 0 and i // 7 < 108 else 200
        lines.append(
            f'203.0.113.5 - - [{when}] "GET /api/orders HTTP/1.1" {status} 512 "-" "shop"\n'
        )
    path.write_text("".join(lines))


def test_the_table_and_the_finding_give_one_share(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    _access_log(log)
    markdown = prodshield(
        tmp_path, "logs", "digest", str(log), "--format", "markdown", "--no-store", env=wide_env()
    )
    assert markdown.returncode == 0, markdown.stderr
    finding = re.search(r"108 of 834 requests \((\d+\.\d)%\)", markdown.stdout)
    assert finding, markdown.stdout
    assert finding.group(1) == "12.9"  # 108 / 834 = 0.12949...
    assert "| `GET /api/orders` | 834 | 12.9% |" in markdown.stdout, markdown.stdout

    page = prodshield(
        tmp_path, "logs", "digest", str(log), "--format", "html", "--no-store", env=wide_env()
    )
    assert page.returncode == 0, page.stderr
    assert "<td class=n>834</td><td class=n>12.9%</td>" in page.stdout
    assert "13.0%" not in page.stdout and "13.0%" not in markdown.stdout
