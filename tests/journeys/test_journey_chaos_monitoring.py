"""Journey: chaos joined to the monitoring, with real parts. A real HTTP server on loopback sits
behind `prodshield chaos proxy` (a subprocess); shield.yaml's checks go through the proxy.

1. An incident that opens while `chaos run -c shield.yaml` injects a 503 toxic is annotated: its
   GitHub issue (the stand-in) says which experiment was running, since when, and which toxic on
   which proxy, in front of which of the service's dependencies. No silence: the issue is opened.
2. `--abort-on-check api` aborts the method as soon as the check fails mid-experiment (a 60 s
   pause cut short), the rollback removes the toxic, the run exits 5 and says why.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from support.cli import prodshield, shell_env
from support.net import free_port, wait_until
from support.serve import read_proxy_ports
from support.standins.github import GitHubStandin

GH_TOKEN = "gh-chaos-journey-0123456789"
REPO = "acme/shop"


class _Pages(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = f"ok {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


def _api(port: int, method: str, path: str) -> Any:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
    return json.loads(raw) if raw.strip() else None


def _wait(predicate: Any, what: str, timeout: float = 60.0) -> Any:
    return wait_until(predicate, what, timeout, interval=0.1)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The real upstream, the chaos proxy in front of it (proxy ``web``) and its API port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    upstream = f"127.0.0.1:{server.server_address[1]}"
    proxies = tmp_path / "proxies.json"
    proxies.write_text(json.dumps([{"name": "web", "listen": "127.0.0.1:0", "upstream": upstream}]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "prodshield", "chaos", "proxy", "--port", "0",
         "--config", str(proxies)],
        cwd=tmp_path, env=shell_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:  # both on port 0: the ports come from what it prints once they listen
        api_port, ports, _ = read_proxy_ports(proc, ("web",))
        listen = f"127.0.0.1:{ports['web']}"
        _wait(lambda: _api(api_port, "GET", "/proxies"), "the proxy API")
        yield {"api": f"http://127.0.0.1:{api_port}", "port": api_port, "listen": listen,
               "upstream": upstream}  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(10)
        server.shutdown()
        server.server_close()


def _shield(tmp_path: Path, site: dict[str, Any], gh_url: str = "") -> Path:
    notifier = (
        f'notifiers:\n  gh: {{type: github, repo: {REPO}, token: "{GH_TOKEN}", '
        f'api_url: "{gh_url}"}}\n'
        if gh_url
        else ""
    )
    cfg = tmp_path / "shield.yaml"
    cfg.write_text(
        f"""
storage: "sqlite:///{tmp_path / "state.db"}"
defaults: {{timeout: 5s, failure_threshold: 1}}
{notifier}checks:
  - name: backend
    type: http
    url: "http://{site["listen"]}/backend/health"
    conditions: ["[STATUS] == 200"]
  - name: api
    type: http
    url: "http://{site["listen"]}/api/health"
    depends_on: [backend]
    conditions: ["[STATUS] == 200"]
chaos:
  proxies:
    - {{name: web, listen: "{site["listen"]}", upstream: "{site["upstream"]}"}}
"""
    )
    return cfg


def _toxic(api: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "toxic", "api": api, "func": func, "arguments": arguments}


def _cli(cwd: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, timeout=timeout)


def test_an_incident_opened_during_a_run_names_the_experiment_and_its_toxic(
    tmp_path: Path, site: dict[str, Any]
) -> None:
    with GitHubStandin.in_thread(tokens=(GH_TOKEN,)) as gh:
        gh.repo(REPO)
        cfg = _shield(tmp_path, site, gh.url)
        experiment = tmp_path / "api-503.json"
        experiment.write_text(
            json.dumps(
                {
                    "title": "api under 503s",
                    "description": "the monitoring runs while the toxic is on",
                    "method": [
                        {
                            "type": "action",
                            "name": "api-answers-503",
                            "provider": _toxic(
                                site["api"],
                                "add_toxic",
                                proxy="web",
                                type="http_status",
                                name="api-503",
                                attributes={"status": 503, "path": "/api/"},
                            ),
                        },
                        {
                            "type": "action",
                            "name": "the-monitor-runs",
                            "provider": {
                                "type": "process",
                                "path": sys.executable,
                                "arguments": [
                                    "-m",
                                    "prodshield",
                                    "monitor",
                                    "once",
                                    "-c",
                                    str(cfg),
                                ],
                            },
                        },
                    ],
                    "rollbacks": [
                        {
                            "type": "action",
                            "name": "remove-503",
                            "provider": _toxic(
                                site["api"], "remove_toxic", proxy="web", name="api-503"
                            ),
                        }
                    ],
                }
            )
        )
        ran = _cli(tmp_path, "chaos", "run", str(experiment), "-c", str(cfg))
        assert ran.returncode == 0, ran.stderr
        journal = json.loads((tmp_path / "journal.json").read_text())
        monitor = journal["run"][1]["output"]
        assert monitor["status"] == 1, monitor  # the api check failed: an incident opened
        assert _api(site["port"], "GET", "/proxies/web/toxics") == []  # rolled back

        issues = _wait(lambda: gh.issues(REPO), f"the GitHub issue: {monitor}", 20)
        assert len(issues) == 1 and "api" in issues[0]["title"]
        body = issues[0]["body"]
        assert "chaos experiment 'api under 503s' was running (started" in body, body
        assert "http_status {status: 503, path: /api/} on proxy web" in body, body
        assert "in front of api's dependency backend" in body, body

    with sqlite3.connect(tmp_path / "state.db") as db:
        rows = db.execute("SELECT status, ended_at FROM experiment_journals").fetchall()
        (incident,) = db.execute("SELECT status FROM incidents").fetchall()
    assert len(rows) == 1 and rows[0][0] == "completed" and rows[0][1] is not None
    assert incident == ("open",)  # an annotation, not a silence


def test_a_failing_check_aborts_the_method_and_rolls_back(
    tmp_path: Path, site: dict[str, Any]
) -> None:
    cfg = _shield(tmp_path, site)
    experiment = tmp_path / "slow.json"
    experiment.write_text(
        json.dumps(
            {
                "title": "a long 503 on the api",
                "description": "a 60 s fault that the guardrail must cut short",
                "method": [
                    {
                        "type": "action",
                        "name": "api-answers-503",
                        "provider": _toxic(
                            site["api"],
                            "add_toxic",
                            proxy="web",
                            type="http_status",
                            name="api-503",
                            attributes={"status": 503, "path": "/api/"},
                        ),
                        "pauses": {"after": 60},
                    },
                    {
                        "type": "action",
                        "name": "never-reached",
                        "provider": {
                            "type": "process",
                            "path": "touch",
                            "arguments": [str(tmp_path / "reached")],
                        },
                    },
                ],
                "rollbacks": [
                    {
                        "type": "action",
                        "name": "remove-503",
                        "provider": _toxic(
                            site["api"], "remove_toxic", proxy="web", name="api-503"
                        ),
                    }
                ],
            }
        )
    )
    started = time.monotonic()
    ran = _cli(
        tmp_path, "chaos", "run", str(experiment), "-c", str(cfg),
        "--abort-on-check", "api", "--guard-frequency", "0.5",
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert ran.returncode == 5, ran.stderr
    assert elapsed < 50, elapsed  # the 60 s pause was cut short
    assert "aborted: guardrail check api failed during the method" in ran.stdout
    assert "1 rollbacks played" in ran.stdout
    assert "Traceback" not in ran.stderr
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "aborted"
    assert journal["aborted_by"]["check"] == "api" and "503" in journal["aborted_by"]["detail"]
    assert [r["activity"]["name"] for r in journal["run"]] == ["api-answers-503"]
    assert not (tmp_path / "reached").exists()
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert _api(site["port"], "GET", "/proxies/web/toxics") == []
    with urllib.request.urlopen(f"http://{site['listen']}/api/health", timeout=10) as resp:
        assert resp.status == 200  # the service is whole again

    # the same run without a shield.yaml to take the check from is refused before it starts
    elsewhere = tmp_path / "elsewhere"  # no ./shield.yaml there
    elsewhere.mkdir()
    bare = _cli(elsewhere, "chaos", "run", str(experiment), "--abort-on-check", "api")
    assert bare.returncode == 2 and "--abort-on-check needs --config" in bare.stderr
    # a typo in the guardrail's name is refused before anything runs, not a method unguarded
    typo = _cli(
        tmp_path, "chaos", "run", str(experiment), "-c", str(cfg), "--abort-on-check", "apu"
    )
    assert typo.returncode == 2, typo.stdout
    assert "error: --abort-on-check apu: no check named 'apu'" in typo.stderr
    assert "Running experiment" not in typo.stdout + typo.stderr


def test_a_toxic_added_by_hand_on_a_dependency_is_named_on_the_incident(tmp_path: Path) -> None:
    """No experiment at all: `chaos proxy -c shield.yaml` records its active toxics in the store;
    one added through the Toxiproxy API (as toxiproxy-cli would) in front of the api's
    dependency is on the incident that opens meanwhile, and gone once the proxy has stopped."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream = f"127.0.0.1:{server.server_address[1]}"
    api_port, listen = free_port(), f"127.0.0.1:{free_port()}"
    cfg = _shield(tmp_path, {"listen": listen, "upstream": upstream})
    cfg.write_text(cfg.read_text() + f"  api: {{host: 127.0.0.1, port: {api_port}}}\n")
    proxy = subprocess.Popen(
        [sys.executable, "-m", "prodshield", "chaos", "proxy", "-c", str(cfg)],
        cwd=tmp_path, env=shell_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait(lambda: _api(api_port, "GET", "/proxies"), "the proxy API")
        body = json.dumps(
            {
                "type": "http_status",
                "name": "by-hand",
                "attributes": {"status": 502, "path": "/api/"},
            }
        ).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{api_port}/proxies/web/toxics", data=body, method="POST"
        )
        urllib.request.urlopen(req, timeout=10).close()

        def recorded() -> bool:
            if not (tmp_path / "state.db").exists():
                return False
            try:
                with sqlite3.connect(tmp_path / "state.db") as db:
                    rows = db.execute("SELECT value FROM kv WHERE namespace = 'chaos'").fetchall()
            except sqlite3.OperationalError:  # the store is being created
                return False
            return any("by-hand" in str(v) for (v,) in rows)

        _wait(recorded, "the toxic recorded in the store")
        once = _cli(tmp_path, "monitor", "once", "-c", str(cfg))
        assert once.returncode == 1, once.stdout + once.stderr  # api fails: an incident opens
        with sqlite3.connect(tmp_path / "state.db") as db:
            summaries = [s for (s,) in db.execute("SELECT summary FROM incident_evidence")]
        assert any(
            "toxic http_status {status: 502, path: /api/} on proxy web in front of api's "
            "dependency backend active since" in s
            for s in summaries
        ), summaries
    finally:
        proxy.terminate()
        proxy.wait(15)
        server.shutdown()
        server.server_close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        (value,) = db.execute("SELECT value FROM kv WHERE namespace = 'chaos'").fetchone()
    assert json.loads(value)["proxies"] == []  # stopped: nothing active any more
