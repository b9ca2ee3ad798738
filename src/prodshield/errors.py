"""One exception hierarchy for prodshield, so callers can catch the family.

```
ProdshieldError
 ├── ConfigError   the configuration is invalid (one line per mistake, file:line)
 ├── StoreError    the store cannot be opened, migrated or written
 ├── NotifyError   a notification could not be delivered
 ├── UsageError    the user asked the CLI for something impossible (exit 2); CLI only
 ├── NotFound      a domain error: the thing an action names does not exist
 ├── Conflict      a domain error: the action does not apply in the thing's current state
 └── Invalid       a domain error: the action's input is not acceptable (also a ValueError)
```

Library code raises the domain errors, never ``UsageError``; the CLI's error boundary
(``cli/main.py``) turns each into its one line and exit code 2, the web's handlers into 404
(NotFound), 409 (Conflict) and 400 (Invalid, the API's documented "bad input").
"""

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


class NotFound(ProdshieldError, LookupError):
    """What an action names does not exist (no incident, no outbox row with that id). The CLI
    exits 2 with the message; the web answers 404."""


class Conflict(ProdshieldError):
    """The action does not apply to the thing in its current state (an outbox row that is not
    dead). The CLI exits 2 with the message; the web answers 409."""


class Invalid(ProdshieldError, ValueError):
    """The input an action was given is not acceptable (a silence without a reason, an empty
    deploy version, a name the config does not know). A ``ValueError`` too, so callers that
    validate input catch it with the rest. The CLI exits 2 with the message; the web answers
    400."""
