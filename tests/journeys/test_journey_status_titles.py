"""Journey: an incident on the public status page reads once, not twice.

A check fails in production (`monitor once` opens `[production] api is down`, the title its GitHub
issue and pages carry). The status page `serve` shows and the static site `status build` writes
both show the incident under its check with a `production` badge, and its title without the
`[production] ` prefix the badge already says. A manual incident keeps the title it was given.
"""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from support.alerting import TOKEN, cli, serving, wait
from support.net import refused_port


def _incidents(page: str) -> list[tuple[str, str, str]]:
    """(heading, badge, title) of each incident on a status page."""
    found = re.findall(
        r'<article class="incident[^"]*" data-incident="\d+"[^>]*>\s*<h3>([^<]*)'
        r'(?:<span class="env">([^<]*)</span>)?.*?<p class="incident-title">([^<]*)</p>',
        page,
        re.S,
    )
    return [(h.strip(), env, title) for h, env, title in found]


def test_incident_titles_do_not_repeat_the_environment_badge(tmp_path: Path) -> None:
    closed = refused_port()
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        "defaults: {failure_threshold: 1}\n"
        "environments: {production: {}}\n"
        "checks:\n"
        f"  - {{name: api, type: tcp, host: 127.0.0.1, port: {closed},"
        " environments: [production]}\n"
    )
    assert cli(tmp_path, "monitor", "once").returncode == 1
    manual = cli(
        tmp_path, "incident", "open", "[eu] Payments are slow", "--service", "payments",
        "--env", "production",
    )  # fmt: skip
    assert manual.returncode == 0, manual.stderr
    expected = [
        ("api", "production", "api is down"),
        ("payments", "production", "[eu] Payments are slow"),
    ]

    built = cli(tmp_path, "status", "build", "--out", str(tmp_path / "site"))
    assert built.returncode == 0, built.stderr
    static = (tmp_path / "site" / "index.html").read_text()
    assert sorted(_incidents(static)) == expected, _incidents(static)
    assert "[production]" not in static

    with serving(tmp_path) as serve:

        def page() -> str:
            with urllib.request.urlopen(serve.base + "/", timeout=10) as r:
                return str(r.read().decode())

        live = wait(page, "the status page")
        assert sorted(_incidents(live)) == expected, _incidents(live)
        assert "[production]" not in live
