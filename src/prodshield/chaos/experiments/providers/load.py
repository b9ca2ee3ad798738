"""``type: load``: drive N requests at a rate against a URL; success ratio and latency percentiles.

``url``, ``requests`` (N, default 100), ``rate`` (requests per second; 0 = as fast as
``concurrency`` allows), ``concurrency`` (default 10), ``method`` (GET), ``timeout`` (per request,
default 5 s), ``ok_status`` (list of statuses that count as success; default any below 400).
The output: ``requests``, ``succeeded``, ``failed``, ``success_ratio``, ``errors`` by kind,
``latency_ms`` (``p50``, ``p90``, ``p95``, ``p99``, ``max``; ``p50_ms`` and ``p95_ms`` also at
the top for ``range`` tolerances with a ``target``), ``duration_s``, ``rate``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from prodshield.chaos.experiments.providers.base import ActivityContext
from prodshield.percentiles import percentile as nearest_rank


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    return nearest_rank(sorted_values, q) or 0.0


async def drive(
    url: str,
    requests: int,
    rate: float = 0.0,
    concurrency: int = 10,
    method: str = "GET",
    timeout: float = 5.0,
    ok_status: list[int] | None = None,
) -> dict[str, Any]:
    """Send the requests and summarise them (usable from batteries too)."""
    import aiohttp

    latencies: list[float] = []
    errors: Counter[str] = Counter()
    succeeded = 0
    sem = asyncio.Semaphore(max(1, concurrency))
    started = time.perf_counter()
    conn = aiohttp.TCPConnector(limit=max(1, concurrency))
    async with aiohttp.ClientSession(
        connector=conn, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as session:

        async def one(i: int) -> None:
            nonlocal succeeded
            if rate > 0:
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            async with sem:
                t0 = time.perf_counter()
                try:
                    async with session.request(method, url) as resp:
                        await resp.read()
                        ok = resp.status in ok_status if ok_status else resp.status < 400
                        if ok:
                            succeeded += 1
                        else:
                            errors[f"http_{resp.status}"] += 1
                except TimeoutError:
                    errors["timeout"] += 1
                except aiohttp.ClientConnectionError as exc:
                    errors[type(exc).__name__] += 1
                except aiohttp.ClientError as exc:
                    errors[type(exc).__name__] += 1
                latencies.append((time.perf_counter() - t0) * 1000)

        await asyncio.gather(*(one(i) for i in range(requests)))
    duration = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": requests,
        "succeeded": succeeded,
        "failed": requests - succeeded,
        "success_ratio": succeeded / requests if requests else 1.0,
        "errors": dict(errors),
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 3),
            "p90": round(percentile(latencies, 90), 3),
            "p95": round(percentile(latencies, 95), 3),
            "p99": round(percentile(latencies, 99), 3),
            "max": round(latencies[-1], 3) if latencies else 0.0,
        },
        "p50_ms": round(percentile(latencies, 50), 3),  # flat copies, for range tolerances
        "p95_ms": round(percentile(latencies, 95), 3),
        "duration_s": round(duration, 3),
        "rate": round(requests / duration, 1) if duration > 0 else 0.0,
    }


class LoadProvider:
    type = "load"
    example: Mapping[str, Any] = {
        "type": "load",
        "url": "http://127.0.0.1:8080/health",
        "requests": 100,
        "rate": 50,
    }

    def validate(self, provider: Mapping[str, Any]) -> list[str]:
        if not isinstance(provider.get("url"), str) or not provider.get("url"):
            return ["a load provider needs a 'url'"]
        for key in ("requests", "rate", "concurrency", "timeout"):
            value = provider.get(key)
            if value is not None and (not isinstance(value, int | float) or value < 0):
                return [f"load '{key}' must be a non-negative number"]
        return []

    def run(self, provider: Mapping[str, Any], context: ActivityContext) -> Any:
        ok = provider.get("ok_status")
        return asyncio.run(
            drive(
                str(provider["url"]),
                int(provider.get("requests", 100)),
                float(provider.get("rate", 0) or 0),
                int(provider.get("concurrency", 10)),
                str(provider.get("method", "GET")).upper(),
                float(provider.get("timeout") or context.timeout or 5.0),
                [int(s) for s in ok] if ok else None,
            )
        )


PROVIDER = LoadProvider()
