"""``type: tcp``: connect; optionally send a line and expect a substring in the answer."""

from __future__ import annotations

import asyncio
import codecs
from typing import Any, ClassVar

from prodshield.monitor.checks.base import Observation, Stopwatch
from prodshield.monitor.placeholders import PLACEHOLDERS
from prodshield.monitor.probe import Probe
from prodshield.monitor.target import Target

MAX_READ = 64 * 1024


def unescape(text: str) -> bytes:
    """``send: "PING\\r\\n"`` in YAML single quotes still means CR LF."""
    return codecs.decode(text.encode("utf-8"), "unicode_escape").encode("latin-1")


class TcpCheck:
    type: ClassVar[str] = "tcp"
    example: ClassVar[dict[str, Any]] = {
        "type": "tcp",
        "host": "127.0.0.1",
        "port": 22,
        "expect": "SSH-",
    }
    """A ``checks:`` entry of this type (without ``name``) that validates."""
    placeholders: ClassVar[frozenset[str]] = PLACEHOLDERS["tcp"]
    default_conditions: ClassVar[tuple[str, ...]] = ("[CONNECTED] == true",)

    async def observe(self, target: Target, probe: Probe) -> Observation:
        cfg = target.check
        obs = Observation(facts={"CONNECTED": False})
        clock = Stopwatch()
        writer = None
        try:
            async with asyncio.timeout(target.timeout):
                reader, writer = await asyncio.open_connection(cfg.host, cfg.port)
                clock.mark_connected()
                obs.facts["CONNECTED"] = True
                peer = writer.get_extra_info("peername")
                if peer:
                    obs.facts["IP"] = peer[0]
                if cfg.send:
                    writer.write(unescape(cfg.send))
                    await writer.drain()
                if cfg.expect is not None or "BODY" in target.uses:
                    data = await _read_until(reader, cfg.expect.encode() if cfg.expect else None)
                    obs.facts["BODY"] = data
                    if cfg.expect is not None and not data:
                        from prodshield.monitor.failures import closed, endpoint

                        obs.error = closed(endpoint(cfg.host, cfg.port))  # closed, said nothing
                    elif cfg.expect is not None and cfg.expect.encode() not in data:
                        shown = data[:80].decode("utf-8", "replace")
                        obs.fail("protocol", f"expected {cfg.expect!r}, got {shown!r}")
        except Exception as exc:
            clock.failed(obs, exc, target.timeout, cfg.host, cfg.port)
        finally:
            if writer is not None:
                writer.transport.abort()
        obs.timings = clock.timings()
        return obs


async def _read_until(reader: asyncio.StreamReader, expect: bytes | None) -> bytes:
    """Read until ``expect`` appears, the peer closes, or MAX_READ bytes; without ``expect``, the
    first chunk (a banner)."""
    data = b""
    while len(data) < MAX_READ:
        chunk = await reader.read(MAX_READ - len(data))
        if not chunk:
            break
        data += chunk
        if expect is None or expect in data:
            break
    return data
