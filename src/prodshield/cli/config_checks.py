"""The capabilities' load-time checks of shield.yaml, which the CLI passes to ``load_config``.

The config layer validates the schema and imports no capability; what only a capability can judge
(placeholders a check type provides, `{var}`s no environment defines, log layouts that must
compile) is listed here, explicitly, and `serve` reloads with the same list
(``LoadedConfig.validators``). Imported lazily, so ``chaos run`` stays quick to start.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from prodshield.config import LoadedConfig, Validator, load_config


def capability_validators() -> tuple[Validator, ...]:
    """Every capability's load-time check, in the order their problems are reported."""
    from prodshield.logs.validation import layout_problems
    from prodshield.monitor.validation import check_problems

    return (layout_problems, check_problems)


def load_checked(
    path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
) -> LoadedConfig:
    """``load_config`` with every capability's checks: what the commands load."""
    return load_config(path, env=env, validators=capability_validators())
