"""``latency``: every chunk is delivered ``latency`` ms (± ``jitter`` ms) after it arrived."""

from __future__ import annotations

from typing import Any, ClassVar

from prodshield.chaos.proxy.toxics.base import Attribute, BaseToxic, Chunk, Stage


class Latency(BaseToxic):
    type: ClassVar[str] = "latency"
    example: ClassVar[dict[str, Any]] = {
        "type": "latency",
        "attributes": {"latency": 300, "jitter": 50},
    }
    description: ClassVar[str] = "Delay each chunk by latency ms, plus or minus up to jitter ms."
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("latency", 0, int, "delay in milliseconds"),
        Attribute("jitter", 0, int, "uniform spread around the delay, milliseconds"),
    )

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        if not chunk.eof:
            spread = 2.0 * stage.random() - 1.0  # drawn once per chunk, scaled by the live jitter
            while not stage.removed:
                attrs = stage.attributes
                delay = max(0.0, attrs["latency"] + spread * attrs["jitter"]) / 1000.0
                if await stage.wait_until(chunk.time + delay):
                    break
        await stage.emit(chunk)
