"""Journey (newcomer trial 6, items 1, 2 and 7): chaos evidence goes only to the incidents it can
explain, says what it is, and reads the same everywhere once the run has ended.

A real HTTP server on loopback, `prodshield chaos proxy -c shield.yaml` (a subprocess) with the
proxy ``web`` in front of it, `monitor once` and `chaos run` as a user runs them.

1. A check named ``web`` that reaches the upstream directly is not on proxy ``web``'s path (the
   same name is not enough): its incident gets no toxic; a check that goes through the proxy's
   listen address does, titled "Chaos toxic" in the notification (no experiment ran).
2. An experiment on proxy ``web`` that starts after incidents were detected is evidence of none:
   neither of a check on the proxy's path failing for its own reason, nor of a TLS certificate
   close to expiry reached directly; and a certificate close to expiry reached through a proxy
   with a latency toxic on it gets no toxic either (no toxic explains an expiry date).
3. An incident opened while a run injects a toxic on its path says `was running`; once the run
   has ended, `incident show` (and the API, the same read model) say `ran (completed)` with
   ``running: false``.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from support.certs import make_pki
from support.cli import prodshield, shell_env, wide_env
from support.net import free_port, http_server, refused_port, wait_until


class _Pages(BaseHTTPRequestHandler):
    """200 everywhere but under /down (503)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status = 503 if self.path.startswith("/down") else 200
        body = f"{status} {self.path}".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _tls_listener(cert: Path, key: Path) -> tuple[int, threading.Event]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            try:
                conn.settimeout(5)
                with ctx.wrap_socket(conn, server_side=True):
                    pass
            except OSError:
                conn.close()
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return int(sock.getsockname()[1]), stop


def _api(port: int, method: str, path: str) -> Any:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw.strip() else None


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The upstream, a TLS server with a certificate expiring in 10 days, and the ports the chaos
    proxy will use (API, ``web`` and ``tls`` listen addresses)."""
    pki = make_pki(tmp_path)
    cert, key = pki.issue("site", days=10)
    tls, stop = _tls_listener(cert, key)
    with http_server(_Pages) as web:
        yield {
            "upstream": f"127.0.0.1:{web}",
            "tls": tls,
            "ca": str(pki.ca_file),
            "api": free_port(),
            "web": f"127.0.0.1:{free_port()}",
            "tls_listen": free_port(),
        }
    stop.set()


def _shield(tmp_path: Path, site: dict[str, Any], checks: str) -> Path:
    cfg = tmp_path / "shield.yaml"
    cfg.write_text(
        f"""
storage: "sqlite:///{tmp_path / "state.db"}"
defaults: {{timeout: 5s, failure_threshold: 1}}
notifiers:
  hook: {{type: webhook, url: "http://127.0.0.1:{refused_port()}/hook"}}
checks:
{checks}
chaos:
  api: {{host: 127.0.0.1, port: {site["api"]}}}
  proxies:
    - {{name: web, listen: "{site["web"]}", upstream: "{site["upstream"]}"}}
    - {{name: tls, listen: "127.0.0.1:{site["tls_listen"]}", upstream: "127.0.0.1:{site["tls"]}"}}
"""
    )
    return cfg


@pytest.fixture
def proxy_of(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(cfg: Path, api: int) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prodshield", "chaos", "proxy", "-c", str(cfg)],
            cwd=tmp_path, env=shell_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        procs.append(proc)
        wait_until(lambda: _api(api, "GET", "/proxies"), "the proxy API", 60.0, interval=0.1)

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(15)


def _recorded(db: Path, toxic: str) -> bool:
    if not db.exists():
        return False
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT value FROM kv WHERE namespace = 'chaos'").fetchall()
    except sqlite3.OperationalError:  # the store is being created
        return False
    return any(toxic in str(v) for (v,) in rows)


def _evidence(db: Path) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Each incident's check and its evidence (kind chaos), as (summary, details)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT i.check_name, e.summary, e.details FROM incidents i "
            "LEFT JOIN incident_evidence e ON e.incident_id = i.id AND e.kind = 'chaos'"
        ).fetchall()
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for check, summary, details in rows:
        out.setdefault(check, [])
        if summary is not None:
            out[check].append((summary, json.loads(details or "{}")))
    return out


def _bodies(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT payload FROM outbox ORDER BY id").fetchall()
    return [str(json.loads(p).get("body") or "") for (p,) in rows]


def test_a_toxic_goes_to_checks_through_the_proxy_not_to_one_named_like_it(
    tmp_path: Path, site: dict[str, Any], proxy_of: Any
) -> None:
    cfg = _shield(
        tmp_path,
        site,
        f"""  - {{name: web, type: http, url: "http://{site["upstream"]}/down/health"}}
  - {{name: shop, type: http, url: "http://{site["web"]}/shop", conditions: ["[RESPONSE_TIME] < 300"]}}
""",
    )
    proxy_of(cfg, site["api"])
    added = prodshield(
        tmp_path, "chaos", "toxic", "add", "web", "-t", "latency", "-a", "latency=400",
        "--api", f"http://127.0.0.1:{site['api']}",
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    db = tmp_path / "state.db"
    wait_until(lambda: _recorded(db, "latency"), "the toxic recorded", 60.0, interval=0.1)

    once = prodshield(tmp_path, "monitor", "once", "-c", str(cfg), env=wide_env())
    assert once.returncode == 1, once.stdout + once.stderr
    found = _evidence(db)
    assert sorted(found) == ["shop", "web"], found
    assert found["web"] == [], found  # direct to the upstream: the proxy's name is not a path
    [(summary, details)] = found["shop"]
    assert summary.startswith("toxic latency {latency: 400, jitter: 0} on proxy web on shop's path")
    assert details["toxic"] and details["proxy"] == "web"
    bodies = _bodies(db)
    shop = next(b for b in bodies if "shop's path" in b)
    assert "**Chaos toxic**" in shop and "Chaos experiment" not in shop, shop
    assert not any("proxy web" in b for b in bodies if b is not shop)


def _experiment(tmp_path: Path, site: dict[str, Any], cfg: Path, title: str) -> Path:
    api = f"http://127.0.0.1:{site['api']}"
    path = tmp_path / "latency.json"
    path.write_text(
        json.dumps(
            {
                "title": title,
                "description": "latency on proxy web while the monitor runs",
                "method": [
                    {
                        "type": "action",
                        "name": "slow-web",
                        "provider": {
                            "type": "toxic", "api": api, "func": "add_toxic",
                            "arguments": {"proxy": "web", "type": "latency", "name": "slow",
                                          "attributes": {"latency": 400}},
                        },
                    },
                    {
                        "type": "action",
                        "name": "the-monitor-runs",
                        "provider": {
                            "type": "process", "path": sys.executable,
                            "arguments": ["-m", "prodshield", "monitor", "once", "-c", str(cfg)],
                        },
                    },
                ],
                "rollbacks": [
                    {
                        "type": "action",
                        "name": "remove-slow",
                        "provider": {
                            "type": "toxic", "api": api, "func": "remove_toxic",
                            "arguments": {"proxy": "web", "name": "slow"},
                        },
                    }
                ],
            }
        )
    )  # fmt: skip
    return path


def test_an_experiment_is_evidence_only_of_what_it_could_have_caused(
    tmp_path: Path, site: dict[str, Any], proxy_of: Any
) -> None:
    cert_condition = '["[CERTIFICATE_EXPIRATION] > 14d"]'
    cfg = _shield(
        tmp_path,
        site,
        f"""  - {{name: api, type: http, url: "http://{site["web"]}/down/api"}}
  - {{name: tls-local, type: tls, host: 127.0.0.1, port: {site["tls"]}, ca_file: "{site["ca"]}", conditions: {cert_condition}}}
  - {{name: tls-proxied, type: tls, host: 127.0.0.1, port: {site["tls_listen"]}, ca_file: "{site["ca"]}", conditions: {cert_condition}}}
""",
    )
    proxy_of(cfg, site["api"])
    db = tmp_path / "state.db"
    # a latency toxic on the tls proxy, on tls-proxied's path before it fails
    added = prodshield(
        tmp_path, "chaos", "toxic", "add", "tls", "-t", "latency", "-a", "latency=50",
        "--api", f"http://127.0.0.1:{site['api']}",
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    wait_until(lambda: _recorded(db, "latency"), "the toxic recorded", 60.0, interval=0.1)
    once = prodshield(tmp_path, "monitor", "once", "-c", str(cfg), env=wide_env())
    assert once.returncode == 1, once.stdout + once.stderr
    assert sorted(_evidence(db)) == ["api", "tls-local", "tls-proxied"], once.stdout

    # then, incidents open (so --force), an experiment slows proxy web and the monitor runs
    ran = prodshield(
        tmp_path, "chaos", "run", str(_experiment(tmp_path, site, cfg, "web keeps green")),
        "-c", str(cfg), "--force", timeout=180,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    found = _evidence(db)
    assert found == {"api": [], "tls-local": [], "tls-proxied": []}, found
    assert not any("chaos" in b.lower() or "toxic" in b for b in _bodies(db)), _bodies(db)


def test_a_run_that_ended_reads_ran_everywhere(
    tmp_path: Path, site: dict[str, Any], proxy_of: Any
) -> None:
    cfg = _shield(
        tmp_path,
        site,
        f"""  - {{name: shop, type: http, url: "http://{site["web"]}/shop", conditions: ["[RESPONSE_TIME] < 300"]}}
""",
    )
    proxy_of(cfg, site["api"])
    ran = prodshield(
        tmp_path, "chaos", "run", str(_experiment(tmp_path, site, cfg, "shop stays fast")),
        "-c", str(cfg), timeout=180,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    db = tmp_path / "state.db"
    # told while the run ran: the notification says so
    [opened] = [b for b in _bodies(db) if "shop stays fast" in b]
    assert "**Chaos experiment**" in opened and "'shop stays fast' was running (started" in opened

    shown = prodshield(tmp_path, "incident", "show", "1", "--json", "-c", str(cfg))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    evidence = json.loads(shown.stdout)["evidence"]
    [item] = [e for e in evidence if e["kind"] == "chaos" and "run" in e["details"]]
    assert item["details"]["status"] == "completed" and item["details"]["running"] is False, item
    assert "'shop stays fast' ran (completed) (started" in item["summary"], item
    assert ", ended " in item["summary"] and "was running" not in item["summary"]
    text = prodshield(tmp_path, "incident", "show", "1", "-c", str(cfg), env=wide_env())
    assert "ran (completed)" in text.stdout and "was running" not in text.stdout, text.stdout

    # the next result of the still open incident brings the stored row up to date too
    again = prodshield(tmp_path, "monitor", "once", "-c", str(cfg), env=wide_env())
    assert again.returncode in (0, 1), again.stdout + again.stderr
    [(summary, details)] = [x for x in _evidence(db)["shop"] if "run" in x[1]]
    assert "ran (completed)" in summary and details["running"] is False, summary
