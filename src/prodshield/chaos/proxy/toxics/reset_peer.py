"""``reset_peer``: after ``timeout`` ms the connection is aborted with a TCP RST (ECONNRESET).

The timer starts when the toxic meets the connection: at connect, or when the toxic is added to an
already open connection. Data arriving meanwhile is dropped.
"""

from __future__ import annotations

from typing import Any, ClassVar

from prodshield.chaos.proxy.toxics.base import Attribute, BaseToxic, Chunk, Stage


class ResetPeer(BaseToxic):
    type: ClassVar[str] = "reset_peer"
    example: ClassVar[dict[str, Any]] = {"type": "reset_peer", "attributes": {"timeout": 500}}
    description: ClassVar[str] = "Reset the connection (TCP RST) after timeout ms."
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("timeout", 0, int, "milliseconds before the reset; 0 resets at once"),
    )

    def attach(self, stage: Stage) -> None:
        self.changed(stage)

    def changed(self, stage: Stage) -> None:
        due = stage.started + stage.attributes["timeout"] / 1000.0
        stage.call_later(max(0.0, due - stage.now()), "reset")

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        if chunk.eof:
            await stage.emit(chunk)
