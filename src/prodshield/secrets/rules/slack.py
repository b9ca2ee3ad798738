"""Slack: bot, user, app-level, config and workflow tokens, and incoming-webhook URLs."""

from __future__ import annotations

import re

from prodshield.secrets.rules.base import B, RegexRule, char_classes


def _bot(value: str) -> float | None:
    return 0.97 if char_classes(value.rsplit("-", 1)[1]) >= 2 else None


def _webhook(value: str) -> float | None:
    secret = value.rsplit("/", 1)[1]
    return 0.97 if char_classes(secret) >= 2 and len(set(secret)) >= 8 else None


RULES = (
    RegexRule(
        id="slack-bot-token",
        kind="slack_bot_token",
        severity="high",
        keywords=("xoxb-",),
        pattern=re.compile(
            B + r"xoxb-[0-9]{9,13}-[0-9]{9,13}(?:-[0-9]{9,13})?-[A-Za-z0-9]{24,32}(?![A-Za-z0-9])"
        ),
        description="Slack bot token",
        validate=_bot,
    ),
    RegexRule(
        id="slack-user-token",
        kind="slack_user_token",
        severity="high",
        keywords=("xoxp-", "xoxa-", "xoxo-", "xoxr-", "xoxs-"),
        pattern=re.compile(
            B + r"xox[paors]-[0-9]{9,13}-[0-9]{9,13}-[0-9]{9,13}-[a-f0-9]{32}(?![A-Za-z0-9])"
        ),
        description="Slack user / workspace token",
    ),
    RegexRule(
        id="slack-app-token",
        kind="slack_app_token",
        severity="high",
        keywords=("xapp-", "xoxe"),
        pattern=re.compile(
            B
            + r"(?:xapp-\d-[A-Z0-9]{9,12}-\d{10,14}-[a-f0-9]{64}|xoxe(?:\.xox[bp])?-\d-[A-Za-z0-9]{140,180})(?![A-Za-z0-9])"
        ),
        description="Slack app-level or refreshable token",
    ),
    RegexRule(
        id="slack-webhook",
        kind="slack_webhook",
        severity="medium",
        keywords=("hooks.slack.com",),
        pattern=re.compile(
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{8,12}/[AB][A-Z0-9]{8,12}/[A-Za-z0-9]{20,32}(?![A-Za-z0-9])"
        ),
        description="Slack incoming-webhook URL",
        validate=_webhook,
    ),
)
