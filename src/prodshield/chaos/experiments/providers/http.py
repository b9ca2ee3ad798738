"""``type: http``: call a URL; the output is ``{status, headers, body}`` (as Chaos Toolkit).

``method`` (GET), ``headers``, ``arguments`` (query string for GET, else form data, or JSON when
the Content-Type header says so), ``timeout`` (seconds, or ``[connect, read]``; 30 s when absent so
a call never hangs), ``verify_tls`` and ``max_retries`` (connection errors only). An HTTP error
status is not a failure (the tolerance decides); not reaching the server or a timeout is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from prodshield.chaos.experiments.errors import ActivityFailed
from prodshield.chaos.experiments.providers.base import ActivityContext
from prodshield.text import loads_json

DEFAULT_TIMEOUT = 30.0


class HttpProvider:
    type = "http"
    example: Mapping[str, Any] = {
        "type": "http",
        "url": "http://127.0.0.1:8080/health",
        "timeout": 3,
    }

    def validate(self, provider: Mapping[str, Any]) -> list[str]:
        url = provider.get("url")
        if not url or not isinstance(url, str):
            return ["an http provider needs a 'url'"]
        headers = provider.get("headers")
        if headers is not None and not isinstance(headers, Mapping):
            return ["http 'headers' must be a mapping"]
        return []

    def run(self, provider: Mapping[str, Any], context: ActivityContext) -> Any:
        return asyncio.run(_call(provider, context))


async def _call(provider: Mapping[str, Any], context: ActivityContext) -> dict[str, Any]:
    import aiohttp

    url = str(provider["url"])
    method = str(provider.get("method", "GET")).upper()
    headers = {str(k): str(v) for k, v in (provider.get("headers") or {}).items()}
    arguments = provider.get("arguments")
    raw_timeout = provider.get("timeout", context.timeout)
    if isinstance(raw_timeout, list) and len(raw_timeout) == 2:
        timeout = aiohttp.ClientTimeout(
            sock_connect=float(raw_timeout[0]), sock_read=float(raw_timeout[1])
        )
    else:
        total = float(raw_timeout) if raw_timeout is not None else DEFAULT_TIMEOUT
        timeout = aiohttp.ClientTimeout(total=total)
    ssl: bool | None = None if provider.get("verify_tls", True) else False
    retries = int(provider.get("max_retries", 0) or 0)
    kwargs: dict[str, Any] = {"headers": headers, "ssl": ssl}
    if method == "GET":
        if arguments:
            kwargs["params"] = {str(k): str(v) for k, v in dict(arguments).items()}
    elif headers.get("Content-Type") == "application/json":
        kwargs["json"] = arguments
    elif arguments is not None:
        kwargs["data"] = arguments
    last: Exception | None = None
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(retries + 1):
            try:
                async with session.request(method, url, **kwargs) as resp:
                    text = await resp.text(errors="replace")
                    body: Any = text
                    if resp.headers.get("Content-Type", "").split(";")[0] == "application/json":
                        try:
                            body = loads_json(text, 64)
                        except ValueError:
                            body = text
                    return {"status": resp.status, "headers": dict(resp.headers), "body": body}
            except aiohttp.ClientConnectionError as exc:
                last = exc
            except TimeoutError:
                raise ActivityFailed(f"{method} {url}: no answer within the timeout") from None
            except aiohttp.ClientError as exc:
                raise ActivityFailed(f"{method} {url}: {exc}") from None
    raise ActivityFailed(f"failed to connect to {url}: {last}")


PROVIDER = HttpProvider()
