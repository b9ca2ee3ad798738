"""``limit_data``: exactly ``bytes`` bytes get through, then the connection is closed."""

from __future__ import annotations

from typing import Any, ClassVar

from prodshield.chaos.proxy.toxics.base import Attribute, BaseToxic, Chunk, Stage


class LimitData(BaseToxic):
    type: ClassVar[str] = "limit_data"
    example: ClassVar[dict[str, Any]] = {"type": "limit_data", "attributes": {"bytes": 1024}}
    description: ClassVar[str] = "Close the connection once bytes bytes went through this stream."
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("bytes", 0, int, "number of bytes delivered before the close"),
    )

    def attach(self, stage: Stage) -> None:
        stage.state.setdefault("sent", 0)

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        if chunk.eof or stage.removed:
            await stage.emit(chunk)
            return
        remaining = stage.attributes["bytes"] - stage.state["sent"]
        if remaining > 0:
            piece = chunk.data[:remaining]
            stage.state["sent"] += len(piece)
            await stage.emit(Chunk(piece, chunk.time))
            remaining -= len(piece)
        if remaining <= 0:
            stage.close_connection()
