"""The capabilities' load-time checks of shield.yaml, which the CLI passes to ``load_config``.

The config layer validates the schema and imports no capability; what only a capability can judge
(placeholders a check type provides, `{var}`s no environment defines, log layouts that must
compile) is listed here, explicitly, and `serve` reloads with the same list
(``LoadedConfig.validators``). Imported lazily, so ``chaos run`` stays quick to start.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping

from prodshield.config import LoadedConfig, Validator, load_config
from prodshield.config.loader import SERVE_ONLY


def capability_validators() -> tuple[Validator, ...]:
    """Every capability's load-time check, in the order their problems are reported."""
    from prodshield.logs.validation import layout_problems
    from prodshield.monitor.validation import check_problems

    return (layout_problems, check_problems)


READ_ONLY: tuple[str, ...] = ("notifiers", "checks", *SERVE_ONLY)
"""The parts a command that sends nothing and runs no check never reads (`incident list`,
`monitor status`, `status build`...): an unset ``${VAR}`` in them (a notifier's routing key, a
check's password, the serve token) does not stop it; the commands that send or probe load the
notifiers and checks whole."""


def load_checked(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    unused: Collection[str] = (),
) -> LoadedConfig:
    """``load_config`` with every capability's checks: what the commands load (``unused``: the
    sections the command never reads, such as :data:`READ_ONLY`)."""
    return load_config(path, env=env, validators=capability_validators(), unused=unused)
