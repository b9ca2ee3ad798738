"""``slicer``: chunks are cut into slices of ``average_size`` ± ``size_variation`` bytes, sent
``delay`` µs apart. Every byte is delivered, in order."""

from __future__ import annotations

from typing import Any, ClassVar

from prodshield.chaos.proxy.toxics.base import Attribute, BaseToxic, Chunk, Stage


class Slicer(BaseToxic):
    type: ClassVar[str] = "slicer"
    example: ClassVar[dict[str, Any]] = {
        "type": "slicer",
        "attributes": {"average_size": 64, "size_variation": 32, "delay": 10},
    }
    description: ClassVar[str] = "Slice data into small pieces with a delay between them."
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("average_size", 0, int, "average slice size in bytes (0: no slicing)"),
        Attribute("size_variation", 0, int, "slices vary by up to this many bytes"),
        Attribute("delay", 0, int, "microseconds between slices"),
    )

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        data = chunk.data
        pos = 0
        while pos < len(data):
            attrs = stage.attributes
            average = attrs["average_size"]
            if average <= 0 or stage.removed:
                await stage.emit(Chunk(data[pos:], chunk.time))
                return
            variation = attrs["size_variation"]
            size = max(1, average + round((2.0 * stage.random() - 1.0) * variation))
            await stage.emit(Chunk(data[pos : pos + size], chunk.time))
            pos += size
            if pos < len(data) and attrs["delay"] > 0:
                await stage.wait_until(stage.now() + attrs["delay"] / 1e6)
        if chunk.eof:
            await stage.emit(chunk)
