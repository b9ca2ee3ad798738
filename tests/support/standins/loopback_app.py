"""An aiohttp application served on a loopback port from a thread of its own (test targets)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiohttp import web


@contextmanager
def serve_app(setup: Callable[[web.Application], object]) -> Iterator[str]:
    """Serve an application whose routes ``setup`` adds; yield its base URL."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: list[web.AppRunner] = []
    urls: list[str] = []

    async def start() -> None:
        app = web.Application()
        setup(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        box.append(runner)
        urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}")

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield urls[0]
    finally:
        asyncio.run_coroutine_threadsafe(box[0].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
