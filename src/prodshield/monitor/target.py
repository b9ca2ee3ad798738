"""Targets: a check crossed with one of its environments, ``{var}`` substituted, timings resolved."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from prodshield.conditions import Condition, parse_condition
from prodshield.config.checks import CheckBase
from prodshield.config.schema import ShieldConfig

_VAR_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Fields that are never substituted (identity and condition text).
NO_SUBST = frozenset(
    {"name", "type", "environments", "conditions", "alerts", "group", "description"}
)
# Payload fields: an unknown {name} there is literal text (JSON), not a mistake.
LENIENT = frozenset({"body", "send", "expect"})


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to probe: a check's settings for one environment ("" when it has none)."""

    check: Any  # one of the CheckConfig models, with {var} substituted
    environment: str
    interval: float
    timeout: float
    conditions: tuple[Condition, ...]
    uses: frozenset[str]
    """Placeholders the conditions read, so a check computes only what is needed."""

    @property
    def name(self) -> str:
        return str(self.check.name)

    @property
    def type(self) -> str:
        return str(self.check.type)

    @property
    def service(self) -> str:
        """The service the check watches (``service:``, default: the check's name)."""
        return str(getattr(self.check, "service", None) or self.check.name)

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.environment)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.environment}" if self.environment else self.name


def substitute(text: str, variables: dict[str, str]) -> tuple[str, list[str]]:
    """Replace ``{name}`` with the environment's variable; return the text and unknown names."""
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        if m.group(1) in variables:
            return variables[m.group(1)]
        missing.append(m.group(1))
        return m.group(0)

    return _VAR_RE.sub(repl, text), missing


def subst_value(value: Any, variables: dict[str, str], missing: list[str]) -> Any:
    if isinstance(value, str):
        out, miss = substitute(value, variables)
        missing.extend(miss)
        return out
    if isinstance(value, dict):
        return {k: subst_value(v, variables, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [subst_value(v, variables, missing) for v in value]
    return value


def variable_problems(config: ShieldConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """``{var}`` references that an environment of the check does not define (located by the loader)."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, check in enumerate(config.checks):
        envs = check.environments or []
        for key in type(check).model_fields:
            if key in NO_SUBST or key in LENIENT:
                continue
            value = getattr(check, key)
            if not isinstance(value, str | dict):
                continue
            texts = [value] if isinstance(value, str) else [str(v) for v in value.values()]
            for text in texts:
                for var in _VAR_RE.findall(text):
                    lacking = [
                        e
                        for e in envs
                        if e in config.environments and var not in config.environments[e].vars
                    ]
                    if not envs:
                        # no environment: braces are literal text, unless an environment
                        # defines the name (then the check forgot its environments)
                        defining = [e for e, cfg in config.environments.items() if var in cfg.vars]
                        if defining:
                            out.append(
                                (
                                    ("checks", i, key),
                                    f"{{{var}}} is defined only under environments "
                                    f"({', '.join(defining)}), but this check runs in none "
                                    f"(add environments: [{', '.join(defining)}])",
                                )
                            )
                        continue
                    if lacking:
                        out.append(
                            (
                                ("checks", i, key),
                                f"{{{var}}} is not defined in "
                                f"{'environment' if len(lacking) == 1 else 'environments'} "
                                f"{', '.join(lacking)} "
                                "(add it under environments.<name>.vars)",
                            )
                        )
    return out


def effective_conditions(check: CheckBase, defaults: tuple[str, ...]) -> tuple[Condition, ...]:
    texts = check.conditions or list(defaults)
    return tuple(parse_condition(t) for t in texts)
