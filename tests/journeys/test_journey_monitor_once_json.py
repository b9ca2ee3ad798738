"""Journey: `monitor once --format json` as a workflow step reads it. A target goes down and
comes back; the JSON of each run says which incidents opened or resolved and which
notifications were sent (a real webhook receiver on loopback), not only stderr text."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from support.cli import prodshield
from support.net import refused_port, serving_on


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        type(self).bodies.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def _once(cwd: Path) -> tuple[int, dict[str, Any]]:
    done = prodshield(cwd, "monitor", "once", "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_monitor_once_json_reports_incidents_and_notifications(tmp_path: Path) -> None:
    hook = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    target_port = refused_port()  # held, not listening: the target is down
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "defaults: {failure_threshold: 1, success_threshold: 1}\n"
        "notifiers:\n"
        f"  ops: {{type: webhook, url: 'http://127.0.0.1:{hook.server_address[1]}/hook'}}\n"
        "checks:\n"
        f"  - {{name: shop, type: http, url: 'http://127.0.0.1:{target_port}/', timeout: 2s,"
        " alerts: [ops]}\n"
    )
    try:
        code, down = _once(tmp_path)
        assert code == 1
        assert [r["ok"] for r in down["results"]] == [False]
        (opened,) = down["incidents"]["opened"]
        assert opened["check"] == "shop" and opened["status"] == "open"
        assert down["incidents"]["resolved"] == []
        notes = down["notifications"]
        assert notes["sent"] == 1 and notes["dead"] == 0
        assert notes["deliveries"][0]["notifier"] == "ops"
        assert notes["deliveries"][0]["status"] == "sent"
        assert len(_Receiver.bodies) == 1

        code, still = _once(tmp_path)  # still down: nothing new opens, nothing is sent
        assert code == 1
        assert still["incidents"] == {"opened": [], "resolved": []}
        assert still["notifications"]["sent"] == 0

        with serving_on(target_port, _Receiver, HTTPServer):
            code, up = _once(tmp_path)
        assert code == 0
        assert up["incidents"]["opened"] == []
        (resolved,) = up["incidents"]["resolved"]
        assert resolved["id"] == opened["id"] and resolved["status"] == "resolved"
        assert up["notifications"]["sent"] == 1
    finally:
        hook.shutdown()
