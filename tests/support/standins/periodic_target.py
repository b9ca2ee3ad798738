"""A target that is down for a while in every period: ``200 {"status": "UP"}``, except
``503 {"status": "DOWN"}`` for the last ``outage`` seconds of every ``period`` (on any path). It
logs what it served, so a test can tell in which windows the checker saw it failing."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def answer_health(handler: BaseHTTPRequestHandler, *, down: bool) -> None:
    """Answer ``503 {"status": "DOWN"}`` when ``down``, else ``200 {"status": "UP"}``."""
    body = b'{"status": "DOWN"}' if down else b'{"status": "UP"}'
    handler.send_response(503 if down else 200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class PeriodicTarget:
    def __init__(self, period: float, outage: float) -> None:
        self.period = period
        self.started = time.time()
        self.served: list[tuple[float, int, bool]] = []  # (time, window, failing)
        target = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                now = time.time()
                window, phase = divmod(now - target.started, period)
                failing = phase >= period - outage
                target.served.append((now, int(window), failing))
                answer_health(self, down=failing)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def outage_windows(self, at_least: int) -> set[int]:
        """Windows in which the checker got ``at_least`` failing answers in a row."""
        out: set[int] = set()
        run = 0
        for _, window, failing in sorted(self.served):
            run = run + 1 if failing else 0
            if run >= at_least:
                out.add(window)
        return out

    def window_of(self, ts: float) -> int:
        return int((ts - self.started) // self.period)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
