"""Log detectors: one module per detector, each implementing ``Detector``; see ``base.REGISTRY``."""

from prodshield.logs.detectors import bruteforce, errors, exceptions, performance, rulepack, secrets
from prodshield.logs.detectors.base import REGISTRY, Detector, DetectorSettings, EventLike

__all__ = [
    "REGISTRY",
    "Detector",
    "DetectorSettings",
    "EventLike",
    "bruteforce",
    "errors",
    "exceptions",
    "performance",
    "rulepack",
    "secrets",
]
