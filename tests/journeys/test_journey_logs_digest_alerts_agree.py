"""Journey: `logs digest` on a log with an AWS key pair, a lost database and a traceback. The
Markdown "Alerts" listed the two critical `secret_in_log` findings besides the scan's critical
category, unlike its header, the JSON `critical` list and the HTML Alerts table; all four now list
the same findings, and the leaks are under Security (CLI as a subprocess, Markdown, JSON, HTML)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support import secrets_tokens as tok
from support.cli import prodshield, wide_env


def _log() -> str:
    lines = [f"2026-12-07 09:00:{i:02d} INFO GET /api/orders 200 12ms" for i in range(20)]
    lines += [
        "2026-12-07 09:01:01 ERROR could not connect to server: Connection refused (db:5432)",
        "2026-12-07 09:01:02 ERROR Traceback (most recent call last):",
        '  File "app.py", line 3, in <module>',
        "ValueError: bad",
        f"2026-12-07 09:01:03 INFO boot aws_access_key_id={tok.aws_id()} "
        f"aws_secret_access_key={tok.aws_secret()}",
    ]
    return "\n".join(lines) + "\n"


def test_alerts_are_the_same_findings_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(_log())
    env = wide_env()
    digest = ("logs", "digest", "app.log", "--no-store")
    as_json = prodshield(tmp_path, *digest, "--format", "json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    critical = sorted((f["kind"], f["severity"]) for f in data["critical"])
    assert critical and all(kind != "secret_in_log" for kind, _ in critical), critical
    security = [f["kind"] for f in data["security"]["findings"]]
    assert security.count("secret_in_log") == 2, security

    md = prodshield(tmp_path, *digest, "--format", "markdown", env=env)
    assert md.returncode == 0, md.stderr
    header = re.search(r"_\d+ events: (\d+) alerts? \(([^)]*)\)", md.stdout)
    assert header, md.stdout
    assert int(header.group(1)) == len(critical), md.stdout
    alerts = md.stdout.split("## Alerts", 1)[1].split("## Security", 1)[0]
    listed = sorted(re.findall(r"^- \*\*(\w+)\*\* (\w+) x\d+", alerts, flags=re.M))
    assert listed == critical, alerts
    assert "secret_in_log: 2" in md.stdout.split("## Security", 1)[1], md.stdout

    page = tmp_path / "d.html"
    html = prodshield(tmp_path, *digest, "--format", "html", "-o", str(page), env=env)
    assert html.returncode == 0, html.stderr
    table = page.read_text().split("<h2>Alerts</h2>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td[^>]*>(\w+)</td><td>(\w+)</td>", table)
    assert sorted(rows) == critical, table


def test_the_findings_chart_says_the_category_as_scan_does(tmp_path: Path) -> None:
    """The "Findings by kind" chart labelled a medium `error_logged` "critical/error_logged"; it
    uses the scan table's word for the category, `failure`."""
    (tmp_path / "app.log").write_text(_log())
    page = tmp_path / "d.html"
    env = wide_env()
    done = prodshield(
        tmp_path, "logs", "digest", "app.log", "--no-store", "--format", "html", "-o", str(page),
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    chart = page.read_text().split("<h2>Findings by kind</h2>", 1)[1].split("<h2>", 1)[0]
    assert "failure/db_connection_failure" in chart, chart
    assert "failure/unhandled_exception" in chart, chart
    assert "security/secret_in_log" in chart, chart
    assert "critical/" not in chart, chart


def test_security_lists_the_same_findings_in_every_format(tmp_path: Path) -> None:
    """The Markdown digest (the default, what `--post` sends) said only `secret_in_log: 4` under
    Security, while HTML and JSON listed each leak, masked, with its places: a critical AWS key
    had no location in the report a team reads. It now lists each security finding as HTML and
    JSON do (brute-force sources in their table), masked the same way."""
    ghp = tok.github_classic()
    aws = tok.aws_id()
    lines = [f"2026-12-07 09:00:{i:02d} INFO GET /api/orders 200 12ms" for i in range(20)]
    lines += [
        f"2026-12-07 09:01:01 INFO user login ok token={ghp} from 10.0.0.1",
        f"2026-12-07 09:01:02 ERROR aws key {aws} used",
        f"2026-12-07 09:01:04 INFO retry with {ghp}",
    ]
    (tmp_path / "app.log").write_text("\n".join(lines) + "\n")
    env = wide_env()
    digest = ("logs", "digest", "app.log", "--no-store")

    as_json = prodshield(tmp_path, *digest, "--format", "json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    found = json.loads(as_json.stdout)["security"]["findings"]
    expected = sorted((f["kind"], f["severity"], f["count"]) for f in found)
    assert expected == [("secret_in_log", "critical", 1), ("secret_in_log", "high", 2)], found
    masked = [s["secret"] for f in found for s in f["details"]["secrets"]]
    assert len(masked) == 2 and all("…[" in m for m in masked), masked

    md = prodshield(tmp_path, *digest, env=env)
    assert md.returncode == 0, md.stderr
    security = md.stdout.split("## Security", 1)[1].split("## Performance", 1)[0]
    listed = sorted(
        (k, s, int(n)) for k, s, n in re.findall(r"^- \*\*(\w+)\*\* (\w+) x(\d+)", security, re.M)
    )
    assert listed == expected, security
    assert all(m in security for m in masked), security
    assert "app.log:21" in security and "app.log:22" in security and "app.log:23" in security

    page = tmp_path / "d.html"
    html = prodshield(tmp_path, *digest, "--format", "html", "-o", str(page), env=env)
    assert html.returncode == 0, html.stderr
    table = page.read_text().split("<h2>Security</h2>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td[^>]*>(\w+)</td><td>(\w+)</td><td class=n>(\d+)</td>", table)
    assert sorted((k, s, int(n)) for k, s, n in rows) == expected, table
    assert all(m in table for m in masked), table

    for out in (as_json.stdout, md.stdout, page.read_text()):
        assert ghp not in out and aws not in out
