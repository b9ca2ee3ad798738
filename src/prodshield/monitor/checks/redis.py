"""``type: redis``: PING over RESP on a raw connection, and ``INFO replication`` for the role.

Speaking the few RESP messages needed directly keeps the probe light (no client library pool).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from prodshield.monitor.checks.base import Observation, Stopwatch
from prodshield.monitor.placeholders import PLACEHOLDERS
from prodshield.monitor.probe import Probe
from prodshield.monitor.target import Target

MAX_REPLY = 1024 * 1024


class RespError(Exception):
    """The server answered something that is not RESP."""


def command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for p in parts:
        b = p.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


async def read_reply(reader: asyncio.StreamReader) -> str | int | None:
    """One simple, error, integer or bulk reply (errors raise ``RespError`` with the text)."""
    line = await reader.readuntil(b"\r\n")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode("utf-8", "replace")
    if kind == b"-":
        raise RespError(rest.decode("utf-8", "replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        if n > MAX_REPLY:
            raise RespError(f"reply of {n} bytes is too large")
        data = await reader.readexactly(n + 2)
        return data[:-2].decode("utf-8", "replace")
    raise RespError(f"not a RESP reply: {line[:40]!r}")


class RedisCheck:
    type: ClassVar[str] = "redis"
    example: ClassVar[dict[str, Any]] = {
        "type": "redis",
        "url": "redis://127.0.0.1:6379/0",
        "role": "master",
    }
    """A ``checks:`` entry of this type (without ``name``) that validates."""
    placeholders: ClassVar[frozenset[str]] = PLACEHOLDERS["redis"]
    default_conditions: ClassVar[tuple[str, ...]] = ("[CONNECTED] == true",)

    async def observe(self, target: Target, probe: Probe) -> Observation:
        cfg = target.check
        obs = Observation(facts={"CONNECTED": False})
        url = urlsplit(cfg.url)
        if url.scheme not in ("redis", "rediss"):
            return obs.fail("protocol", f"not a redis:// URL: {url.scheme}://...")
        host = url.hostname or "127.0.0.1"
        port = url.port or 6379
        tls: ssl.SSLContext | None = probe.ssl_context(True) if url.scheme == "rediss" else None
        clock = Stopwatch()
        writer = None
        try:
            async with asyncio.timeout(target.timeout):
                reader, writer = await asyncio.open_connection(host, port, ssl=tls, limit=MAX_REPLY)
                clock.mark_connected()
                obs.facts["CONNECTED"] = True
                if url.password is not None:
                    user = unquote(url.username) if url.username else None
                    auth = (user, unquote(url.password)) if user else (unquote(url.password),)
                    writer.write(command("AUTH", *auth))
                    await read_reply(reader)
                db = url.path.strip("/")
                if db and db != "0":
                    writer.write(command("SELECT", db))
                    await read_reply(reader)
                writer.write(command("PING"))
                pong = await read_reply(reader)
                clock.mark_first()
                obs.facts["RESULT"] = pong
                if pong != "PONG":
                    obs.fail("protocol", f"PING answered {pong!r}, not PONG")
                elif cfg.role or "ROLE" in target.uses:
                    writer.write(command("INFO", "replication"))
                    info = await read_reply(reader)
                    role = _role(str(info or ""))
                    obs.facts["ROLE"] = role
                    if cfg.role and not _same_role(role, cfg.role):
                        obs.fail("condition", f"role is {role}, expected {cfg.role}")
        except RespError as exc:
            obs.fail("protocol", f"redis: {exc}"[:300])
        except (ValueError, asyncio.LimitOverrunError) as exc:
            obs.fail("protocol", f"redis: malformed reply ({type(exc).__name__})")
        except Exception as exc:
            clock.failed(obs, exc, target.timeout, host, port)
        finally:
            if writer is not None:
                writer.transport.abort()
        obs.timings = clock.timings(first_byte=True)
        return obs


def _role(info: str) -> str:
    for line in info.splitlines():
        if line.startswith("role:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _same_role(actual: str, wanted: str) -> bool:
    replica = {"slave", "replica"}
    return actual == wanted or (actual in replica and wanted in replica)
