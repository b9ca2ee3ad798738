"""Shared settings for the property-based (fuzz) tests: bounded example counts, no deadlines."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI keeps the whole fuzz suite under a minute; FUZZ_EXAMPLES=5000 runs a longer campaign locally.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("FUZZ_RANDOM") is None,
)


def few(n: int) -> settings:
    """Settings for the slower targets (subprocess, HTTP round trips): a fraction of EXAMPLES."""
    return settings(FUZZ, max_examples=max(10, EXAMPLES * n // 200))
