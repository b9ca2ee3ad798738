"""Journey: `serve.port: 0` asks the system for a free port, and `serve` says which one.

The first lines `prodshield serve` prints name the URL it really listens on (not `:0`), and the
dashboard's URL with it; the health endpoint answers there.
"""

from __future__ import annotations

import json
import re
import select
import subprocess
import urllib.request
from pathlib import Path

from support.serve import serve_env, start_serve, stop_serve


class _Output:
    """The process's stdout read straight from the pipe's descriptor, so that no line can sit
    in a Python buffer where ``select`` does not see it (two lines arriving in one read)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self.fd = proc.stdout.fileno()
        self.pending = ""

    def until(self, pattern: str, timeout: float = 60.0) -> tuple[re.Match[str] | None, str]:
        """Consume whole lines until one matches ``pattern`` (or ``timeout``); return the match
        and the lines consumed."""
        import os
        import time

        seen = ""
        deadline = time.monotonic() + timeout
        while True:
            while "\n" in self.pending:
                line, self.pending = self.pending.split("\n", 1)
                seen += line + "\n"
                found = re.search(pattern, line)
                if found:
                    return found, seen
            if time.monotonic() >= deadline:
                return None, seen + self.pending
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if not ready:
                if self.proc.poll() is not None:
                    return None, seen + self.pending
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None, seen + self.pending
            self.pending += chunk.decode("utf-8", "replace")


def test_port_zero_prints_the_port_actually_bound(tmp_path: Path) -> None:
    config = tmp_path / "shield.yaml"
    config.write_text(
        "storage: sqlite:///store.db\n"
        'serve: {port: 0, host: 127.0.0.1, token: "journey-token-0123456789abcdef"}\n'
        "checks: []\n"
    )
    proc = start_serve(config, cwd=tmp_path, env=serve_env(PYTHONUNBUFFERED=""))
    try:
        output = _Output(proc)
        found, seen = output.until(r"^prodshield serving http://127\.0\.0\.1:(\d+)/ ")
        assert found is not None, seen
        port = int(found.group(1))
        assert port != 0, seen
        dash, more = output.until(r"^dashboard: (\S+)")
        assert dash is not None and dash.group(1) == f"http://127.0.0.1:{port}/dashboard", more
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert json.loads(r.read())["status"] == "ok"
    finally:
        _, err = stop_serve(proc)
    assert "Traceback" not in err, err
