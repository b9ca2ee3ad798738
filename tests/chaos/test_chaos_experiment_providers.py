"""Each provider against real things: processes, loopback HTTP servers, PostgreSQL, the proxy."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from prodshield.chaos.experiments import ActivityFailed, validate_experiment
from prodshield.chaos.experiments.providers import REGISTRY, ActivityContext, Provider, get_provider
from support.chaos_proxy import ProxyThread, Upstreams


def ctx(timeout: float | None = None) -> ActivityContext:
    return ActivityContext("t", "probe", timeout=timeout)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_registry_members_implement_the_protocol(kind: str) -> None:
    provider = get_provider(kind)
    assert isinstance(provider, Provider)
    assert provider.type == kind
    assert provider.example["type"] == kind
    assert provider.validate(provider.example) == []
    assert provider.validate({"type": kind}) != []  # an empty block is never enough
    # the example validates inside a whole experiment too
    validate_experiment(
        {
            "title": "t",
            "description": "d",
            "method": [{"type": "action", "name": "a", "provider": dict(provider.example)}],
        }
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        status = 500 if self.path.startswith("/fail") else 200
        body = b'{"state": "up"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        self.send_response(201)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_provider(http_base: str) -> None:
    http = get_provider("http")
    out = http.run({"type": "http", "url": f"{http_base}/health"}, ctx())
    assert out["status"] == 200 and out["body"] == {"state": "up"}
    assert http.run({"type": "http", "url": f"{http_base}/fail"}, ctx())["status"] == 500
    posted = http.run(
        {
            "type": "http",
            "url": f"{http_base}/echo",
            "method": "POST",
            "headers": {"Content-Type": "application/json"},
            "arguments": {"a": 1},
        },
        ctx(),
    )
    assert posted["status"] == 201 and posted["body"] == '{"a": 1}'
    with pytest.raises(ActivityFailed, match="timeout"):
        http.run({"type": "http", "url": f"{http_base}/slow", "timeout": 0.2}, ctx())
    with pytest.raises(ActivityFailed, match="failed to connect"):
        http.run({"type": "http", "url": "http://127.0.0.1:9/", "timeout": 2}, ctx())


def test_process_provider_forms_and_timeout() -> None:
    process = get_provider("process")
    out = process.run({"type": "process", "path": "echo", "arguments": "a b"}, ctx())
    assert out == {"status": 0, "stdout": "a b\n", "stderr": ""}
    out = process.run({"type": "process", "path": "printf", "arguments": {"%s-": "x"}}, ctx())
    assert out["stdout"] == "x-"
    assert process.run({"type": "process", "path": "false"}, ctx())["status"] == 1
    with pytest.raises(ActivityFailed, match="longer than"):
        process.run({"type": "process", "path": "sleep", "arguments": ["5"]}, ctx(timeout=0.2))
    assert process.validate({"type": "process", "path": "no-such-binary-xyz"}) == [
        "executable 'no-such-binary-xyz' cannot be found"
    ]


def test_python_provider_validates_signature() -> None:
    python = get_provider("python")
    assert python.validate({"module": "os.path", "func": "join", "arguments": {"a": "x"}}) == []
    problems = python.validate({"module": "os.path", "func": "exists", "arguments": {"nope": 1}})
    assert problems and "do not match" in problems[0]
    with pytest.raises(ActivityFailed, match="ZeroDivisionError"):
        python.run({"module": "support.chaos_experiments", "func": "divide_by_zero"}, ctx())


@pytest.mark.postgres
def test_sql_provider(pg_url: str) -> None:
    sql = get_provider("sql")
    assert sql.run({"dsn": pg_url, "query": "SELECT 40 + 2"}, ctx()) == 42
    sql.run({"dsn": pg_url, "query": "CREATE TABLE accounts (id int, balance numeric)"}, ctx())
    n = sql.run(
        {
            "dsn": pg_url,
            "query": "INSERT INTO accounts SELECT g, 10 FROM generate_series(1, %s) g",
            "params": [3],
        },
        ctx(),
    )
    assert n == 3
    assert sql.run({"dsn": pg_url, "query": "SELECT sum(balance) FROM accounts"}, ctx()) == 30
    rows = sql.run({"dsn": pg_url, "query": "SELECT id, balance FROM accounts ORDER BY id"}, ctx())
    assert rows == [[1, 10], [2, 10], [3, 10]]
    with pytest.raises(ActivityFailed, match=r"sql: .*nope"):
        sql.run({"dsn": pg_url, "query": "SELECT * FROM nope"}, ctx())
    with pytest.raises(ActivityFailed, match="statement timeout"):
        sql.run({"dsn": pg_url, "query": "SELECT pg_sleep(3)", "timeout": 1}, ctx())


def test_signal_provider_stops_and_continues_a_process(tmp_path: Path) -> None:
    signal = get_provider("signal")
    marker = f"ps-signal-test-{time.time_ns()}"
    proc = subprocess.Popen(["sh", "-c", f"sleep 30; echo {marker}"])
    try:
        pid_file = tmp_path / "app.pid"
        pid_file.write_text(f"{proc.pid}\n")
        out = signal.run({"signal": "SIGSTOP", "pid_file": str(pid_file)}, ctx())
        assert out == {"signal": "SIGSTOP", "pids": [proc.pid]}
        assert _state(proc.pid, "T") == "T"
        out = signal.run({"signal": "CONT", "pattern": marker}, ctx())
        assert out["pids"] == [proc.pid]
        assert _state(proc.pid, "SR") in ("S", "R")
        signal.run({"signal": "SIGTERM", "pattern": marker}, ctx())
        assert proc.wait(5) == -15
        with pytest.raises(ActivityFailed, match="found 0 processes"):
            signal.run({"signal": "SIGTERM", "pattern": marker}, ctx())
    finally:
        proc.kill()
        proc.wait(5)


def _state(pid: int, wanted: str) -> str:
    """The process state once it is one of ``wanted`` (or the last seen after 15 s: a bound for a
    loaded machine, not a timing)."""
    deadline = time.monotonic() + 15
    state = "?"
    while time.monotonic() < deadline:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in wanted:
            return state
        time.sleep(0.02)
    return state


def test_load_provider_measures_success_and_latency(http_base: str) -> None:
    load = get_provider("load")
    out = load.run({"url": f"{http_base}/health", "requests": 40, "rate": 200}, ctx())
    assert out["requests"] == 40 and out["succeeded"] == 40 and out["success_ratio"] == 1.0
    assert 0 < out["latency_ms"]["p50"] <= out["latency_ms"]["p99"] <= out["latency_ms"]["max"]
    assert out["duration_s"] >= 39 / 200  # the rate was respected
    failing = load.run({"url": f"{http_base}/fail", "requests": 10}, ctx())
    assert failing["success_ratio"] == 0.0 and failing["errors"] == {"http_500": 10}
    down = load.run({"url": "http://127.0.0.1:9/", "requests": 5, "timeout": 2}, ctx())
    assert down["succeeded"] == 0 and sum(down["errors"].values()) == 5


def test_toxic_provider_against_the_proxy(api: ProxyThread, upstreams: Upstreams) -> None:
    proxy = api
    upstream = upstreams.tcp()
    proxy.create("svc", upstream)
    toxic = get_provider("toxic")
    base = {"type": "toxic", "api": proxy.url}
    added = toxic.run(
        {
            **base,
            "func": "add_toxic",
            "arguments": {
                "proxy": "svc",
                "type": "latency",
                "name": "slow",
                "attributes": {"latency": 100},
            },
        },
        ctx(),
    )
    assert added["name"] == "slow" and added["attributes"]["latency"] == 100
    toxic.run(
        {
            **base,
            "func": "update_toxic",
            "arguments": {"proxy": "svc", "name": "slow", "attributes": {"latency": 5}},
        },
        ctx(),
    )
    listed = toxic.run({**base, "func": "list_toxics", "arguments": {"proxy": "svc"}}, ctx())
    assert [t["attributes"]["latency"] for t in listed] == [5]
    disabled = toxic.run({**base, "func": "disable_proxy", "arguments": {"proxy": "svc"}}, ctx())
    assert disabled["enabled"] is False
    toxic.run({**base, "func": "enable_proxy", "arguments": {"proxy": "svc"}}, ctx())
    before = toxic.run({**base, "func": "connections", "arguments": {"proxy": "svc"}}, ctx())
    info = toxic.run({**base, "func": "get_proxy", "arguments": {"proxy": "svc"}}, ctx())
    host, _, port = info["listen"].rpartition(":")
    import socket

    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"ping")
        assert s.recv(4) == b"ping"
    after = toxic.run({**base, "func": "connections", "arguments": {"proxy": "svc"}}, ctx())
    assert after == before + 1
    removed = {**base, "func": "remove_toxic", "arguments": {"proxy": "svc", "name": "slow"}}
    assert toxic.run(removed, ctx()) == {"removed": True}
    assert toxic.run(removed, ctx()) == {"removed": False}  # rollbacks may run twice
    with pytest.raises(ActivityFailed, match="add_toxic"):
        toxic.run(
            {**base, "func": "add_toxic", "arguments": {"proxy": "nope", "type": "latency"}},
            ctx(),
        )
        proxy.close()


def test_a_missing_extension_module_says_what_to_install() -> None:
    from prodshield.chaos.experiments.providers.python import PythonProvider, import_hint

    problems = PythonProvider().validate(
        {"type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods"}
    )
    assert problems == [
        "cannot import python module 'chaosk8s.pod.actions': No module named 'chaosk8s' "
        "(a Chaos Toolkit extension: pip install chaostoolkit-kubernetes in prodshield's "
        "environment)"
    ]
    toxi = import_hint("chaostoxi.toxic.actions", ModuleNotFoundError(name="chaostoxi"))
    assert "pip install chaostoolkit-toxiproxy" in toxi and "type: toxic" in toxi
    other = import_hint("acme.chaos", ModuleNotFoundError(name="acme"))
    assert other == "install the package that provides 'acme' in prodshield's environment"
