"""The one protocol every toxic implements, the per-connection ``Stage`` it acts on, and helpers.

A toxic type is a stateless object describing its attributes and how it treats the chunks of one
stream of one connection. Per-connection state lives on the ``Stage`` the proxy hands it.
Upstream is client -> server bytes, downstream is server -> client bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable


class Chunk:
    """Bytes read from one side, with the time they arrived; empty ``data`` is the end of stream."""

    __slots__ = ("data", "time")

    def __init__(self, data: bytes, time: float) -> None:
        self.data = data
        self.time = time

    @property
    def eof(self) -> bool:
        return not self.data


@dataclass(frozen=True)
class Attribute:
    """One attribute of a toxic, as the Toxiproxy API shows it (``kind`` is int, float or str)."""

    name: str
    default: float | int | str = 0
    kind: type = int
    doc: str = ""


class Stage(Protocol):
    """What a toxic may do to the one connection stream it is attached to."""

    @property
    def attributes(self) -> Mapping[str, Any]:
        """The toxic's current attributes (changes through the API show here at once)."""

    @property
    def removed(self) -> bool:
        """True once the toxic was removed (or the connection closed): stop holding data."""

    @property
    def started(self) -> float:
        """``time.monotonic()`` at which the toxic was attached to this connection."""

    @property
    def toxicity(self) -> float:
        """The toxic's toxicity (HTTP toxics draw it per request, not per connection)."""

    @property
    def shared(self) -> dict[str, Any]:
        """State shared by every connection of this toxic (e.g. a request counter)."""

    state: dict[str, Any]

    async def emit(self, chunk: Chunk) -> None:
        """Pass a chunk on to the next toxic (or the destination socket)."""

    async def wait_until(self, deadline: float | None) -> bool:
        """Sleep until ``deadline`` (monotonic; None = forever); False when woken by a change."""

    def call_later(self, delay: float | None, action: str) -> None:
        """Schedule ``close`` or ``reset`` of the connection (None cancels), replacing any earlier."""

    def close_connection(self) -> None:
        """Close both sides gracefully (pending bytes are flushed, then FIN)."""

    def reset_connection(self) -> None:
        """Abort the receiving side with a TCP RST (SO_LINGER 0) and close the other."""

    def respond(self, data: bytes) -> None:
        """Send ``data`` back to whoever sent this stream's bytes, then close the connection."""

    def give_back(self, data: bytes) -> None:
        """Put bytes this toxic held back at the head of the stream (used when it is removed)."""

    def now(self) -> float: ...

    def random(self) -> float: ...


@runtime_checkable
class Toxic(Protocol):
    """A toxic type. ``type`` is the API's ``type``; attributes are shown in this order."""

    type: ClassVar[str]
    example: ClassVar[dict[str, Any]]
    """A toxic as POSTed to the API (``type``, ``attributes``...) that the proxy accepts."""
    attributes: ClassVar[tuple[Attribute, ...]]
    description: ClassVar[str]
    # HTTP toxics read the requests (the upstream stream) whatever ``stream`` says, and are
    # attached to every connection: they draw ``toxicity`` per request themselves.
    http: ClassVar[bool]
    # An HTTP toxic that reads the responses (the downstream stream) instead sets this.
    http_responses: ClassVar[bool]

    def validate(self, attributes: Mapping[str, Any]) -> None:
        """Raise ValueError (one line) when the attribute values cannot work."""

    def attach(self, stage: Stage) -> None:
        """The toxic was attached to an open connection stream (arm timers here)."""

    def changed(self, stage: Stage) -> None:
        """The toxic's attributes changed while attached."""

    def detach(self, stage: Stage) -> None:
        """The toxic was removed while the connection is open."""

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        """Handle one chunk (or the end of stream): emit it, delay it, cut it, drop it."""


class BaseToxic:
    """Defaults for the optional parts of the protocol: pass-through, no timers, non-negative."""

    type: ClassVar[str] = ""
    example: ClassVar[dict[str, Any]] = {}
    attributes: ClassVar[tuple[Attribute, ...]] = ()
    description: ClassVar[str] = ""
    http: ClassVar[bool] = False
    http_responses: ClassVar[bool] = False

    def validate(self, attributes: Mapping[str, Any]) -> None:
        for attr in self.attributes:
            if attr.kind is not str and attributes.get(attr.name, 0) < 0:
                raise ValueError(f"{attr.name} must not be negative")

    def attach(self, stage: Stage) -> None:
        return None

    def changed(self, stage: Stage) -> None:
        return None

    def detach(self, stage: Stage) -> None:
        return None

    async def pipe(self, stage: Stage, chunk: Chunk) -> None:
        await stage.emit(chunk)
