"""Journey: `serve.port: 0` asks the system for a free port, and `serve` says which one.

The first lines `prodshield serve` prints name the URL it really listens on (not `:0`), and the
dashboard's URL with it; the health endpoint answers there.
"""

from __future__ import annotations

import json
import re
import select
import urllib.request
from pathlib import Path

from support.serve import serve_env, start_serve, stop_serve


def _lines_until(proc, pattern: str, timeout: float = 60.0) -> tuple[re.Match[str] | None, str]:  # type: ignore[no-untyped-def]
    """Read the process's stdout until a line matches ``pattern`` (or ``timeout``)."""
    import time

    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        found = re.search(pattern, line)
        if found:
            return found, seen
    return None, seen


def test_port_zero_prints_the_port_actually_bound(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    config.write_text(
        "storage: sqlite:///store.db\n"
        'serve: {port: 0, host: 127.0.0.1, token: "journey-token-0123456789abcdef"}\n'
        "checks: []\n"
    )
    proc = start_serve(config, cwd=tmp_path, env=serve_env(PYTHONUNBUFFERED=""))
    try:
        found, seen = _lines_until(proc, r"^prodshield serving http://127\.0\.0\.1:(\d+)/ ")
        assert found is not None, seen
        port = int(found.group(1))
        assert port != 0, seen
        dash, more = _lines_until(proc, r"^dashboard: (\S+)")
        assert dash is not None and dash.group(1) == f"http://127.0.0.1:{port}/dashboard", more
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert json.loads(r.read())["status"] == "ok"
    finally:
        _, err = stop_serve(proc)
    assert "Traceback" not in err, err
