"""Log detectors: one module per detector, each a class implementing ``base.Detector``.

``REGISTRY`` is the explicit list, in the order they run (``error_logged`` is a fallback: it sees
only the lines no other detector took). A new detector is a module here and one line below.
"""

from prodshield.logs.detectors.base import (
    Detector,
    DetectorFactory,
    DetectorSettings,
    EventLike,
)
from prodshield.logs.detectors.bruteforce import BruteForceDetector
from prodshield.logs.detectors.errors import ErrorLoggedDetector
from prodshield.logs.detectors.exceptions import ExceptionDetector
from prodshield.logs.detectors.performance import PerformanceDetector
from prodshield.logs.detectors.rulepack import RulePackDetector
from prodshield.logs.detectors.secrets import SecretInLogDetector

REGISTRY: dict[str, DetectorFactory] = {
    d.type: d
    for d in (
        BruteForceDetector,
        ErrorLoggedDetector,
        ExceptionDetector,
        PerformanceDetector,
        RulePackDetector,
        SecretInLogDetector,
    )
}

__all__ = ["REGISTRY", "Detector", "DetectorFactory", "DetectorSettings", "EventLike"]
