"""``slow_close``: the end of the stream (FIN) is passed on ``delay`` ms late."""

from __future__ import annotations

from typing import Any, ClassVar

from prodshield.chaos.proxy.toxics.base import Attribute, BaseToxic, Chunk, Stage


class SlowClose(BaseToxic):
    type: ClassVar[str] = "slow_close"
    example: ClassVar[dict[str, Any]] = {"type": "slow_close", "attributes": {"delay": 2000}}
    description: ClassVar[str] = "Delay the TCP close (FIN) by delay ms after the source closed."
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("delay", 0, int, "milliseconds between the source's close and ours"),
    )

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        if chunk.eof:
            while not stage.removed:
                if await stage.wait_until(chunk.time + stage.attributes["delay"] / 1000.0):
                    break
        await stage.emit(chunk)
