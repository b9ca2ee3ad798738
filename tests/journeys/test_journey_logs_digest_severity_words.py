"""Journey: `logs digest` and `logs scan` on the same Apache error log say the same severity:
the digest once put four `error_logged medium` findings under "Critical alerts" and counted them
"4 critical" in its header (CLI as a subprocess, Markdown and JSON)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support.cli import prodshield, wide_env

APACHE = "".join(
    f"[Sun Dec 04 0{h}:47:{s:02d} 2005] [error] mod_jk child workerEnv in error state {s % 7}\n"
    f"[Sun Dec 04 0{h}:48:{s:02d} 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2\n"
    f"[Sun Dec 04 0{h}:49:{s:02d} 2005] [error] [client 10.0.0.{s}] Directory index forbidden "
    "by rule: /var/www/html/\n"
    for h in range(4, 7)
    for s in range(10)
)


def test_digest_says_the_severity_scan_says(tmp_path: Path) -> None:
    (tmp_path / "error_log").write_text(APACHE)
    scan = prodshield(tmp_path, "logs", "scan", "error_log", "--format", "json", env=wide_env())
    found = json.loads(scan.stdout)["findings"]
    assert found and {f["severity"] for f in found} == {"medium"}, found

    digest = prodshield(tmp_path, "logs", "digest", "error_log", "--no-store", env=wide_env())
    assert digest.returncode == 0, digest.stderr
    text = digest.stdout
    assert "critical" not in text.lower(), text
    assert f"{len(found)} alerts ({len(found)} medium)" in text, text
    items = re.findall(r"^- \*\*(\w+)\*\* (\w+) x\d+", text, flags=re.M)
    assert sorted(items) == sorted((f["kind"], f["severity"]) for f in found), text
