"""The faults batteries inject through the proxy API, each undone by the callable it returns."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from prodshield.chaos.proxy.client import ProxyApiError, ProxyClient

FAULTS = ("reset_peer", "timeout", "limit_data", "down", "latency")
TOXIC_NAME = "prodshield-battery"


def inject(client: ProxyClient, proxy: str, fault: str, **params: Any) -> Callable[[], None]:
    """Apply ``fault`` to ``proxy`` (``stream``: downstream by default); returns the undo."""
    if fault == "down":
        client.update_proxy(proxy, enabled=False)
        return lambda: _quiet(lambda: client.update_proxy(proxy, enabled=True))
    attributes: dict[str, Any]
    stream = str(params.get("stream", "downstream"))
    if fault == "reset_peer" or fault == "timeout":
        attributes = {"timeout": int(params.get("timeout_ms", 0))}
    elif fault == "limit_data":
        attributes = {"bytes": int(params.get("bytes", 64))}
    elif fault == "latency":
        attributes = {"latency": int(params.get("latency_ms", 100)), "jitter": 0}
    else:
        raise ValueError(f"unknown fault '{fault}' (known: {', '.join(FAULTS)})")
    name = f"{TOXIC_NAME}-{fault}"
    with contextlib.suppress(ProxyApiError):
        client.remove_toxic(proxy, name)
    client.add_toxic(proxy, fault, name=name, stream=stream, attributes=attributes)
    return lambda: _quiet(lambda: client.remove_toxic(proxy, name))


def _quiet(call: Callable[[], Any]) -> None:
    with contextlib.suppress(ProxyApiError):
        call()


def proxy_traffic(api: str, proxy: str, timeout: float = 5.0) -> tuple[int, int]:
    """(connections accepted, bytes sent upstream) so far, from the prodshield proxy's /metrics."""
    import re
    import urllib.request

    with urllib.request.urlopen(api.rstrip("/") + "/metrics", timeout=timeout) as resp:
        text = resp.read().decode("utf-8", "replace")
    label = re.escape(proxy)
    conns = re.search(
        r'^prodshield_proxy_connections_total\{proxy="' + label + r'"\}\s+([0-9.e+]+)$', text, re.M
    )
    sent = re.search(
        r'^prodshield_proxy_bytes_total\{direction="upstream",proxy="'
        + label
        + r'"\}\s+([0-9.e+]+)$|^prodshield_proxy_bytes_total\{proxy="'
        + label
        + r'",direction="upstream"\}\s+([0-9.e+]+)$',
        text,
        re.M,
    )
    if not conns or not sent:
        raise ProxyApiError(f"{api}/metrics has no counters for proxy '{proxy}'")
    return int(float(conns.group(1))), int(float(sent.group(1) or sent.group(2)))
