"""The notifier family: one module per ``type:``, all implementing ``Notifier`` (base.py)."""

from __future__ import annotations

from prodshield.config.notifiers import NotifierBase
from prodshield.errors import Invalid
from prodshield.notify.providers.base import DeliveryContext, Notifier
from prodshield.notify.providers.discord import DiscordNotifier
from prodshield.notify.providers.email import EmailNotifier
from prodshield.notify.providers.github import GitHubNotifier
from prodshield.notify.providers.ntfy import NtfyNotifier
from prodshield.notify.providers.opsgenie import OpsgenieNotifier
from prodshield.notify.providers.pagerduty import PagerDutyNotifier
from prodshield.notify.providers.slack import SlackNotifier
from prodshield.notify.providers.teams import TeamsNotifier
from prodshield.notify.providers.telegram import TelegramNotifier
from prodshield.notify.providers.webhook import WebhookNotifier

REGISTRY: dict[str, type[Notifier]] = {
    cls.type: cls
    for cls in (
        GitHubNotifier,
        SlackNotifier,
        WebhookNotifier,
        EmailNotifier,
        PagerDutyNotifier,
        NtfyNotifier,
        OpsgenieNotifier,
        DiscordNotifier,
        TeamsNotifier,
        TelegramNotifier,
    )
}
"""Config ``type:`` -> the class that delivers to it. Adding a notifier is adding one module."""


def build(config: NotifierBase) -> Notifier:
    """The notifier for one ``notifiers:`` entry."""
    kind = getattr(config, "type", None)
    cls = REGISTRY.get(str(kind))
    if cls is None:
        raise Invalid(f"unknown notifier type {kind!r} (one of {', '.join(REGISTRY)})")
    return cls(config)  # type: ignore[call-arg]


__all__ = ["REGISTRY", "DeliveryContext", "Notifier", "build"]
