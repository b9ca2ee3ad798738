"""The configuration as it may be shown (`config show`): every secret hidden.

Hidden: values under secret-named keys (tokens, passwords, webhook URLs, signing keys), every value
of a ``headers`` map (Authorization, API keys) and of ``serve.users``, and whatever the one
redaction pass finds in any other text (passwords in storage URLs, DSNs and check URLs).
"""

from __future__ import annotations

from typing import Any

from prodshield.config.schema import ShieldConfig

SECRET_KEYS = frozenset(
    {
        "token",
        "password",
        "secret",
        "webhook_url",
        "marker_key",
        "api_key",
        "private_key",
        "routing_key",
        "webhook_secret",
    }
)
SECRET_MAPS = frozenset({"headers", "users"})


def shown_config(config: ShieldConfig) -> dict[str, Any]:
    """``config`` as JSON-able data with defaults filled in and secrets hidden."""
    # the secrets engine loads here, not with SECRET_KEYS (`config check` reads only those)
    from prodshield.secrets.redaction import MASK, redact_text

    def hide(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            if key in SECRET_MAPS:
                return {k: MASK if v else v for k, v in value.items()}
            return {k: hide(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [hide(v) for v in value]
        if isinstance(value, str):
            if key in SECRET_KEYS and value:
                return MASK
            return redact_text(value)
        return value

    shown: dict[str, Any] = hide(config.model_dump(mode="json", by_alias=True))
    return shown
