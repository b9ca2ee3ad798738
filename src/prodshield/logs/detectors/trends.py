"""Trends against a baseline: new templates, spikes (a Poisson test with a minimum count) and
latency regressions per endpoint."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from prodshield.logs.findings import LogFinding
from prodshield.text import clip, plural

SPIKE_MIN_COUNT = 10
SPIKE_MIN_RATIO = 3.0
SPIKE_P_VALUE = 1e-4


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), computed stably in log space."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    # sum_{i<k} e^-lam lam^i / i!
    log_term = -lam
    total = math.exp(log_term)
    for i in range(1, k):
        log_term += math.log(lam) - math.log(i)
        total += math.exp(log_term)
        if i > lam and math.exp(log_term) < 1e-18:
            break
    return max(0.0, 1.0 - total)


@dataclass
class Baseline:
    """What "normal" looked like: template counts, finding counts and endpoint p95 over a duration."""

    seconds: float
    template_counts: Counter[str] = field(default_factory=Counter)
    templates: dict[str, str] = field(default_factory=dict)
    finding_counts: Counter[str] = field(default_factory=Counter)
    endpoint_p95: dict[str, tuple[float, int]] = field(default_factory=dict)


def trend_findings(
    *,
    window_seconds: float,
    counts: Counter[str],
    templates: dict[str, str],
    examples: dict[str, str],
    finding_counts: Counter[str],
    endpoints: list[dict[str, Any]],
    baseline: Baseline,
    source: str,
) -> list[LogFinding]:
    out: list[LogFinding] = []
    scale = window_seconds / baseline.seconds if baseline.seconds > 0 else 1.0
    for tid, n in counts.items():
        if tid not in baseline.template_counts:
            out.append(
                LogFinding(
                    "trend",
                    "new_template",
                    "low",
                    count=n,
                    source={"file": source, "template_id": tid},
                    samples=[examples.get(tid, "")][:1],
                    details={"template": templates.get(tid, "")},
                    message=f"new log template: {clip(templates.get(tid, '')[:120], 120)}",
                )
            )
            continue
        expected = baseline.template_counts[tid] * scale
        if _is_spike(n, expected):
            out.append(
                LogFinding(
                    "trend",
                    "spike",
                    "medium",
                    count=n,
                    source={"file": source, "template_id": tid},
                    samples=[examples.get(tid, "")][:1],
                    details={
                        "template": templates.get(tid, ""),
                        "expected": round(expected, 2),
                        "ratio": round(n / max(expected, 1e-9), 1),
                    },
                    message=(
                        f"{plural(n, 'line')} vs {expected:.1f} expected:"
                        f" {templates.get(tid, '')[:100]}"
                    ),
                )
            )
    for kind, n in finding_counts.items():
        expected = baseline.finding_counts.get(kind, 0) * scale
        if baseline.finding_counts.get(kind) and _is_spike(n, expected):
            out.append(
                LogFinding(
                    "trend",
                    "spike",
                    "high",
                    count=n,
                    source={"file": source, "finding_kind": kind},
                    details={
                        "expected": round(expected, 2),
                        "ratio": round(n / max(expected, 1e-9), 1),
                    },
                    message=f"{kind}: {n} vs {expected:.1f} expected",
                )
            )
    for ep in endpoints:
        base = baseline.endpoint_p95.get(ep["endpoint"])
        p95 = ep.get("p95_ms")
        if base is None or p95 is None or ep["requests"] < 50 or base[1] < 50:
            continue
        if p95 >= 1.5 * base[0] and p95 - base[0] >= 100:
            out.append(
                LogFinding(
                    "trend",
                    "latency_regression",
                    "medium",
                    count=ep["requests"],
                    source={"endpoint": ep["endpoint"]},
                    details={
                        "p95_ms": p95,
                        "baseline_p95_ms": base[0],
                        "ratio": round(p95 / max(base[0], 1e-9), 2),
                    },
                    message=f"p95 {p95:.0f} ms vs {base[0]:.0f} ms in the baseline",
                )
            )
    return out


def _is_spike(n: int, expected: float) -> bool:
    if n < SPIKE_MIN_COUNT:
        return False
    if n < SPIKE_MIN_RATIO * max(expected, 1.0):
        return False
    return poisson_sf(n, max(expected, 0.5)) < SPIKE_P_VALUE
