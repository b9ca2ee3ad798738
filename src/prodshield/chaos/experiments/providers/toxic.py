"""``type: toxic``: drive a fault proxy through the Toxiproxy v2 API (prodshield's or Toxiproxy).

``api`` (default: the run's proxy API, which ``chaos run`` takes from $PRODSHIELD_PROXY_API or
shield.yaml's ``chaos.api``, else http://127.0.0.1:8474), ``func`` and ``arguments``:

- ``add_toxic``: ``proxy``, ``type``, optional ``name``, ``stream`` (downstream), ``toxicity`` (1.0),
  ``attributes``; ``update_toxic``: ``proxy``, ``name``, ``toxicity``/``attributes``;
  ``remove_toxic``: ``proxy``, ``name`` (a missing toxic is fine unless ``missing_ok: false``, so
  rollbacks can always run);
- ``enable_proxy`` / ``disable_proxy``: ``proxy``; ``reset``: every proxy enabled, no toxics;
- probes: ``get_proxy`` (the proxy's JSON), ``list_toxics``, ``connections`` (connections the
  proxy accepted so far, from prodshield's ``/metrics``).
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from prodshield.chaos.experiments.errors import ActivityFailed
from prodshield.chaos.experiments.providers.base import ActivityContext

DEFAULT_API = "http://127.0.0.1:8474"
FUNCS = {
    "add_toxic": ("proxy", "type"),
    "update_toxic": ("proxy", "name"),
    "remove_toxic": ("proxy", "name"),
    "enable_proxy": ("proxy",),
    "disable_proxy": ("proxy",),
    "reset": (),
    "get_proxy": ("proxy",),
    "list_toxics": ("proxy",),
    "connections": ("proxy",),
}


def connections_accepted(api: str, proxy: str, timeout: float = 5.0) -> int:
    """Connections the proxy ``proxy`` accepted so far (prodshield proxy's ``/metrics``)."""
    try:
        with urllib.request.urlopen(api.rstrip("/") + "/metrics", timeout=timeout) as resp:
            text = resp.read().decode("utf-8", "replace")
    except OSError as exc:
        raise ActivityFailed(f"cannot read {api}/metrics: {exc}") from None
    pattern = re.compile(
        r'^prodshield_proxy_connections_total\{proxy="' + re.escape(proxy) + r'"\}\s+([0-9.e+]+)$',
        re.M,
    )
    m = pattern.search(text)
    if not m:
        raise ActivityFailed(f"{api}/metrics has no connection counter for proxy '{proxy}'")
    return int(float(m.group(1)))


class ToxicProvider:
    type = "toxic"
    example: Mapping[str, Any] = {
        "type": "toxic",
        "api": DEFAULT_API,
        "func": "add_toxic",
        "arguments": {"proxy": "postgres", "type": "latency", "attributes": {"latency": 500}},
    }

    def validate(self, provider: Mapping[str, Any]) -> list[str]:
        func = provider.get("func")
        if func not in FUNCS:
            return [f"toxic 'func' must be one of {', '.join(FUNCS)}"]
        arguments = provider.get("arguments") or {}
        if not isinstance(arguments, Mapping):
            return ["toxic 'arguments' must be a mapping"]
        missing = [a for a in FUNCS[str(func)] if a not in arguments]
        return [f"toxic {func} needs arguments: {', '.join(missing)}"] if missing else []

    def run(self, provider: Mapping[str, Any], context: ActivityContext) -> Any:
        from prodshield.chaos.proxy.client import ProxyApiError, ProxyClient

        api = str(provider.get("api") or context.proxy_api or DEFAULT_API)
        args = dict(provider.get("arguments") or {})
        client = ProxyClient(api, timeout=context.timeout or 5.0)
        func = str(provider["func"])
        try:
            if func == "add_toxic":
                return asdict(
                    client.add_toxic(
                        str(args["proxy"]),
                        str(args["type"]),
                        name=args.get("name"),
                        stream=str(args.get("stream", "downstream")),
                        toxicity=float(args.get("toxicity", 1.0)),
                        attributes=dict(args.get("attributes") or {}),
                    )
                )
            if func == "update_toxic":
                toxicity = args.get("toxicity")
                return asdict(
                    client.update_toxic(
                        str(args["proxy"]),
                        str(args["name"]),
                        toxicity=float(toxicity) if toxicity is not None else None,
                        attributes=dict(args.get("attributes") or {}),
                    )
                )
            if func == "remove_toxic":
                try:
                    client.remove_toxic(str(args["proxy"]), str(args["name"]))
                except ProxyApiError as exc:
                    if exc.status == 404 and args.get("missing_ok", True):
                        return {"removed": False}
                    raise
                return {"removed": True}
            if func in ("enable_proxy", "disable_proxy"):
                info = client.update_proxy(str(args["proxy"]), enabled=func == "enable_proxy")
                return asdict(info)
            if func == "reset":
                client.reset()
                return {"reset": True}
            if func == "get_proxy":
                return asdict(client.proxy(str(args["proxy"])))
            if func == "list_toxics":
                return [asdict(t) for t in client.toxics(str(args["proxy"]))]
            return connections_accepted(api, str(args["proxy"]), context.timeout or 5.0)
        except ProxyApiError as exc:
            raise ActivityFailed(f"{func}: {exc}") from None


PROVIDER = ToxicProvider()
