"""Journey: `prodshield notify test ops` on a webhook URL served by a plain web server that takes
no POST (it answers 501 with its default HTML error page). The test fails at once, not after 30 s
of retries (501 is permanent: retrying a wrong URL cannot help), and says why on one line, the
page as its text and not as markup (newcomer trial: five retries, then "HTTP 501: <!DOCTYPE
HTML> <html lang="en"> <head> ...")."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from support.cli import prodshield, shell_env
from support.net import http_server


@pytest.fixture
def file_server() -> Iterator[int]:
    """Python's file server: GET only, POST gets its default 501 HTML page."""
    with http_server(SimpleHTTPRequestHandler) as port:
        yield port


def test_a_webhook_url_that_takes_no_post_fails_at_once_and_says_why(
    tmp_path: Path, file_server: int
) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "notifiers:\n"
        f"  ops: {{type: webhook, url: 'http://127.0.0.1:{file_server}/hook'}}\n"
    )
    done = prodshield(tmp_path, "notify", "test", "ops", env=shell_env(COLUMNS="200"))
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "retry in" not in out, out  # one attempt: nothing scheduled
    line = next(x for x in done.stdout.splitlines() if x.startswith("not sent to ops:"))
    assert "HTTP 501" in line and "Unsupported method ('POST')" in line, line
    assert "the URL does not take a POST" in line, line
    assert "<" not in line and "DOCTYPE" not in line, line
