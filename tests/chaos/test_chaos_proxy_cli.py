"""``prodshield chaos proxy`` as a process (config file, shield.yaml, SIGTERM), the CLI client
commands, the toxic registry, and proxies declared in shield.yaml."""

from __future__ import annotations

import inspect
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from prodshield.chaos.proxy.model import parse_toxic
from prodshield.chaos.proxy.toxics import REGISTRY, Toxic
from prodshield.config import parse_config
from support.chaos_proxy import Upstreams, connect, recv_exact
from support.serve import read_proxy_ports

PRODSHIELD = [sys.executable, "-m", "prodshield"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "chaos-proxy.md"


def _wait_api(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the API did not come up")


class _Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``prodshield chaos ... --api URL`` in-process through the real entry point."""
    from prodshield.cli.main import main

    def run(*args: str, port: int | None = None) -> _Result:
        api = ["--api", f"http://127.0.0.1:{port}"] if port is not None else []
        monkeypatch.setattr(sys, "argv", ["prodshield", "chaos", *args, *api])
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return _Result(code, out, err)

    return run


def test_registry_members_implement_the_protocol_and_are_documented() -> None:
    doc = DOCS.read_text(encoding="utf-8")
    assert set(REGISTRY) >= {
        "latency",
        "bandwidth",
        "slow_close",
        "timeout",
        "reset_peer",
        "slicer",
        "limit_data",
        "packet_loss",
    }
    for type_name, toxic in REGISTRY.items():
        assert isinstance(toxic, Toxic)
        assert toxic.type == type_name and toxic.description and toxic.attributes
        assert parse_toxic(toxic.example).type == type_name  # the example is accepted
        assert inspect.iscoroutinefunction(toxic.pipe)
        assert f"`{type_name}`" in doc, f"{type_name} is not documented in {DOCS.name}"
        toxic.validate({a.name: a.default for a in toxic.attributes})


def test_server_process_config_file_shield_yaml_and_cli(tmp_path: Path, cli: Any) -> None:
    upstreams = Upstreams()
    try:
        echo = upstreams.tcp()
        proxies = tmp_path / "proxies.json"
        proxies.write_text(
            json.dumps(
                [
                    {
                        "name": "from_file",
                        "listen": "127.0.0.1:0",
                        "upstream": echo,
                        "toxics": [{"type": "latency", "attributes": {"latency": 30}}],
                    }
                ]
            )
        )
        shield = tmp_path / "shield.yaml"
        shield.write_text(
            "version: 1\n"
            "chaos:\n"
            "  proxies:\n"
            "    - name: from_yaml\n"
            "      listen: 127.0.0.1:0\n"
            f"      upstream: {echo}\n"
            "      toxics:\n"
            "        - type: limit_data\n"
            "          stream: downstream\n"
            "          attributes: {bytes: 3}\n"
        )
        parse_config(shield.read_text())  # the example is valid shield.yaml
        proc = subprocess.Popen(
            [
                *PRODSHIELD,
                "chaos",
                "proxy",
                "--port",
                "0",
                "--config",
                str(proxies),
                "-c",
                str(shield),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        head = ""
        try:
            api_port, ports, head = read_proxy_ports(proc, ("from_file", "from_yaml"))
            file_port, yaml_port = ports["from_file"], ports["from_yaml"]
            _wait_api(api_port, proc)
            # toxics from both files are applied
            with connect(("127.0.0.1", file_port)) as sock:
                start = time.perf_counter()
                sock.sendall(b"hello")
                assert recv_exact(sock, 5) == b"hello"
                assert time.perf_counter() - start >= 0.03
            with connect(("127.0.0.1", yaml_port)) as sock:
                sock.sendall(b"hello")
                assert recv_exact(sock, 10) == b"hel"

            listed = cli("proxy", "list", "--format", "json", port=api_port)
            assert listed.returncode == 0, listed.stderr
            names = {p["name"]: p for p in json.loads(listed.stdout)}
            assert set(names) == {"from_file", "from_yaml"}
            assert names["from_yaml"]["toxics"][0]["attributes"] == {"bytes": 3}

            added = cli(
                "toxic", "add", "from_file", "-t", "slicer", "-a", "average_size=10",
                "-a", "delay=5", "--stream", "upstream", port=api_port,
            )  # fmt: skip
            assert added.returncode == 0, added.stderr
            assert "slicer_upstream" in added.stdout
            table = cli("toxic", "list", "from_file", port=api_port)
            assert re.search(r"slicer_upstream\s.*slicer\s.*upstream", table.stdout)
            timed = cli(
                "toxic", "add", "from_file", "-t", "http_fail_first", "-a", "count=2",
                "-a", "path=/healthz", "-a", "limit_time=60000", port=api_port,
            )  # fmt: skip
            assert timed.returncode == 0, timed.stderr
            table = cli("toxic", "list", "from_file", port=api_port).stdout
            assert "method=" not in table and "path_regex=" not in table, table  # unset: unsaid
            assert "limit_time=" in table, table  # the time limit is shown
            as_json = cli("toxic", "list", "from_file", "--format", "json", port=api_port)
            [timed_toxic] = [
                t for t in json.loads(as_json.stdout) if t["type"] == "http_fail_first"
            ]
            assert timed_toxic["limit_time"] == 60000, timed_toxic
            assert timed_toxic["attributes"]["path"] == "/healthz", timed_toxic
            gone = cli("toxic", "remove", "from_file", timed_toxic["name"], port=api_port)
            assert gone.returncode == 0, gone.stderr
            removed = cli("toxic", "remove", "from_file", "slicer_upstream", port=api_port)
            assert removed.returncode == 0
            # usage mistakes exit 2 and name the valid choices
            missing = cli("toxic", "remove", "from_file", "slicer_upstream", port=api_port)
            assert missing.returncode == 2
            assert missing.stderr.strip() == (
                "error: no toxic 'slicer_upstream' on proxy 'from_file' (toxics: latency_downstream)"
            ), missing.stderr
            gone = cli("toxic", "remove", "from_file", "latency_downstream", port=api_port)
            assert gone.returncode == 0, gone.stderr
            empty = cli("toxic", "list", "from_file", port=api_port)  # newcomer trial: bare headers
            assert (empty.returncode, empty.stdout) == (0, "no toxics on from_file\n"), empty
            nowhere = cli("toxic", "add", "nope", "-t", "latency", port=api_port)
            assert nowhere.returncode == 2
            assert "no proxy 'nope' (proxies: from_file, from_yaml)" in nowhere.stderr
            unlisted = cli("toxic", "list", "nope", port=api_port)
            assert unlisted.returncode == 2 and "proxies: from_file, from_yaml" in unlisted.stderr
            wrong = cli("toxic", "add", "from_file", "-t", "latncy", port=api_port)
            assert wrong.returncode == 2
            assert "--type: 'latncy' is not one of " in wrong.stderr
            assert "latency" in wrong.stderr and "packet_loss" in wrong.stderr
            stream = cli(
                "toxic", "add", "from_file", "-t", "latency", "-s", "sideways", port=api_port
            )
            assert stream.returncode == 2 and "downstream, upstream, both" in stream.stderr
            bad = cli("toxic", "add", "from_file", "-t", "latency", "-a", "latency", port=api_port)
            assert bad.returncode == 2 and "expected key=value" in bad.stderr
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=10)
            err = head + err
        assert proc.returncode == 0, err
        assert "stopped" in err and "Traceback" not in err
        down = cli("proxy", "list", port=api_port)
        assert down.returncode != 0 and "cannot reach the proxy API" in down.stderr
    finally:
        upstreams.close()


def test_bad_config_file_is_one_line(
    tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "proxies.json"
    bad.write_text('[{"name": "x"}]')
    port = "0"  # refused before listening; were it not, on a port the system picks
    result = cli("proxy", "--port", port, "--config", str(bad), "-c", str(tmp_path / "no.yaml"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("no such config file")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PRODSHIELD_CONFIG", raising=False)
    result = cli("proxy", "--port", port, "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {bad}: missing required field: upstream at proxy 1"
    bad.write_text("{")
    result = cli("proxy", "--port", port, "--config", str(bad))
    assert result.returncode == 2 and result.stderr.startswith(f"error: {bad}: not valid JSON")


@pytest.mark.parametrize("stream", ["upstream", "downstream", "both"])
def test_shield_yaml_toxic_streams_validate(stream: str) -> None:
    text = (
        "version: 1\nchaos:\n  proxies:\n    - name: p\n      listen: 127.0.0.1:0\n"
        f"      upstream: 127.0.0.1:1\n      toxics:\n        - type: latency\n"
        f"          stream: {stream}\n          attributes: {{latency: 5}}\n"
    )
    loaded = parse_config(text)
    assert loaded.config.chaos.proxies[0].toxics[0].stream == stream


def test_toxic_add_refuses_an_attribute_the_type_lacks(cli: Any) -> None:
    """The API ignores unknown attributes (as Toxiproxy does), so a typo would add a toxic that
    injects nothing: the CLI refuses it before calling the API (nothing listens on port 1, and
    the answer is the usage error, not "cannot reach")."""
    typo = cli("toxic", "add", "web", "-t", "latency", "-a", "latencey=500", port=1)
    assert typo.returncode == 2
    assert typo.stderr == (
        "error: -a latencey: latency toxics have no attribute 'latencey' (did you mean "
        "'latency'?); they have latency, jitter, limit_time\n"
    )
    other = cli("toxic", "add", "web", "-t", "http_status", "-a", "code=503", port=1)
    assert (
        other.returncode == 2
        and "they have status, method, path, path_regex, limit_time" in other.stderr
    )
    known = cli(
        "toxic", "add", "web", "-t", "latency", "-a", "latency=5", "-a", "limit_time=9", port=1
    )
    assert known.returncode == 3 and "cannot reach the proxy API" in known.stderr
