"""A status page subscriber's webhook endpoint on loopback: keeps every POST it is sent."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Subscriber:
    def __init__(self, path: str = "/hook") -> None:
        self.posts: list[dict[str, Any]] = []  # {"headers": ..., "raw": body bytes}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.posts.append({"headers": dict(self.headers), "raw": raw})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def events(self) -> list[dict[str, Any]]:
        """The JSON bodies received, in order."""
        return [json.loads(p["raw"]) for p in self.posts]

    def phases(self) -> list[str]:
        """The ``phase`` of each event but the subscription's confirmation."""
        return [
            str(e["event"]["fields"].get("phase"))
            for e in self.events
            if e["event"]["type"] != "subscription.confirm"
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
