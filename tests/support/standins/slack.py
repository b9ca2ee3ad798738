"""A stand-in on loopback for Slack's Web API (``chat.postMessage``, ``chat.update``).

It speaks Slack's wire format: every answer that is not a rate limit is HTTP 200 with a JSON body,
``{"ok": true, "channel": "C…", "ts": "1700000000.000100", "message": {...}}`` on success and
``{"ok": false, "error": CODE}`` on failure (``not_authed`` without a token, ``invalid_auth`` for
a wrong one, ``channel_not_found``, ``no_text``, ``message_not_found`` for an edit of a message it
does not hold, ``invalid_json``); a rate limit is HTTP 429 with ``Retry-After`` and ``{"ok":
false, "error": "ratelimited"}``. Channels are addressed by name (``#ops``) or id when posting and
answered by id; ``chat.update`` takes the id only, as Slack's does.

:meth:`SlackStandin.script` queues the next answers of one method; :meth:`SlackStandin.hang`
holds the next call of one method unanswered until :meth:`release` (to kill a worker between two
calls); ``calls`` logs every call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "xoxb-0000000000-1111111111-SlAcKbOtToKeNsEcReT"
CHANNELS = {"#ops": "C0OPS00001", "#dev": "C0DEV00002"}


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[Any]
    thread_ts: str | None = None
    edits: int = 0


@dataclass
class SlackStandin:
    tokens: tuple[str, ...] = (TOKEN,)
    messages: dict[tuple[str, str], Message] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    scripted: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = field(
        default_factory=dict
    )
    url: str = ""
    _hang: set[str] = field(default_factory=set)
    _held: asyncio.Event | None = None
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(100))
    _runner: web.AppRunner | None = None

    # --- scripting --------------------------------------------------------------------------

    def script(self, method: str, status: int, body: dict[str, Any], **headers: str) -> None:
        """Answer the next call of ``method`` with this status, JSON body and headers."""
        self.scripted.setdefault(method, []).append((status, headers, body))

    def rate_limit(self, method: str, retry_after: int = 1) -> None:
        self.script(
            method, 429, {"ok": False, "error": "ratelimited"}, **{"Retry-After": str(retry_after)}
        )

    def hang(self, method: str) -> None:
        """Do the next call of ``method`` but hold its answer until :meth:`release`."""
        self._hang.add(method)

    def release(self) -> None:
        if self._held is not None:
            self._held.set()

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)

    def in_channel(self, name: str) -> list[Message]:
        channel = CHANNELS.get(name, name)
        return [m for (c, _), m in sorted(self.messages.items()) if c == channel]

    # --- the API ----------------------------------------------------------------------------

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._counter):06d}"

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            self.calls.append((method, {}))
            return web.json_response({"ok": False, "error": "invalid_json"})
        self.calls.append((method, body))
        if self.scripted.get(method):
            status, headers, answer = self.scripted[method].pop(0)
            return web.json_response(answer, status=status, headers=headers)
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return web.json_response({"ok": False, "error": "not_authed"})
        if auth.removeprefix("Bearer ") not in self.tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "chat.postMessage":
            answer = self._post(body)
        elif method == "chat.update":
            answer = self._update(body)
        else:
            answer = {"ok": False, "error": "unknown_method"}
        if method in self._hang:
            self._hang.discard(method)
            self._held = asyncio.Event()
            await self._held.wait()
        return web.json_response(answer)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str(body.get("channel", ""))
        channel = CHANNELS.get(name, name if name in CHANNELS.values() else "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        text, blocks = body.get("text"), body.get("blocks")
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        thread_ts = body.get("thread_ts")
        ts = self._ts()
        msg = Message(channel, ts, str(text or ""), list(blocks or []), thread_ts)
        self.messages[(channel, ts)] = msg
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": msg.text, "ts": ts}}

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(body.get("channel", "")), str(body.get("ts", ""))
        if channel not in CHANNELS.values():
            return {"ok": False, "error": "channel_not_found"}
        msg = self.messages.get((channel, ts))
        if msg is None:
            return {"ok": False, "error": "message_not_found"}
        msg.text = str(body.get("text") or msg.text)
        msg.blocks = list(body.get("blocks") or msg.blocks)
        msg.edits += 1
        return {"ok": True, "channel": channel, "ts": ts, "text": msg.text}

    # --- serving ----------------------------------------------------------------------------

    async def __aenter__(self) -> SlackStandin:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/api"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()
        assert self._runner is not None
        await self._runner.cleanup()
