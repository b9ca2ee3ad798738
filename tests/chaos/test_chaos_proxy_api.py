"""The Toxiproxy v2 REST API, exactly: paths, status codes, JSON shapes, defaults and errors."""

from __future__ import annotations

import socket

import pytest

from support.chaos_proxy import ProxyThread, Upstreams, connect, recv_exact


def test_create_show_list_delete_proxy(api: ProxyThread, upstreams: Upstreams) -> None:
    echo = upstreams.tcp()
    status, data = api.json(
        "POST", "/proxies", {"name": "echo", "upstream": echo, "listen": "127.0.0.1:0"}
    )
    assert status == 201
    assert list(data) == ["name", "listen", "upstream", "enabled", "toxics"]
    assert data["name"] == "echo" and data["upstream"] == echo and data["enabled"] is True
    assert data["toxics"] == []
    host, port = data["listen"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0  # port 0 picked a free port and reports it

    with connect((host, int(port))) as sock:
        sock.sendall(b"ping")
        assert recv_exact(sock, 4) == b"ping"

    assert api.json("GET", "/proxies") == (200, {"echo": data})
    assert api.json("GET", "/proxies/echo") == (200, data)
    status, _headers, body = api.request("DELETE", "/proxies/echo")
    assert (status, body) == (204, b"")
    assert api.json("GET", "/proxies/echo") == (404, {"error": "proxy not found", "status": 404})
    assert api.json("DELETE", "/proxies/echo")[0] == 404
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=1).close()


def test_proxy_errors(api: ProxyThread) -> None:
    assert api.json("POST", "/proxies", {"upstream": "127.0.0.1:1"}) == (
        400,
        {"error": "missing required field: name", "status": 400},
    )
    assert api.json("POST", "/proxies", {"name": "x"}) == (
        400,
        {"error": "missing required field: upstream", "status": 400},
    )
    status, data = api.json("POST", "/proxies", b"{not json")
    assert status == 400 and data["error"].startswith("bad request body")
    status, data = api.json("POST", "/proxies", {"name": 5, "upstream": "127.0.0.1:1"})
    assert status == 400 and data["status"] == 400
    api.create("x", "127.0.0.1:1")
    assert api.json("POST", "/proxies", {"name": "x", "upstream": "127.0.0.1:1"}) == (
        409,
        {"error": "proxy already exists", "status": 409},
    )
    # errors are written like Go's http.Error: JSON, a newline, text/plain
    status, headers, body = api.request("GET", "/proxies/nope")
    assert body == b'{"error":"proxy not found","status":404}\n'
    assert headers["Content-Type"].startswith("text/plain")


def test_browsers_are_refused_and_unknown_paths(api: ProxyThread) -> None:
    status, _, body = api.request("GET", "/proxies", headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert (status, body) == (403, b"User agent not allowed\n")
    assert api.request("GET", "/nothing")[0] == 404
    assert api.request("PUT", "/proxies")[0] == 405


def test_version(api: ProxyThread) -> None:
    status, headers, body = api.request("GET", "/version")
    assert status == 200 and body.startswith(b'{"version": "2.')
    assert headers["Content-Type"] == "application/json;charset=utf-8"


def test_toxic_defaults_update_merge_and_delete(api: ProxyThread, upstreams: Upstreams) -> None:
    api.create("p", upstreams.tcp())
    status, toxic = api.json(
        "POST", "/proxies/p/toxics", {"type": "latency", "attributes": {"latency": 10}}
    )
    assert status == 200  # Toxiproxy answers 200, not 201, for a new toxic
    assert toxic == {
        "attributes": {"latency": 10, "jitter": 0},
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1,
    }
    assert api.json("POST", "/proxies/p/toxics", {"type": "latency"}) == (
        409,
        {"error": "toxic already exists", "status": 409},
    )
    assert api.json("POST", "/proxies/p/toxics", {"type": "nope"}) == (
        400,
        {"error": "invalid toxic type", "status": 400},
    )
    assert api.json("POST", "/proxies/p/toxics", {"type": "latency", "stream": "sideways"}) == (
        400,
        {"error": "stream was invalid, can be upstream, downstream or both", "status": 400},
    )
    status, up = api.json(
        "POST",
        "/proxies/p/toxics",
        {"type": "bandwidth", "stream": "upstream", "toxicity": 0.5, "attributes": {"rate": 9}},
    )
    assert up["name"] == "bandwidth_upstream" and up["toxicity"] == 0.5
    # attribute updates merge; name, type and stream stay
    status, updated = api.json(
        "PATCH", "/proxies/p/toxics/latency_downstream", {"attributes": {"jitter": 3}}
    )
    assert status == 200 and updated["attributes"] == {"latency": 10, "jitter": 3}
    status, updated = api.json("POST", "/proxies/p/toxics/latency_downstream", {"toxicity": 0.25})
    assert updated["toxicity"] == 0.25 and updated["attributes"] == {"latency": 10, "jitter": 3}
    assert api.json("GET", "/proxies/p/toxics/latency_downstream") == (200, updated)
    # listing: upstream toxics first, then downstream (Toxiproxy's chain order)
    status, listed = api.json("GET", "/proxies/p/toxics")
    assert [t["name"] for t in listed] == ["bandwidth_upstream", "latency_downstream"]
    assert api.json("PATCH", "/proxies/p/toxics/nope", {})[0] == 404
    assert api.json("GET", "/proxies/p/toxics/nope") == (
        404,
        {"error": "toxic not found", "status": 404},
    )
    assert api.json("GET", "/proxies/nope/toxics")[0] == 404
    status, _data = api.json(
        "POST",
        "/proxies/p/toxics",
        {"type": "latency", "name": "l2", "attributes": {"latency": 1.5}},
    )
    assert status == 400
    assert api.request("DELETE", "/proxies/p/toxics/latency_downstream")[0] == 204
    assert api.json("DELETE", "/proxies/p/toxics/latency_downstream")[0] == 404


def test_every_toxic_type_shows_its_attributes(api: ProxyThread) -> None:
    api.create("p", "127.0.0.1:1")
    expected = {
        "latency": ["latency", "jitter"],
        "bandwidth": ["rate"],
        "slow_close": ["delay"],
        "timeout": ["timeout"],
        "reset_peer": ["timeout"],
        "slicer": ["average_size", "size_variation", "delay"],
        "limit_data": ["bytes"],
        "packet_loss": ["loss_rate", "correlation"],
    }
    for type_name, attrs in expected.items():
        toxic = api.toxic("p", type=type_name)
        assert list(toxic["attributes"]) == attrs
        assert all(v == 0 for v in toxic["attributes"].values())


def test_update_proxy_disable_enable_and_reset(api: ProxyThread, upstreams: Upstreams) -> None:
    host, port = api.create("p", upstreams.tcp())
    api.toxic("p", type="latency", attributes={"latency": 1})
    with connect((host, port)) as open_conn:
        open_conn.sendall(b"a")
        assert recv_exact(open_conn, 1) == b"a"
        status, data = api.json("PATCH", "/proxies/p", {"enabled": False})
        assert status == 200 and data["enabled"] is False and data["listen"] == f"{host}:{port}"
        open_conn.settimeout(2)
        assert open_conn.recv(10) == b""  # open connections are closed
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=1).close()  # new ones refused
    # reset enables every proxy again (same address) and removes every toxic
    assert api.request("POST", "/reset")[0] == 204
    status, data = api.json("GET", "/proxies/p")
    assert data["enabled"] is True and data["toxics"] == [] and data["listen"] == f"{host}:{port}"
    with connect((host, port)) as sock:
        sock.sendall(b"b")
        assert recv_exact(sock, 1) == b"b"
    # POST is the deprecated spelling of PATCH; fields left out keep their values
    status, data = api.json("POST", "/proxies/p", {"upstream": "127.0.0.1:2"})
    assert status == 200 and data["upstream"] == "127.0.0.1:2" and data["enabled"] is True


def test_populate_applies_toxics_and_replaces(api: ProxyThread, upstreams: Upstreams) -> None:
    echo = upstreams.tcp()
    body = [
        {
            "name": "a",
            "listen": "127.0.0.1:0",
            "upstream": echo,
            "toxics": [{"type": "latency", "attributes": {"latency": 5}}],
        },
        {"name": "b", "listen": "127.0.0.1:0", "upstream": echo, "enabled": False},
    ]
    status, data = api.json("POST", "/populate", body)
    assert status == 201
    assert [p["name"] for p in data["proxies"]] == ["a", "b"]
    assert data["proxies"][0]["toxics"][0]["attributes"] == {"latency": 5, "jitter": 0}
    assert data["proxies"][1]["enabled"] is False
    # a bad entry changes nothing
    status, data = api.json("POST", "/populate", [{"name": "c", "upstream": echo}, {"name": "d"}])
    assert status == 400 and data == {
        "error": "missing required field: upstream at proxy 2",
        "status": 400,
        "proxies": None,
    }
    assert sorted(api.json("GET", "/proxies")[1]) == ["a", "b"]
    assert api.json("POST", "/populate", {"name": "x"})[0] == 400
    assert api.json("POST", "/populate", []) == (201, {"proxies": None})  # Go's nil slice
    api.create("aa", echo)
    assert list(api.json("GET", "/proxies")[1]) == ["a", "aa", "b"]  # sorted, as Go marshals maps


def test_toxicity_outside_zero_to_one_is_refused(api: ProxyThread) -> None:
    """Toxicity is a probability (docs: 0 to 1); 5 was accepted and shown as 5. Toxiproxy takes
    any number; we refuse it as shield.yaml does (docs/chaos-proxy.md says so)."""
    api.create("p", "127.0.0.1:9")
    for bad in (5, -0.1, 1.0001):
        assert api.json("POST", "/proxies/p/toxics", {"type": "latency", "toxicity": bad}) == (
            400,
            {
                "error": f"bad request body: toxicity must be from 0 to 1, not {bad:g}",
                "status": 400,
            },
        )
    assert api.json("GET", "/proxies/p/toxics") == (200, [])
    api.toxic("p", type="latency", name="edge", toxicity=1)
    status, data = api.json("PATCH", "/proxies/p/toxics/edge", {"toxicity": 2})
    assert status == 400 and data["error"].endswith("toxicity must be from 0 to 1, not 2")
    assert api.json("GET", "/proxies/p/toxics/edge")[1]["toxicity"] == 1  # unchanged
    assert api.json("PATCH", "/proxies/p/toxics/edge", {"toxicity": 0})[1]["toxicity"] == 0
