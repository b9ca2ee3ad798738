"""One exception hierarchy for prodshield, so callers can catch the family."""

from __future__ import annotations


class ProdshieldError(Exception):
    """Base class of every error prodshield raises on purpose."""


class ConfigError(ProdshieldError):
    """The configuration is invalid; ``problems`` holds one line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class StoreError(ProdshieldError):
    """The store cannot be opened, migrated or written."""


class NotifyError(ProdshieldError):
    """A notification could not be delivered."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class UsageError(ProdshieldError):
    """The user asked for something that cannot be done (exit code 2)."""
