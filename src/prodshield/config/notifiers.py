"""``notifiers:``: where notifications go. One model per provider, chosen by ``type:``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from prodshield.config.base import StrictModel, unread
from prodshield.config.types import Duration


class NotifierBase(StrictModel):
    """The keys every notifier has, whatever its ``type``."""

    enabled: bool = Field(default=True, examples=[False])
    """A disabled notifier is kept in the file but sent nothing."""
    timeout: Duration = Field(default=10.0, examples=["30s"])
    """How long one delivery attempt may take."""
    max_attempts: int = Field(default=8, ge=1, le=100)
    """Delivery attempts before the event is marked dead."""
    backoff: Duration = 5.0
    """First retry delay; doubles per attempt, each delay between half and all of it (jitter),
    never below a Retry-After."""
    max_backoff: Duration = 900.0
    """Longest delay between two attempts (a longer Retry-After is still honoured)."""


class GitHubNotifierConfig(NotifierBase):
    """GitHub issues: one per incident, commented on as it changes, closed when it resolves."""

    type: Literal["github"]
    repo: str = Field(examples=["acme/platform"])
    """The repository the issues are opened in (``owner/name``)."""
    token: str = Field(examples=["${GITHUB_TOKEN}"])
    """A token that may write issues (from the environment; hidden by ``config show``)."""
    api_url: str = Field(default="https://api.github.com", examples=["${GITHUB_API_URL}"])
    """The API's address (GitHub Enterprise Server: ``https://HOST/api/v3``)."""
    labels: list[str] = Field(default_factory=list, examples=[["incident", "ops"]])
    """Labels added to every issue."""
    assignees: list[str] = Field(default_factory=list, examples=[["octocat"]])
    """Accounts every issue is assigned to."""
    thread_label: str = "prodshield"
    """Added to every issue prodshield opens; its open issues are listed by this label."""
    login: str | None = Field(default=None, examples=["prodshield-bot"])
    """The account the token writes as; only its issues and comments are searched for markers
    (default: asked from ``GET /user``; an installation token that cannot say trusts Bot accounts)."""
    marker_key: str | None = Field(default=None, examples=["${PRODSHIELD_MARKER_KEY}"])
    """Key that signs the hidden thread markers (default: a random key kept in the store). Set it
    (``${PRODSHIELD_MARKER_KEY}``) when runs share no store, such as workflow runs with a cache."""

    @field_validator("repo")
    @classmethod
    def _repo(cls, v: str, info: ValidationInfo) -> str:
        if unread(info, "notifiers"):
            return v  # a read-only command: "${GITHUB_REPOSITORY}" may be unset there
        if v.count("/") != 1 or not all(v.split("/")):
            raise ValueError(f"{v!r} is not a repository (use owner/name)")
        return v

    @field_validator("token")
    @classmethod
    def _token(cls, v: str, info: ValidationInfo) -> str:
        if not v.strip() and not unread(info, "notifiers"):
            raise ValueError("token is empty (set it with ${GITHUB_TOKEN})")
        return v


class SlackNotifierConfig(NotifierBase):
    """Slack: an incoming webhook, or a bot token (``chat.postMessage``: threads per incident,
    retries edit the message they posted instead of posting it again)."""

    type: Literal["slack"]
    webhook_url: str | None = Field(default=None, examples=["${SLACK_WEBHOOK}"])
    """The incoming webhook's URL (a secret: from the environment). Set this or ``token``."""
    token: str | None = Field(default=None, examples=["${SLACK_BOT_TOKEN}"])
    """A bot token (``xoxb-...``, scope ``chat:write``; hidden by ``config show``). Set this or
    ``webhook_url``; with a token, ``channel`` is required."""
    channel: str | None = Field(default=None, examples=["#ops"])
    """Post to this channel (a webhook's own channel when unset; required with ``token``)."""
    username: str = "prodshield"
    """The name messages are posted under."""
    api_url: str = Field(default="https://slack.com/api", examples=["https://slack.com/api"])
    """The Web API's address, used with ``token``."""

    @model_validator(mode="after")
    def _one_way_in(self, info: ValidationInfo) -> SlackNotifierConfig:
        if (self.webhook_url is None) == (self.token is None):
            raise ValueError("set exactly one of webhook_url or token")
        if self.token is not None and not unread(info, "notifiers"):
            if not self.token.strip():
                raise ValueError("token is empty (is SLACK_BOT_TOKEN set?)")
            if not self.channel:
                raise ValueError("a bot token needs a channel to post to")
        return self


class WebhookNotifierConfig(NotifierBase):
    """A JSON POST to any URL, signed when ``secret`` is set."""

    type: Literal["webhook"]
    url: str = Field(examples=["https://hooks.example.com/prodshield"])
    """Where events are POSTed as JSON."""
    secret: str | None = Field(default=None, examples=["${WEBHOOK_SECRET}"])
    """Shared secret: the body is signed with HMAC-SHA256 in ``X-Prodshield-Signature``."""
    headers: dict[str, str] = Field(
        default_factory=dict, examples=[{"Authorization": "Bearer ${HOOK_TOKEN}"}]
    )
    """Extra request headers (their values are hidden by ``config show``)."""


class EmailNotifierConfig(NotifierBase):
    """Email through an SMTP server."""

    type: Literal["email"]
    host: str = Field(examples=["smtp.example.com"])
    """The SMTP server."""
    port: int = Field(default=587, examples=[465])
    """The SMTP port (587 with STARTTLS, 465 with ``ssl``)."""
    starttls: bool = Field(default=True, examples=[False])
    """Upgrade the connection with STARTTLS (refused if the server cannot)."""
    ssl: bool = Field(default=False, examples=[True])
    """Connect with TLS from the start (port 465) instead of STARTTLS."""
    username: str | None = Field(default=None, examples=["alerts@example.com"])
    """Log in as this user."""
    password: str | None = Field(default=None, examples=["${SMTP_PASSWORD}"])
    """The login's password (from the environment; hidden by ``config show``)."""
    sender: str = Field(alias="from", examples=["prodshield@example.com"])
    """The From address."""
    to: list[str] = Field(examples=[["oncall@example.com"]])
    """Recipients."""
    ca_file: str | None = Field(default=None, examples=["certs/smtp-ca.pem"])
    """PEM file of the CA that signed the server certificate (default: the system store)."""
    verify: bool = Field(default=True, examples=[False])
    """Check the server certificate; turn off only for a lab server."""


def _not_empty(name: str, env: str) -> Callable[[str, ValidationInfo], str]:
    def check(v: str, info: ValidationInfo) -> str:
        if not v.strip() and not unread(info, "notifiers"):
            raise ValueError(f"{name} is empty (set it with ${{{env}}})")
        return v

    return check


class PagerDutyNotifierConfig(NotifierBase):
    """PagerDuty Events API v2: an alert per incident, acknowledged and resolved with it."""

    type: Literal["pagerduty"]
    routing_key: str = Field(examples=["${PAGERDUTY_ROUTING_KEY}"])
    """The integration key of an Events API v2 integration (from the environment; hidden)."""
    url: str = Field(default="https://events.pagerduty.com/v2/enqueue")
    """The Events API endpoint (a regional or test endpoint)."""
    source: str | None = Field(default=None, examples=["prodshield-eu1"])
    """The alert's ``source`` (default: the probed target, else the check's name)."""
    webhook_secret: str | None = Field(default=None, examples=["${PAGERDUTY_WEBHOOK_SECRET}"])
    """The signing secret of a PagerDuty v3 webhook subscription pointed at ``serve``'s
    ``/hooks/pagerduty/NAME``: an acknowledge in PagerDuty then acknowledges the prodshield
    incident (signatures checked; hidden)."""

    _routing_key = field_validator("routing_key")(
        _not_empty("routing_key", "PAGERDUTY_ROUTING_KEY")
    )


class OpsgenieNotifierConfig(NotifierBase):
    """Opsgenie Alert API v2: an alert per incident (by alias), acknowledged and closed with it."""

    type: Literal["opsgenie"]
    api_key: str = Field(examples=["${OPSGENIE_API_KEY}"])
    """An API integration's key, sent as ``Authorization: GenieKey KEY`` (hidden)."""
    api_url: str = Field(
        default="https://api.opsgenie.com", examples=["https://api.eu.opsgenie.com"]
    )
    """The API's address (EU accounts: ``https://api.eu.opsgenie.com``)."""
    responders: list[dict[str, str]] = Field(
        default_factory=list, examples=[[{"type": "team", "name": "platform"}]]
    )
    """Who is paged (Opsgenie responder objects); default: the integration's own routing."""
    tags: list[str] = Field(default_factory=list, examples=[["prodshield"]])
    """Tags added to every alert."""

    _api_key = field_validator("api_key")(_not_empty("api_key", "OPSGENIE_API_KEY"))


class NtfyNotifierConfig(NotifierBase):
    """An ntfy topic (ntfy.sh or a server of your own)."""

    type: Literal["ntfy"]
    server: str = Field(default="https://ntfy.sh", examples=["https://ntfy.example.com"])
    """The ntfy server."""
    topic: str = Field(examples=["acme-ops-alerts"])
    """The topic messages are published to (on ntfy.sh, anyone who knows it may read it)."""
    token: str | None = Field(default=None, examples=["${NTFY_TOKEN}"])
    """An access token (``tk_...``) for a protected topic, sent as a Bearer token (hidden)."""
    tags: list[str] = Field(default_factory=list, examples=[["prodshield"]])
    """Tags (or emoji short codes) added to every message."""

    @field_validator("topic")
    @classmethod
    def _topic(cls, v: str, info: ValidationInfo) -> str:
        if unread(info, "notifiers"):
            return v  # a read-only command: "${NTFY_TOPIC}" may be unset there
        if not v or len(v) > 64 or not all(c.isalnum() or c in "-_" for c in v):
            raise ValueError(f"{v!r} is not an ntfy topic (1 to 64 of A-Z a-z 0-9 _ -)")
        return v


class DiscordNotifierConfig(NotifierBase):
    """A Discord channel webhook (messages with an embed)."""

    type: Literal["discord"]
    webhook_url: str = Field(examples=["${DISCORD_WEBHOOK}"])
    """The webhook's URL; its last part is a token (from the environment; hidden)."""
    username: str = "prodshield"
    """The name messages are posted under."""


class TeamsNotifierConfig(NotifierBase):
    """A Microsoft Teams incoming webhook (or a Workflows webhook) posting an Adaptive Card."""

    type: Literal["teams"]
    webhook_url: str = Field(examples=["${TEAMS_WEBHOOK}"])
    """The webhook's URL (it holds a signature: from the environment; hidden)."""


class TelegramNotifierConfig(NotifierBase):
    """A Telegram chat, through a bot's ``sendMessage``."""

    type: Literal["telegram"]
    token: str = Field(examples=["${TELEGRAM_BOT_TOKEN}"])
    """The bot's token from @BotFather (from the environment; hidden)."""
    chat_id: str = Field(examples=["-1001234567890"])
    """The chat, group or channel (``@channelname``) the bot posts to."""
    api_url: str = "https://api.telegram.org"
    """The Bot API's address (a local Bot API server)."""
    silent: bool = False
    """Send without sound (``disable_notification``)."""

    _token = field_validator("token")(_not_empty("token", "TELEGRAM_BOT_TOKEN"))

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat(cls, v: object) -> object:
        return str(v) if isinstance(v, int) else v


NotifierConfig = Annotated[
    GitHubNotifierConfig
    | SlackNotifierConfig
    | WebhookNotifierConfig
    | EmailNotifierConfig
    | PagerDutyNotifierConfig
    | OpsgenieNotifierConfig
    | NtfyNotifierConfig
    | DiscordNotifierConfig
    | TeamsNotifierConfig
    | TelegramNotifierConfig,
    Field(discriminator="type"),
]
