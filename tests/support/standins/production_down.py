"""A target application in two environments, production down: ``/prod/...`` answers 500,
anything else (``/stage/...``) 200. Serve it with ``support.net.http_server``."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler


class ProductionDown(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 500 if self.path.startswith("/prod/") else 200
        body = b"down" if status == 500 else b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
