"""Real Toxiproxy clients, unmodified, against the proxy: toxiproxy-python and chaostoolkit-toxiproxy
(run through chaostoolkit-lib's experiment runner)."""

from __future__ import annotations

from typing import Any

import pytest

from support.chaos_proxy import ProxyThread, Upstreams, connect, recv_exact

EVERY_TOXIC: list[dict[str, Any]] = [
    {"type": "latency", "attributes": {"latency": 20, "jitter": 2}},
    {"type": "bandwidth", "attributes": {"rate": 100}},
    {"type": "slow_close", "attributes": {"delay": 10}},
    {"type": "timeout", "attributes": {"timeout": 500}},
    {"type": "reset_peer", "stream": "upstream", "attributes": {"timeout": 500}},
    {"type": "slicer", "attributes": {"average_size": 10, "size_variation": 5, "delay": 10}},
    {"type": "limit_data", "stream": "upstream", "attributes": {"bytes": 1000}},
    {"type": "packet_loss", "stream": "upstream", "attributes": {"loss_rate": 0.1}},
]


def test_toxiproxy_python(api: ProxyThread, upstreams: Upstreams) -> None:
    from toxiproxy import Toxiproxy
    from toxiproxy.exceptions import NotFound, ProxyExists

    echo = upstreams.tcp()
    server = Toxiproxy()
    server.update_api_consumer("127.0.0.1", api.port)
    assert server.running()
    assert server.version().startswith(b'{"version": "2.')

    proxy = server.create(upstream=echo, name="echo")
    host, port = proxy.listen.rsplit(":", 1)
    assert int(port) > 0 and proxy.enabled
    with pytest.raises(ProxyExists):
        server.create(upstream=echo, name="echo")
    assert set(server.proxies()) == {"echo"}

    for spec in EVERY_TOXIC:
        proxy.add_toxic(**spec)
    toxics = proxy.toxics()
    assert len(toxics) == len(EVERY_TOXIC)
    assert toxics["latency_downstream"].attributes == {"latency": 20, "jitter": 2}
    assert toxics["limit_data_upstream"].attributes == {"bytes": 1000}
    assert proxy.get_toxic("slicer_downstream").attributes["average_size"] == 10
    for name in list(toxics):
        assert proxy.destroy_toxic(name)
    assert proxy.toxics() == {}

    proxy.add_toxic(type="latency", attributes={"latency": 1})
    with proxy.down():
        assert server.get_proxy("echo").enabled is False
        with pytest.raises(OSError):
            connect((host, int(port)), timeout=1).__enter__()
    assert server.get_proxy("echo").enabled is True
    with connect((host, int(port))) as sock:
        sock.sendall(b"hi")
        assert recv_exact(sock, 2) == b"hi"

    assert server.reset()
    assert proxy.toxics() == {}

    populated = server.populate([{"name": "second", "upstream": echo, "listen": "127.0.0.1:0"}])
    assert [p.name for p in populated] == ["second"]
    assert set(server.proxies()) == {"echo", "second"}
    with pytest.raises(NotFound):
        server.get_proxy("second").destroy_toxic("nope")
    server.destroy_all()
    assert server.proxies() == {}


def _activity(kind: str, name: str, module: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "name": name,
        "provider": {"type": "python", "module": module, "func": func, "arguments": arguments},
    }


def test_chaostoolkit_toxiproxy_experiment(api: ProxyThread, upstreams: Upstreams) -> None:
    from chaoslib.experiment import run_experiment

    echo_host, echo_port = upstreams.tcp().rsplit(":", 1)
    actions = "chaostoxi.proxy.actions"
    toxic_actions = "chaostoxi.toxic.actions"
    probes = "chaostoxi.proxy.probes"
    method = [
        _activity(
            "action",
            "create",
            actions,
            "create_proxy",
            proxy_name="ctk",
            upstream_host=echo_host,
            upstream_port=int(echo_port),
            listen_host="127.0.0.1",
        ),
        _activity("probe", "exists", probes, "proxy_exist", proxy_name="ctk"),
        _activity(
            "action",
            "latency",
            toxic_actions,
            "create_latency_toxic",
            for_proxy="ctk",
            toxic_name="lat",
            latency=10,
            jitter=1,
        ),
        _activity(
            "action",
            "bandwidth",
            toxic_actions,
            "create_bandwith_degradation_toxic",
            for_proxy="ctk",
            toxic_name="bw",
            rate=100,
        ),
        _activity(
            "action",
            "slow_close",
            toxic_actions,
            "create_slow_connection_close_toxic",
            for_proxy="ctk",
            toxic_name="sc",
            delay=10,
        ),
        _activity(
            "action",
            "timeout",
            toxic_actions,
            "create_timeout_toxic",
            for_proxy="ctk",
            toxic_name="to",
            timeout=1000,
        ),
        _activity(
            "action",
            "slicer",
            toxic_actions,
            "create_slicer_toxic",
            for_proxy="ctk",
            toxic_name="sl",
            average_size=10,
            size_variation=2,
            delay=5,
        ),
        _activity(
            "action",
            "limiter",
            toxic_actions,
            "create_limiter_toxic",
            for_proxy="ctk",
            toxic_name="lim",
            bytes_limit=100,
        ),
        _activity(
            "action",
            "reset_peer",
            toxic_actions,
            "create_toxic",
            for_proxy="ctk",
            toxic_name="rp",
            toxic_type="reset_peer",
            attributes={"timeout": 100},
        ),
        _activity(
            "action", "remove", toxic_actions, "delete_toxic", for_proxy="ctk", toxic_name="lat"
        ),
        _activity("action", "disable", actions, "disable_proxy", proxy_name="ctk"),
        _activity(
            "probe", "enabled", probes, "get_proxy_attribute", proxy_name="ctk", attribute="enabled"
        ),
        _activity("action", "enable", actions, "enable_proxy", proxy_name="ctk"),
        _activity(
            "action",
            "modify",
            actions,
            "modify_proxy",
            proxy_name="ctk",
            upstream_address=f"{echo_host}:{echo_port}",
        ),
        _activity("action", "reset", actions, "reset"),
        _activity("action", "delete", actions, "delete_proxy", proxy_name="ctk"),
        _activity("probe", "gone", probes, "proxy_exist", proxy_name="ctk"),
    ]
    experiment = {
        "version": "1.0.0",
        "title": "the proxy speaks Toxiproxy",
        "description": "chaostoolkit-toxiproxy drives the prodshield proxy",
        "configuration": {"toxiproxy_host": "127.0.0.1", "toxiproxy_port": api.port},
        "method": method,
    }
    journal = run_experiment(experiment)
    assert journal["status"] == "completed", journal
    runs = {run["activity"]["name"]: run for run in journal["run"]}
    assert all(run["status"] == "succeeded" for run in runs.values()), [
        (name, run.get("exception")) for name, run in runs.items() if run["status"] != "succeeded"
    ]
    assert runs["exists"]["output"] is True
    assert runs["latency"]["output"] is True and runs["limiter"]["output"] is True
    assert runs["enabled"]["output"] is False
    assert runs["gone"]["output"] is False
    assert api.json("GET", "/proxies") == (200, {})
