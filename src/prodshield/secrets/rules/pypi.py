"""PyPI upload tokens: ``pypi-`` + a base64url macaroon whose first bytes name pypi.org."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import RegexRule, b64decode_loose


def _macaroon(value: str) -> float | None:
    raw = b64decode_loose(value[5:][:40], urlsafe=True)
    return 0.99 if raw is not None and (b"pypi.org" in raw or b"test.pypi.org" in raw) else None


RULES = (
    RegexRule(
        type="pypi-token",
        kind="pypi_token",
        severity="high",
        keywords=("pypi-ageichlwas5vcmc", "pypi-agenzgvzdc5wexbplm9yzw"),
        pattern=re.compile(r"(?<![\w-])pypi-Ag[A-Za-z0-9_-]{50,}"),
        description="PyPI API token (macaroon decoded)",
        validate=_macaroon,
        example={
            "text": "password = pypi-AgEIcHlwaS5vcmcmey7WuAP1X18_16OapVpdSgY4v1uXHSwFr-GOhZF_4WO4APcP7cptH9LkYhtbN8VRhlURyH-rz1iXqn_9AYjtCCQymlAQ9JoM07UylJRU3tnlgQBbDUhGbNB"  # prodshield:allow (a rule sample)
        },
    ),
)
