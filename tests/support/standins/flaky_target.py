"""A real HTTP target on loopback that misbehaves on a script: each request takes the next step.

Steps: ``ok`` (200), ``503`` (answers, a condition fails), ``hang`` (never answers before the
checker's timeout), ``flip`` (alternates ok/503 forever after).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web


class FlakyTarget:
    def __init__(self, script: list[str], then: str = "ok") -> None:
        self.script = list(script)
        self.then = then
        self.hits: list[str] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        step = self.script.pop(0) if self.script else self.then
        if step == "flip":
            step = "ok" if len(self.hits) % 2 == 0 else "503"
        self.hits.append(step)
        if step == "hang":
            await asyncio.sleep(30)
        if step == "503":
            return web.json_response({"status": "DOWN"}, status=503)
        return web.json_response({"status": "UP"})


@contextmanager
def flaky_target(script: list[str], then: str = "ok") -> Iterator[FlakyTarget]:
    target = FlakyTarget(script, then)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", target.handle)
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runner_box.append(runner)
        target.url = f"http://127.0.0.1:{runner.addresses[0][1]}"

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield target
    finally:
        asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
