"""``prodshield chaos breaker`` and ``prodshield chaos db``: ready experiments with verdicts."""

from __future__ import annotations

import typer


def attach(chaos_app: typer.Typer) -> None:
    """Add the battery commands (filled in with the batteries)."""
