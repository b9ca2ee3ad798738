"""The demo platform: a shop API in a production and a staging instance on loopback.

It behaves like a small real service: it answers health and API requests, writes an nginx-style
access log, a PostgreSQL-style query log and an application log, and now and then misbehaves:
``/api/orders`` in production fails for 40 s of every 150 s (from 25 s after the start), a brute-force attempt hits the login,
a query is slow, a worker runs out of memory and a token leaks into the log. A planted insecure
config and a self-signed TLS endpoint give the audit something to find.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import random
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from prodshield.demo.tlscert import self_signed

FAIL_PERIOD_S = 150.0
FAIL_FROM_S = 25.0
FAIL_FOR_S = 40.0


def fake_github_token(rnd: random.Random) -> str:
    """A made-up token in GitHub's classic format (prefix, 30 random chars, base62 CRC32)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    body = "".join(rnd.choice(alphabet) for _ in range(30))
    crc = binascii.crc32(body.encode()) & 0xFFFFFFFF
    digits = ""
    while crc:
        crc, r = divmod(crc, 62)
        digits = alphabet[r] + digits
    return "ghp_" + body + digits.rjust(6, "0")


@dataclass
class Instance:
    name: str
    port: int
    logs: Path
    flaky: bool
    started: float = field(default_factory=time.time)
    rnd: random.Random = field(default_factory=lambda: random.Random(7))

    def failing_now(self) -> bool:
        phase = (time.time() - self.started) % FAIL_PERIOD_S
        return self.flaky and FAIL_FROM_S <= phase < FAIL_FROM_S + FAIL_FOR_S

    def access(
        self,
        ip: str,
        method: str,
        path: str,
        status: int,
        seconds: float,
        agent: str = "Mozilla/5.0",
    ) -> None:
        ts = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        line = (
            f'{ip} - - [{ts}] "{method} {path} HTTP/1.1" {status} {self.rnd.randint(100, 4000)} "-" '
            f'"{agent}" {seconds:.3f} {seconds * 0.9:.3f}\n'
        )
        with (self.logs / "access.log").open("a") as fh:
            fh.write(line)

    def app(self, level: str, message: str) -> None:
        ts = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            + f",{int(time.time() * 1000) % 1000:03d}"
        )
        with (self.logs / "app.log").open("a") as fh:
            fh.write(f"{ts} {level} shop.{self.name}: {message}\n")

    def query(self, ms: float, sql: str) -> None:
        ts = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()) + ".000 UTC"
        with (self.logs / "postgresql.log").open("a") as fh:
            fh.write(
                f"{ts} [{os.getpid()}] shop@shop LOG:  duration: {ms:.3f} ms  statement: {sql}\n"
            )


def make_app(inst: Instance) -> web.Application:
    async def health(request: web.Request) -> web.Response:
        inst.access(request.remote or "127.0.0.1", "GET", "/health", 200, 0.001)
        return web.json_response({"status": "UP", "instance": inst.name})

    async def orders(request: web.Request) -> web.Response:
        started = time.perf_counter()
        if inst.failing_now():
            inst.app(
                "ERROR", "could not connect to server: Connection refused (is the database up?)"
            )
            inst.access(
                request.remote or "127.0.0.1",
                "GET",
                "/api/orders",
                503,
                time.perf_counter() - started,
            )
            return web.json_response(
                {"status": "DOWN", "error": "database unavailable"}, status=503
            )
        ms = inst.rnd.uniform(2, 40)
        inst.query(
            ms,
            f"SELECT id, total FROM orders WHERE customer_id = {inst.rnd.randint(1, 500)} LIMIT 20",
        )
        await asyncio.sleep(ms / 1000)
        inst.access(
            request.remote or "127.0.0.1", "GET", "/api/orders", 200, time.perf_counter() - started
        )
        return web.json_response({"status": "UP", "orders": inst.rnd.randint(0, 20)})

    app = web.Application(client_max_size=ALERT_MAX_BYTES)
    app.router.add_get("/health", health)
    app.router.add_get("/api/orders", orders)
    return app


ALERT_MAX_BYTES = 256 * 1024
"""The demo's alert receiver takes bodies up to this size (a webhook notification is a few KB)."""


def make_alert_receiver(inbox: Path) -> web.Application:
    """The team's chat stand-in: the demo's webhook notifier posts each incident here, and every
    alert is appended to ``inbox`` (one JSON object per line), so the demo's Notifications page
    shows real deliveries and the user can read what was sent."""

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        line = body.decode("utf-8", "replace").replace("\n", " ").strip()
        with inbox.open("a", encoding="utf-8") as f:
            f.write(line + "\n")
        return web.Response(status=204)

    app = web.Application(client_max_size=ALERT_MAX_BYTES)
    app.router.add_post("/alerts", receive)
    return app


async def background_traffic(inst: Instance, stop: asyncio.Event) -> None:
    """Ordinary traffic plus the incidents the log detectors should find, once each."""
    rnd = inst.rnd
    attacker = "203.0.113.77"
    for _ in range(40):  # brute force on the login
        inst.access(attacker, "POST", "/api/login", 401, 0.02, "python-requests/2.31")
    inst.access(attacker, "GET", "/.env", 404, 0.001, "Mozilla/5.00 (Nikto/2.5.0)")
    inst.access(attacker, "GET", "/wp-login.php", 404, 0.001, "Mozilla/5.00 (Nikto/2.5.0)")
    inst.query(
        4321.5,
        "SELECT * FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.sku LIKE '%42%'",
    )
    inst.app(
        "ERROR",
        f"Out of memory: Killed process {rnd.randint(2000, 9000)} (report-worker) total-vm:4194304kB",
    )
    inst.app("INFO", f"calling GitHub API with token {fake_github_token(rnd)}")
    inst.app(
        "ERROR",
        'Traceback (most recent call last):\n  File "/srv/shop/billing.py", line 88, in charge\n'
        "    amount = order['total'] / order['items']\nZeroDivisionError: division by zero",
    )
    while not stop.is_set():
        for _ in range(rnd.randint(3, 10)):
            inst.access(
                f"198.51.100.{rnd.randint(1, 200)}",
                "GET",
                rnd.choice(["/", "/api/items", "/api/cart"]),
                200,
                rnd.lognormvariate(-3.5, 0.5),
            )
        inst.app("INFO", f"request handled in {rnd.randint(2, 90)} ms")
        try:
            await asyncio.wait_for(stop.wait(), timeout=2.0)
        except TimeoutError:
            pass


def plant_insecure_files(folder: Path) -> None:
    """Config mistakes an audit must catch, written as a real deploy tree would have them."""
    (folder / "app").mkdir(parents=True, exist_ok=True)
    (folder / "app" / "settings.py").write_text(
        "DEBUG = True\nALLOWED_HOSTS = ['*']\nSECRET_KEY = 'django-insecure-changeme'\n"
        "SESSION_COOKIE_SECURE = False\n"
    )
    env = folder / "app" / ".env"
    env.write_text(
        "DATABASE_URL=postgres://shop:shop@0.0.0.0:5432/shop?sslmode=disable\n"
        f"STRIPE_KEY=sk_live_{base64.b32encode(os.urandom(15)).decode().lower()}\n"
    )
    env.chmod(0o644)
    (folder / "app" / "nginx.conf").write_text(
        "server {\n  listen 443 ssl;\n  ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n  server_tokens on;\n  autoindex on;\n}\n"
    )


@dataclass
class Platform:
    folder: Path
    production_port: int
    staging_port: int
    tls_port: int
    alerts_port: int = 0
    """Where the demo's alert receiver listens (the ``team-chat`` webhook notifier posts there)."""
    runners: list[web.AppRunner] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """Start the instances; a port of 0 is bound by the system and the port it got is kept
        (nothing can take it between choosing and binding)."""
        logs = self.folder / "logs"
        for name, flaky in (("production", True), ("staging", False)):
            (logs / name).mkdir(parents=True, exist_ok=True)
            port = getattr(self, f"{name}_port")
            inst = Instance(name, port, logs / name, flaky)
            inst.port = await self._listen(make_app(inst), port)
            setattr(self, f"{name}_port", inst.port)
            if name == "production":
                self.tasks.append(asyncio.create_task(background_traffic(inst, self.stop_event)))
        crt, key = self_signed(self.folder)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(crt, key)
        tls_inst = Instance("tls", self.tls_port, logs / "staging", False)
        self.tls_port = tls_inst.port = await self._listen(make_app(tls_inst), self.tls_port, ctx)
        receiver = make_alert_receiver(self.folder / "alerts.jsonl")
        self.alerts_port = await self._listen(receiver, self.alerts_port)
        plant_insecure_files(self.folder)

    async def _listen(
        self, app: web.Application, port: int, ctx: ssl.SSLContext | None = None
    ) -> int:
        """Serve ``app`` on 127.0.0.1:``port``; returns the port it listens on."""
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self.runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ctx).start()
        return int(runner.addresses[0][1])

    async def stop(self) -> None:
        self.stop_event.set()
        for task in self.tasks:
            await task
        for runner in self.runners:
            await runner.cleanup()


def shield_yaml(platform: Platform, storage: str) -> str:
    """The demo's config: checks for both instances, the logs, the audit and a chaos proxy."""
    return f"""# prodshield demo: generated by `prodshield demo`.
storage: "{storage}"
defaults: {{interval: 10s, timeout: 3s, failure_threshold: 3, success_threshold: 2}}
environments:
  production: {{vars: {{base_url: "http://127.0.0.1:{platform.production_port}"}}}}
  staging: {{vars: {{base_url: "http://127.0.0.1:{platform.staging_port}"}}}}
checks:
  - name: health
    type: http
    url: "{{base_url}}/health"
    environments: [production, staging]
    conditions: ["[STATUS] == 200", "[BODY].status == UP", "[RESPONSE_TIME] < 500"]
  - name: orders
    type: http
    url: "{{base_url}}/api/orders"
    environments: [production, staging]
    conditions: ["[STATUS] == 200", "[RESPONSE_TIME] < 800"]
notifiers:
  team-chat: {{type: webhook, url: "http://127.0.0.1:{platform.alerts_port}/alerts"}}
logs:
  sources:
    - {{name: production-access, path: "{platform.folder}/logs/production/access.log", format: nginx, environment: production}}
    - {{name: production-app, path: "{platform.folder}/logs/production/app.log", environment: production}}
    - {{name: production-db, path: "{platform.folder}/logs/production/postgresql.log", format: postgres, environment: production}}
audit:
  paths: ["{platform.folder}/app"]
  tls: [{{host: 127.0.0.1, port: {platform.tls_port}, servername: localhost}}]
chaos:
  proxies: []
serve:
  host: 127.0.0.1
  port: 0
  title: "prodshield demo"
"""
