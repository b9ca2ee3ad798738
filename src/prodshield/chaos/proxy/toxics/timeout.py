"""``timeout``: no data gets through; the connection closes after ``timeout`` ms (0: held forever).

Removing the toxic closes the connections it was holding, as Toxiproxy does.
"""

from __future__ import annotations

from typing import Any, ClassVar

from prodshield.chaos.proxy.toxics.base import Attribute, BaseToxic, Chunk, Stage


class Timeout(BaseToxic):
    type: ClassVar[str] = "timeout"
    example: ClassVar[dict[str, Any]] = {"type": "timeout", "attributes": {"timeout": 5000}}
    description: ClassVar[str] = (
        "Drop all data and close the connection after timeout ms (0: never)."
    )
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("timeout", 0, int, "milliseconds before closing; 0 holds the connection"),
    )

    def attach(self, stage: Stage) -> None:
        self.changed(stage)

    def changed(self, stage: Stage) -> None:
        timeout = stage.attributes["timeout"]
        if timeout > 0:
            stage.call_later(max(0.0, stage.started + timeout / 1000.0 - stage.now()), "close")
        else:
            stage.call_later(None, "close")

    def detach(self, stage: Stage) -> None:
        stage.close_connection()

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        if chunk.eof:
            await stage.emit(chunk)
        # data is dropped on the floor
