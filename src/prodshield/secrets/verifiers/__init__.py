"""The verifier registry: one module per provider, each contributing a `VERIFIER`.

Adding a provider = a module here with a `VERIFIER` implementing `base.Verifier` (a probe and a
judge of the provider's real answers), added to `_MODULES`.
"""

from __future__ import annotations

from prodshield.secrets.verifiers import github, gitlab, npm, openai, sendgrid, slack, stripe
from prodshield.secrets.verifiers.base import Answer, Probe, Verdict, Verifier

_MODULES = (github, gitlab, slack, stripe, openai, sendgrid, npm)

REGISTRY: dict[str, Verifier] = {m.VERIFIER.type: m.VERIFIER for m in _MODULES}
"""Verifiers by provider name (their ``type``)."""
BY_RULE: dict[str, Verifier] = {rule: v for v in REGISTRY.values() for rule in v.rules}
"""Verifiers by the id of the secret rule whose values they verify."""

__all__ = ["BY_RULE", "REGISTRY", "Answer", "Probe", "Verdict", "Verifier"]
