"""Toxics: one module per type, each implementing ``base.Toxic``; ``REGISTRY`` maps type to toxic.

Adding a toxic is adding one module here and one line to ``REGISTRY``.
"""

from __future__ import annotations

from prodshield.chaos.proxy.toxics.bandwidth import Bandwidth
from prodshield.chaos.proxy.toxics.base import Attribute, Chunk, Stage, Toxic
from prodshield.chaos.proxy.toxics.http import (
    HttpFailFirst,
    HttpStatus,
    OversizedHeaders,
    SlowHeaders,
)
from prodshield.chaos.proxy.toxics.latency import Latency
from prodshield.chaos.proxy.toxics.limit_data import LimitData
from prodshield.chaos.proxy.toxics.packet_loss import PacketLoss
from prodshield.chaos.proxy.toxics.reset_peer import ResetPeer
from prodshield.chaos.proxy.toxics.slicer import Slicer
from prodshield.chaos.proxy.toxics.slow_close import SlowClose
from prodshield.chaos.proxy.toxics.timeout import Timeout

REGISTRY: dict[str, Toxic] = {
    t.type: t
    for t in (
        Latency(),
        Bandwidth(),
        SlowClose(),
        Timeout(),
        ResetPeer(),
        Slicer(),
        LimitData(),
        PacketLoss(),
        HttpStatus(),
        HttpFailFirst(),
        SlowHeaders(),
        OversizedHeaders(),
    )
}

__all__ = ["REGISTRY", "Attribute", "Chunk", "Stage", "Toxic"]
