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
        type="slack-bot-token",
        kind="slack_bot_token",
        severity="high",
        keywords=("xoxb-",),
        pattern=re.compile(
            B + r"xoxb-[0-9]{9,13}-[0-9]{9,13}(?:-[0-9]{9,13})?-[A-Za-z0-9]{24,32}(?![A-Za-z0-9])"
        ),
        description="Slack bot token",
        validate=_bot,
        example={
            "text": "SLACK=xoxb-061760619846-047545330420-1VOJyTLHM25dPdz51nFSEvtL"  # prodshield:allow (a rule sample)
        },
    ),
    RegexRule(
        type="slack-user-token",
        kind="slack_user_token",
        severity="high",
        keywords=("xoxp-", "xoxa-", "xoxo-", "xoxr-", "xoxs-"),
        pattern=re.compile(
            B + r"xox[paors]-[0-9]{9,13}-[0-9]{9,13}-[0-9]{9,13}-[a-f0-9]{32}(?![A-Za-z0-9])"
        ),
        description="Slack user / workspace token",
        example={
            "text": "slack: xoxp-524570244540-163648157403-320760223711-afa4312c8310ce8485b7d20d2f96e36d"  # prodshield:allow (a rule sample)
        },
    ),
    RegexRule(
        type="slack-app-token",
        kind="slack_app_token",
        severity="high",
        keywords=("xapp-", "xoxe"),
        pattern=re.compile(
            B
            + r"(?:xapp-\d-[A-Z0-9]{9,12}-\d{10,14}-[a-f0-9]{64}|xoxe(?:\.xox[bp])?-\d-[A-Za-z0-9]{140,180})(?![A-Za-z0-9])"
        ),
        description="Slack app-level or refreshable token",
        example={
            "text": "SLACK_APP_TOKEN=xapp-1-AU6RSGOL0TF-2761452246620-4d68a4468cdaf364ee38ac14b0315072e58f748ed06827bc8ba730d52a629e81"  # prodshield:allow (a rule sample)
        },
    ),
    RegexRule(
        type="slack-webhook",
        kind="slack_webhook",
        severity="medium",
        keywords=("hooks.slack.com",),
        pattern=re.compile(
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{8,12}/[AB][A-Z0-9]{8,12}/[A-Za-z0-9]{20,32}(?![A-Za-z0-9])"
        ),
        description="Slack incoming-webhook URL",
        validate=_webhook,
        example={
            "text": "url = https://hooks.slack.com/services/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"  # prodshield:allow (a rule sample)
        },
    ),
)
