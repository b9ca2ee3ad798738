"""Checks crossed with their environments: the targets the scheduler runs.

Above both `target.py` (what a target is) and `checks/` (the check types, whose default
conditions a target without its own falls back to), so that neither imports the other.
"""

from __future__ import annotations

from prodshield.config.schema import ShieldConfig
from prodshield.errors import ConfigError
from prodshield.monitor.checks import REGISTRY
from prodshield.monitor.target import LENIENT, NO_SUBST, Target, effective_conditions, subst_value


def expand_checks(config: ShieldConfig) -> list[Target]:
    """Every enabled check crossed with its environments, ready to run.

    Interval and timeout: the environment's override, else the check's, else ``defaults``.
    """
    targets: list[Target] = []
    for check in config.checks:
        if not check.enabled:
            continue
        member = REGISTRY[check.type]
        envs: list[str | None] = list(check.environments) if check.environments else [None]
        for env_name in envs:
            env = config.environments.get(env_name) if env_name else None
            data = check.model_dump(mode="python", by_alias=False)
            missing: list[str] = []
            if env is not None:
                for key in list(data):
                    if key not in NO_SUBST:
                        lost: list[str] = []
                        data[key] = subst_value(data[key], env.vars, lost)
                        if key not in LENIENT:
                            missing.extend(lost)
            if missing:
                raise ConfigError(
                    [
                        f"checks {check.name!r}: {{{missing[0]}}} is not defined in environment {env_name!r}"
                    ]
                )
            concrete = type(check).model_validate(data) if env is not None else check
            interval = (
                (env.interval if env and env.interval else None)
                or check.interval
                or config.defaults.interval
            )
            timeout = (
                (env.timeout if env and env.timeout else None)
                or check.timeout
                or config.defaults.timeout
            )
            conditions = effective_conditions(check, member.default_conditions)
            uses: set[str] = set()
            for c in conditions:
                uses |= c.placeholders()
            targets.append(
                Target(
                    check=concrete,
                    environment=env_name or "",
                    interval=float(interval),
                    timeout=float(timeout),
                    conditions=conditions,
                    uses=frozenset(uses),
                )
            )
    return targets
