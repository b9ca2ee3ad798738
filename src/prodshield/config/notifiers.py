"""``notifiers:``: where notifications go. One model per provider, chosen by ``type:``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from prodshield.config.base import StrictModel
from prodshield.config.types import Duration


class NotifierBase(StrictModel):
    enabled: bool = True
    timeout: Duration = 10.0
    max_attempts: int = Field(default=8, ge=1, le=100)
    """Delivery attempts before the event is marked dead."""
    backoff: Duration = 5.0
    """First retry delay; doubles per attempt (full jitter), never below a Retry-After."""
    max_backoff: Duration = 900.0
    """Longest delay between two attempts (a longer Retry-After is still honoured)."""


class GitHubNotifierConfig(NotifierBase):
    type: Literal["github"]
    repo: str
    token: str
    api_url: str = "https://api.github.com"
    labels: list[str] = Field(default_factory=list)
    assignees: list[str] = Field(default_factory=list)
    thread_label: str = "prodshield"
    """Added to every issue prodshield opens; its open issues are listed by this label."""
    login: str | None = None
    """The account the token writes as; only its issues and comments are searched for markers
    (default: asked from ``GET /user``; an installation token that cannot say trusts Bot accounts)."""
    marker_key: str | None = None
    """Key that signs the hidden thread markers (default: a random key kept in the store). Set it
    (``${PRODSHIELD_MARKER_KEY}``) when runs share no store, such as workflow runs with a cache."""

    @field_validator("repo")
    @classmethod
    def _repo(cls, v: str) -> str:
        if v.count("/") != 1 or not all(v.split("/")):
            raise ValueError(f"{v!r} is not a repository (use owner/name)")
        return v

    @field_validator("token")
    @classmethod
    def _token(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("token is empty (set it with ${GITHUB_TOKEN})")
        return v


class SlackNotifierConfig(NotifierBase):
    type: Literal["slack"]
    webhook_url: str
    channel: str | None = None
    username: str = "prodshield"


class WebhookNotifierConfig(NotifierBase):
    type: Literal["webhook"]
    url: str
    secret: str | None = None
    """Shared secret: the body is signed with HMAC-SHA256 in ``X-Prodshield-Signature``."""
    headers: dict[str, str] = Field(default_factory=dict)


class EmailNotifierConfig(NotifierBase):
    type: Literal["email"]
    host: str
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    username: str | None = None
    password: str | None = None
    sender: str = Field(alias="from")
    to: list[str]
    ca_file: str | None = None
    """PEM file of the CA that signed the server certificate (default: the system store)."""
    verify: bool = True
    """Check the server certificate; turn off only for a lab server."""


NotifierConfig = Annotated[
    GitHubNotifierConfig | SlackNotifierConfig | WebhookNotifierConfig | EmailNotifierConfig,
    Field(discriminator="type"),
]
