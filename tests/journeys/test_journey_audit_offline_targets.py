"""Journey: a newcomer runs ``prodshield init`` then the audit gate on a machine where the
template's TLS target cannot be reached. An endpoint the audit cannot connect to is reported as
could-not-check (like testssl.sh's "can't connect"), not as a high TLS finding failing the gate;
a port that accepts the connection but does not speak TLS still fails it (CLI as a subprocess)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from support.net import refused_port


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _init(tmp_path: Path, *targets: tuple[str, int]) -> Path:
    """The ``init`` template, its TLS target replaced by ``targets`` (a ``.invalid`` name never
    resolves, RFC 6761: the test does not depend on this machine's network)."""
    root = tmp_path / "shop"
    done = _cli(tmp_path, "init", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    shield = root / "shield.yaml"
    text = shield.read_text()
    template = "  tls:\n    - host: example.com\n      port: 443\n"
    assert template in text  # the template's placeholder this journey stands for
    wanted = "".join(f"    - host: {h}\n      port: {p}\n" for h, p in targets)
    shield.write_text(text.replace(template, "  tls:\n" + wanted))
    return root


def test_unreachable_targets_are_could_not_check_and_the_gate_passes(tmp_path: Path) -> None:
    refused = refused_port()  # nothing listens there
    root = _init(tmp_path, ("shop.invalid", 443), ("127.0.0.1", refused))
    done = _cli(root, "audit", ".", "--no-process-env")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "audit passed" in out
    assert "tls.handshake-failed" not in out
    assert "shop.invalid:443: could not check TLS: its name does not resolve" in out
    assert f"127.0.0.1:{refused}: could not check TLS: connection refused" in out
    assert "; 2 endpoints could not be reached" in out  # the files were checked: not "nothing"
    assert "nothing checked" not in out

    done = _cli(root, "audit", ".", "--no-process-env", "--format", "json", "-o", "au.json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((root / "au.json").read_text())
    assert [f for f in report["findings"] if f["family"] == "tls"] == []
    assert report["summary"]["failed"] is False
    assert report["summary"]["unreachable"] == 2
    assert report["summary"]["nothing_checked"] is False
    assert sum("could not check TLS" in s for s in report["skipped"]) == 2


def test_a_port_that_does_not_speak_tls_still_fails_the_gate(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts the connection, never answers the ClientHello
    try:
        port = listener.getsockname()[1]
        root = _init(tmp_path, ("127.0.0.1", port))
        shield = root / "shield.yaml"
        shield.write_text(
            shield.read_text().replace("  fail_on: high\n", "  fail_on: high\n  timeout: 1\n", 1)
        )
        done = _cli(root, "audit", ".", "--no-process-env")
    finally:
        listener.close()
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "tls.handshake-failed" in out
    assert f"127.0.0.1:{port}" in out
    assert "could not check" not in out


def test_a_tls_gate_that_reached_no_endpoint_checked_nothing_and_exits_3(tmp_path: Path) -> None:
    """``audit tls`` on endpoints none of which answers has graded nothing: like testssl.sh's
    connectivity error, it says so and exits 3 ("the work could not be done"), never 0 with
    "no findings"; the reports say it too."""
    refused = refused_port()
    done = _cli(tmp_path, "audit", "tls", "nowhere.invalid:443")
    out = done.stdout + done.stderr
    assert done.returncode == 3, out
    assert "audit: nothing checked: 1 endpoint could not be reached" in out
    assert "no findings" not in out and "passed" not in out
    assert "nowhere.invalid:443: could not check TLS: its name does not resolve" in out

    done = _cli(
        tmp_path,
        "audit",
        "tls",
        "nowhere.invalid:443",
        f"127.0.0.1:{refused}",
        "--format",
        "json",
        "-o",
        "tls.json",
        "--report",
        "markdown:tls.md",
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "audit: nothing checked: 2 endpoints could not be reached" in done.stderr
    summary = json.loads((tmp_path / "tls.json").read_text())["summary"]
    assert summary["nothing_checked"] is True and summary["unreachable"] == 2
    assert summary["failed"] is False
    markdown = (tmp_path / "tls.md").read_text()
    assert markdown.startswith("## prodshield audit: ⚠️ nothing checked")
    assert "Nothing checked: 2 endpoints could not be reached." in markdown
