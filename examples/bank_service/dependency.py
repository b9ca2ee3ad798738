"""The pricing dependency of the example service: ``GET /price`` answers ``{"price": ...}``.

python examples/bank_service/dependency.py --port 9001
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from aiohttp import web


async def price(request: web.Request) -> web.Response:
    return web.json_response({"price": 42})


async def serve(host: str, port: int) -> None:
    app = web.Application()
    app.router.add_get("/price", price)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sys.stdout.write(f"listening on {host}:{bound}\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9001)
    a = p.parse_args()
    try:
        asyncio.run(serve(a.host, a.port))
    except KeyboardInterrupt:
        pass
