"""Real servers on loopback for the monitor tests: an aiohttp HTTP(S) app, misbehaving TCP servers,
and a UDP DNS responder built with dnspython (certificates: support/certs.py)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
from aiohttp import web

from prodshield.config.schema import ShieldConfig
from prodshield.monitor.expand import expand_checks
from prodshield.monitor.target import Target
from support.net import refused_port

# --- targets -----------------------------------------------------------------------------------


def target(check: dict[str, Any], **config: Any) -> Target:
    """The single target of a one-check config (validated like shield.yaml)."""
    data = {"checks": [{"name": "t", **check}], **config}
    targets = expand_checks(ShieldConfig.model_validate(data))
    assert len(targets) == 1
    return targets[0]


# --- HTTP --------------------------------------------------------------------------------------


def http_app() -> web.Application:
    app = web.Application()

    async def ok(_r: web.Request) -> web.Response:
        return web.json_response(
            {"status": "UP", "items": [{"id": 7}, {"id": 8}], "version": "1.2.3"},
            headers={"X-Service": "api"},
        )

    async def status(r: web.Request) -> web.Response:
        return web.Response(status=int(r.match_info["code"]), text="status")

    async def loop(_r: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def redirect(_r: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def big(r: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.content_length = 100 * 1024 * 1024
        await resp.prepare(r)
        chunk = b"x" * (256 * 1024)
        try:
            for _ in range(400):
                await resp.write(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    async def slow(r: web.Request) -> web.Response:
        await asyncio.sleep(float(r.query.get("s", "30")))
        return web.Response(text="late")

    async def echo(r: web.Request) -> web.Response:
        body = await r.text()
        return web.json_response(
            {"method": r.method, "body": body, "agent": r.headers.get("User-Agent", "")}
        )

    app.router.add_get("/ok", ok)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/loop", loop)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/big", big)
    app.router.add_get("/slow", slow)
    app.router.add_route("*", "/echo", echo)
    return app


@asynccontextmanager
async def http_server(ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """The test app on an ephemeral loopback port; yields its base URL."""
    runner = web.AppRunner(http_app(), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if ssl_context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


# --- raw TCP behaviours ----------------------------------------------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def tcp_server(handler: Handler) -> AsyncIterator[int]:
    """A loopback TCP server running ``handler`` per connection; yields its port."""
    tasks: set[asyncio.Task[None]] = set()

    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            tasks.add(task)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.transport.abort()

    server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for t in list(tasks):
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(60)


async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An HTTP answer one byte a second."""
    await reader.readuntil(b"\r\n\r\n")
    for b in b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello":
        writer.write(bytes([b]))
        await writer.drain()
        await asyncio.sleep(1.0)


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)
    writer.write(b"\x00\xffTHIS IS NOT HTTP\x01\x02\r\n\r\n" * 4)
    await writer.drain()
    await asyncio.sleep(5)


async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def banner(text: bytes) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(text)
        await writer.drain()
        line = await reader.readline()
        if line:
            writer.write(b"ECHO " + line)
            await writer.drain()
        await asyncio.sleep(2)

    return handler


def closed_port() -> int:
    """A loopback port with nothing listening: connections to it are refused."""
    return refused_port()


# --- DNS ------------------------------------------------------------------------------------------


class DnsResponder(asyncio.DatagramProtocol):
    """A tiny authoritative UDP DNS server: known names answer, others get NXDOMAIN.

    ``mode`` "silent" drops queries (a resolver that never answers), "garbage" answers junk.
    """

    def __init__(self, records: dict[tuple[str, str], list[str]], mode: str = "normal") -> None:
        self.records = records
        self.mode = mode
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if self.mode == "silent":
            return
        if self.mode == "garbage":
            self.transport.sendto(data[:2] + b"\x81", addr)
            return
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        values = self.records.get((name, rdtype))
        if values is None and not any(n == name for n, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif values:
            response.answer.append(
                dns.rrset.from_text_list(question.name, 60, "IN", rdtype, values)
            )
        self.transport.sendto(response.to_wire(), addr)


@asynccontextmanager
async def dns_server(
    records: dict[tuple[str, str], list[str]], mode: str = "normal"
) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: DnsResponder(records, mode), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    try:
        yield port
    finally:
        transport.close()
