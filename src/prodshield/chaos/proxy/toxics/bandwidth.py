"""``bandwidth``: at most ``rate`` KB/s (1 KB = 1000 bytes) go through; 0 means no limit."""

from __future__ import annotations

from typing import Any, ClassVar

from prodshield.chaos.proxy.toxics.base import Attribute, BaseToxic, Chunk, Stage

SLICE_S = 0.1


class Bandwidth(BaseToxic):
    type: ClassVar[str] = "bandwidth"
    example: ClassVar[dict[str, Any]] = {"type": "bandwidth", "attributes": {"rate": 100}}
    description: ClassVar[str] = "Limit the stream to rate KB/s, sending in slices of 100 ms."
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("rate", 0, int, "kilobytes (1000 bytes) per second; 0 = unlimited"),
    )

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        data = chunk.data
        pos = 0
        while pos < len(data) and not stage.removed:
            rate = stage.attributes["rate"]
            if rate <= 0:
                break
            piece = data[pos : pos + max(1, rate * 100)]  # 100 ms worth of bytes at most
            # A virtual clock carries the schedule across chunks, so bursts cannot exceed the
            # rate. A wake-up that came late (a loaded machine) is made up on the next slices,
            # as Toxiproxy does, instead of lowering the rate; by one slice's time at most, so
            # a stream that was idle starts afresh.
            now, clock = stage.now(), stage.state.get("clock", 0.0)
            start = clock if now - SLICE_S <= clock else now
            end = start + len(piece) / (rate * 1000.0)
            if not await stage.wait_until(end):
                continue  # the rate changed (or the toxic went away): recompute this slice
            stage.state["clock"] = end
            await stage.emit(Chunk(piece, chunk.time))
            pos += len(piece)
        if pos == 0:
            await stage.emit(chunk)
        elif pos < len(data):
            await stage.emit(Chunk(data[pos:], chunk.time))
