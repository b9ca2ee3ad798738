"""Journey: the one line `monitor once` prints about its notifications counts notifications.

Newcomer trial: one incident whose GitHub notifier could not be reached printed `notifications:
0 sent, 5 to retry, 0 dead, 1 still queued`: five attempts of one event read as five
notifications waiting. The line now counts sent, dead and queued notifications and names the
failed attempts as attempts; the JSON keeps its documented `retry` (attempts) count.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from support.net import free_port


class _Unavailable(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_monitor_once_counts_notifications_not_attempts(tmp_path: Path) -> None:
    hook = HTTPServer(("127.0.0.1", 0), _Unavailable)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "defaults: {failure_threshold: 1}\n"
        "notifiers:\n"
        f"  ops: {{type: webhook, url: 'http://127.0.0.1:{hook.server_address[1]}/hook'}}\n"
        "checks:\n"
        f"  - {{name: shop, type: http, url: 'http://127.0.0.1:{free_port()}/', timeout: 2s,"
        " alerts: [ops]}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PRODSHIELD_CONFIG"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "prodshield", "monitor", "once", "--format", "json",
             "--notify-wait", "6s"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        hook.shutdown()
    assert done.returncode == 1, done.stderr
    notes = json.loads(done.stdout)["notifications"]
    assert notes["sent"] == 0 and notes["pending"] == 1 and notes["retry"] >= 1, notes
    attempts = f"{notes['retry']} failed attempt" + ("s" if notes["retry"] > 1 else "")
    line = [x for x in done.stderr.splitlines() if x.startswith("notifications:")]
    assert line == [
        f"notifications: 0 sent, 0 dead, 1 still queued after {attempts}"
        " (`prodshield notify status` shows why)"
    ], done.stderr
    assert not re.search(r"\d+ to retry", done.stderr)
