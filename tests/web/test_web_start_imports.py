"""What ``prodshield serve`` imports to start: the libraries only pages need (jinja2 for every
page, markdown-it for the digest panel) are imported when the first page renders, not at every
start (start-up counts in the log follower's CPU per line, benchmarks/logs_follow.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _imported_by_serve(tmp_path: Path) -> set[str]:
    """The modules ``serve`` imports up to a minute of running (``-X importtime``)."""
    (tmp_path / "app.log").write_text("GET /health 200\n")
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "serve: {port: 0, token: test-token-0123456789abcdef}\n"
        "logs:\n  window: 1s\n  sources: [{name: app, path: app.log, format: raw}]\n"
    )
    out, err_file = tmp_path / "out.txt", tmp_path / "importtime.txt"
    with out.open("w") as stdout, err_file.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "prodshield", "serve", "-c", "shield.yaml"],
            cwd=tmp_path,
            stdout=stdout,
            stderr=stderr,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            deadline = time.monotonic() + 60
            while "prodshield serving" not in out.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, err_file.read_text()[-2000:]
                time.sleep(0.2)
            time.sleep(3)  # the background services' first rounds (the follower's first window)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    err = err_file.read_text()
    names = {row.rsplit("|", 1)[1].strip() for row in err.splitlines() if row.startswith("import")}
    assert "prodshield.web.server" in names, err[-2000:]
    return names


def test_serve_imports_page_templates_only_when_a_page_renders(tmp_path: Path) -> None:
    names = _imported_by_serve(tmp_path)
    assert "prodshield.logs.service" in names
    assert "prodshield.web.markdown" in names  # the modules, not the libraries
    assert "markdown_it" not in names
    assert "jinja2" not in names


def test_markdown_still_renders_safely() -> None:
    from prodshield.web.markdown import markdown_html

    html = markdown_html("# Digest\n\n**down** <script> [x](https://evil.example)")
    assert "<strong>down</strong>" in html
    assert "&lt;script&gt;" in html
    assert "<a " not in html
    assert "<h3>Digest</h3>" in html
