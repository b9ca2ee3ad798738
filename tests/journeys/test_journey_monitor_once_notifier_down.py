"""Journey (newcomer trial, minor 13): with the webhook receiver down, `monitor once` blocked about
50 s (six retries) before it exited. Now it waits 10 s by default, says on stderr that the
notification stays queued and how to wait longer, and the next run delivers it: nothing is lost."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from support.cli import prodshield, wide_env
from support.net import refused_port, serving_on


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        type(self).bodies.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def test_monitor_once_does_not_wait_a_minute_for_a_receiver_that_is_down(tmp_path: Path) -> None:
    target = refused_port()  # the check fails: an incident opens
    hook = refused_port()  # the webhook receiver is down for the first run
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "defaults: {failure_threshold: 1}\n"
        "notifiers:\n"
        f"  ops: {{type: webhook, url: 'http://127.0.0.1:{hook}/hook'}}\n"
        "checks:\n"
        f"  - {{name: api, type: tcp, host: 127.0.0.1, port: {target}, alerts: [ops]}}\n"
    )
    started = time.monotonic()
    first = prodshield(tmp_path, "monitor", "once", env=wide_env())
    took = time.monotonic() - started
    assert first.returncode == 1, first.stdout + first.stderr
    assert took < 35, (took, first.stderr)  # it retried for about 50 s before
    assert "still queued" in first.stderr, first.stderr
    assert "go out with the next run" in first.stderr and "--notify-wait" in first.stderr

    _Receiver.bodies = []
    with serving_on(hook, _Receiver, HTTPServer):
        # the next run (waiting long enough for the queued retry to fall due) delivers it
        second = prodshield(
            tmp_path, "monitor", "once", "--format", "json", "--notify-wait", "1m", env=wide_env()
        )
    assert second.returncode == 1, second.stderr
    notes = json.loads(second.stdout)["notifications"]
    assert notes["sent"] == 1 and notes["pending"] == 0, notes
    assert len(_Receiver.bodies) == 1, _Receiver.bodies
