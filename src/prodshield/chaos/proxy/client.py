"""A small typed client of the Toxiproxy v2 API (ours or Toxiproxy's), standard library only.

Used by the CLI and the experiment runner; every call has a timeout and raises ``ProxyApiError``
with the server's one-line error.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from prodshield.errors import ProdshieldError


class ProxyApiError(ProdshieldError):
    """The API answered an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Toxic:
    name: str
    type: str
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, Any] = field(default_factory=dict)
    limit_time: int = 0  # ms after which the proxy removes the toxic (0: never)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Toxic:
        limit = data.get("limit_time", 0)
        return cls(
            name=data["name"],
            type=data["type"],
            stream=data.get("stream", "downstream"),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
            limit_time=limit if isinstance(limit, int) and not isinstance(limit, bool) else 0,
        )


@dataclass
class ProxyInfo:
    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: list[Toxic] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProxyInfo:
        return cls(
            name=data["name"],
            listen=data["listen"],
            upstream=data["upstream"],
            enabled=bool(data["enabled"]),
            toxics=[Toxic.from_json(t) for t in data.get("toxics") or []],
        )


class ProxyClient:
    """Calls the API at ``url`` (default Toxiproxy's http://127.0.0.1:8474)."""

    def __init__(self, url: str = "http://127.0.0.1:8474", timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    @staticmethod
    def _segment(name: str) -> str:
        """``name`` as one URL path segment (a ``/`` in it escaped, not a separator)."""
        return quote(name, safe="")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "User-Agent": "prodshield"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                message = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                message = raw.decode(errors="replace").strip() or exc.reason
            raise ProxyApiError(f"{message} (HTTP {exc.code})", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if urllib.parse.urlsplit(self.url).port == 0:
                reason = (
                    "port 0 is 'any free port' (chaos.api.port: 0 in shield.yaml?): give the API "
                    "URL `chaos proxy` printed with --api or $PRODSHIELD_PROXY_API"
                )
            raise ProxyApiError(f"cannot reach the proxy API at {self.url}: {reason}") from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ProxyApiError(f"the proxy API at {self.url} did not answer JSON") from None

    # proxies
    def proxies(self) -> list[ProxyInfo]:
        data = self._call("GET", "/proxies")
        return [ProxyInfo.from_json(p) for p in data.values()]

    def proxy(self, name: str) -> ProxyInfo:
        return ProxyInfo.from_json(self._call("GET", f"/proxies/{self._segment(name)}"))

    def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> ProxyInfo:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return ProxyInfo.from_json(self._call("POST", "/proxies", body))

    def update_proxy(self, name: str, **fields: Any) -> ProxyInfo:
        return ProxyInfo.from_json(self._call("PATCH", f"/proxies/{self._segment(name)}", fields))

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{self._segment(name)}")

    def populate(self, proxies: list[dict[str, Any]]) -> list[ProxyInfo]:
        data = self._call("POST", "/populate", proxies)
        return [ProxyInfo.from_json(p) for p in data.get("proxies") or []]

    def reset(self) -> None:
        self._call("POST", "/reset")

    def version(self) -> str:
        return str(self._call("GET", "/version")["version"])

    # toxics
    def toxics(self, proxy: str) -> list[Toxic]:
        return [
            Toxic.from_json(t) for t in self._call("GET", f"/proxies/{self._segment(proxy)}/toxics")
        ]

    def add_toxic(
        self,
        proxy: str,
        type: str,
        *,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, Any] | None = None,
    ) -> Toxic:
        body: dict[str, Any] = {
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes or {},
        }
        if name:
            body["name"] = name
        return Toxic.from_json(self._call("POST", f"/proxies/{self._segment(proxy)}/toxics", body))

    def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        toxicity: float | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Toxic:
        body: dict[str, Any] = {}
        if toxicity is not None:
            body["toxicity"] = toxicity
        if attributes:
            body["attributes"] = attributes
        path = f"/proxies/{self._segment(proxy)}/toxics/{self._segment(name)}"
        return Toxic.from_json(self._call("PATCH", path, body))

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{self._segment(proxy)}/toxics/{self._segment(name)}")
