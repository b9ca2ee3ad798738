"""An alert held by a process that was killed mid-delivery goes out within 30 s of the next one.

The journey: `prodshield serve` opens an incident and starts posting it to a webhook; the receiver
holds the request; serve is killed with SIGKILL. A second `serve` on the same store must deliver
the same notification (same idempotency key, so the receiver can drop the duplicate) promptly,
not after a long delivery lease.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support.net import refused_port
from support.serve import Served, start_with_token, stop_serve

TOKEN = "restart-token-0123456789abcdef"


class _Receiver:
    """A webhook receiver whose first request is held (never answered); later ones get 200."""

    def __init__(self) -> None:
        self.received: list[tuple[float, str, str]] = []  # (time, event type, idempotency key)
        self.answered: list[tuple[float, str]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                key = self.headers.get("X-Prodshield-Idempotency-Key", "")
                kind = self.headers.get("X-Prodshield-Event", "")
                first = not receiver.received
                receiver.received.append((time.time(), kind, key))
                if first:
                    receiver.release.wait(120)  # the sender dies while we hold its request
                    return
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                receiver.answered.append((time.time(), key))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_alert_held_by_a_killed_serve_is_delivered_within_30s_by_the_next(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    storage = (
        f"sqlite:///{tmp_path / 'store.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    receiver = _Receiver()
    down = refused_port()  # nothing listens: the check fails at once
    config = tmp_path / "shield.yaml"
    config.write_text(
        f"""
storage: "{storage}"
defaults: {{failure_threshold: 1, success_threshold: 1}}
checks:
  - name: orders
    type: tcp
    host: 127.0.0.1
    port: {down}
    interval: 1s
    timeout: 1s
    alerts: [hook]
notifiers:
  hook: {{type: webhook, url: "{receiver.url}", timeout: 60s}}
"""
    )
    first = start_with_token(config, TOKEN)
    second: Served | None = None
    try:
        deadline = time.time() + 60
        while not receiver.received and time.time() < deadline:
            assert first.proc.poll() is None, first.proc.stderr.read() if first.proc.stderr else ""
            time.sleep(0.1)
        assert receiver.received, "the first serve never posted the incident"
        _at, kind, key = receiver.received[0]
        assert kind == "incident.opened"
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        killed_at = time.time()
        second = start_with_token(config, TOKEN)
        while time.time() < killed_at + 45 and not any(k == key for _, k in receiver.answered):
            assert second.proc.poll() is None, (
                second.proc.stderr.read() if second.proc.stderr else ""
            )
            time.sleep(0.2)
        delivered = [t for t, k in receiver.answered if k == key]
        assert delivered, "the held alert was never delivered by the next serve"
        assert delivered[0] - killed_at < 30.0
        # the receiver saw the same key twice (held, then delivered): it can drop the duplicate
        assert [k for _, _, k in receiver.received].count(key) >= 2
        assert json.dumps(key)  # a stable, printable key
    finally:
        for served in (first, second):
            if served is not None and served.proc.poll() is None:
                stop_serve(served.proc, timeout=20)
        receiver.close()
