"""Journey (newcomer review 3, item 10): a check's `description` showed on its dashboard page and
in the API, but not on the public status page (live `/` and `status build`), though the config
reference says "A sentence shown beside the check on the status page". Now each service shows its
checks' descriptions, escaped like every other text there."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from support.alerting import TOKEN, cli, serving, wait
from support.net import refused_port

HOSTILE = "<b>bold</b> [bold]x[/bold] <script>alert(1)</script>"


def _descriptions(page: str) -> dict[str, list[str]]:
    """The descriptions under each service's heading."""
    out: dict[str, list[str]] = {}
    for name, body in re.findall(
        r'<article class="service" data-service="([^"]*)".*?</div>(.*?)<div class="svc-charts">',
        page,
        re.S,
    ):
        out[name] = re.findall(r'<p class="svc-description">(.*?)</p>', body, re.S)
    return out


def test_check_descriptions_are_on_the_status_page(tmp_path: Path) -> None:
    closed = refused_port()
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        "checks:\n"
        f"  - {{name: shop, type: tcp, host: 127.0.0.1, port: {closed},"
        " description: 'The public shop front'}\n"
        f"  - name: evil\n    type: tcp\n    host: 127.0.0.1\n    port: {closed}\n"
        f"    description: '{HOSTILE}'\n"
        f"  - {{name: quiet, type: tcp, host: 127.0.0.1, port: {closed}}}\n"
    )
    assert cli(tmp_path, "monitor", "once").returncode == 1
    escaped = "&lt;b&gt;bold&lt;/b&gt; [bold]x[/bold] &lt;script&gt;alert(1)&lt;/script&gt;"
    expected = {"shop": ["The public shop front"], "evil": [escaped], "quiet": []}

    built = cli(tmp_path, "status", "build", "--out", str(tmp_path / "site"))
    assert built.returncode == 0, built.stderr
    static = (tmp_path / "site" / "index.html").read_text()
    assert _descriptions(static) == expected, _descriptions(static)
    assert "<script>alert" not in static

    with serving(tmp_path) as serve:

        def page() -> str:
            with urllib.request.urlopen(serve.base + "/", timeout=10) as r:
                return str(r.read().decode())

        live = wait(page, "the status page")
        assert _descriptions(live) == expected, _descriptions(live)
        assert "<script>alert" not in live
