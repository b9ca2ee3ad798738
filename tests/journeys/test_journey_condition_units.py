"""Journey (newcomer review 3, smaller observations): a slow answer printed
`[RESPONSE_TIME] (2006.753) < 1s` in `monitor once`, `incident show` and the notification: the
actual value in ms with no unit beside a threshold in seconds. Now it is in the threshold's unit."""

from __future__ import annotations

import re
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from support.cli import prodshield, wide_env
from support.net import http_server


class _Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(0.3)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_slow_answer_is_shown_in_the_thresholds_unit(tmp_path: Path) -> None:
    with http_server(_Slow) as port:
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "defaults: {failure_threshold: 1}\n"
            "checks:\n"
            f"  - {{name: api, type: http, url: 'http://127.0.0.1:{port}/',"
            " conditions: ['[STATUS] == 200', '[RESPONSE_TIME] < 0.1s']}\n"
        )
        once = prodshield(tmp_path, "monitor", "once", env=wide_env())
    shown = once.stdout + once.stderr
    unit = re.compile(r"\[RESPONSE_TIME\] \(0\.[0-9]{1,3}s\) < 0\.1s")
    assert unit.search(shown), shown
    assert not re.search(r"\[RESPONSE_TIME\] \([0-9.]+\) <", shown), shown
    show = prodshield(tmp_path, "incident", "show", "1", env=wide_env())
    assert unit.search(show.stdout), show.stdout + show.stderr
