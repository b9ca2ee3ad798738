"""``packet_loss``: each chunk is dropped with probability ``loss_rate``; after a drop the next
one is dropped with ``loss_rate + correlation`` (bursts). Bytes are lost, the connection stays."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from prodshield.chaos.proxy.toxics.base import Attribute, BaseToxic, Chunk, Stage


class PacketLoss(BaseToxic):
    type: ClassVar[str] = "packet_loss"
    example: ClassVar[dict[str, Any]] = {
        "type": "packet_loss",
        "toxicity": 1.0,
        "attributes": {"loss_rate": 0.1},
    }
    description: ClassVar[str] = (
        "Drop chunks with probability loss_rate (burstier with correlation)."
    )
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("loss_rate", 0.0, float, "probability 0..1 that a chunk is dropped"),
        Attribute("correlation", 0.0, float, "extra drop probability right after a drop"),
    )

    def validate(self, attributes: Mapping[str, Any]) -> None:
        for name in ("loss_rate", "correlation"):
            if not 0.0 <= attributes.get(name, 0.0) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        if chunk.eof or stage.removed:
            await stage.emit(chunk)
            return
        attrs = stage.attributes
        p = attrs["loss_rate"]
        if stage.state.get("dropped"):
            p = min(1.0, p + attrs["correlation"])
        dropped = stage.random() < p
        stage.state["dropped"] = dropped
        if not dropped:
            await stage.emit(chunk)
