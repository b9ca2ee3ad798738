"""Load-time checks the schema alone cannot make: placeholders a check type does not provide, and
``{var}`` references no environment defines. Called by the config loader."""

from __future__ import annotations

from prodshield.conditions import parse_condition
from prodshield.config.checks import SequenceCheckConfig
from prodshield.config.schema import ShieldConfig
from prodshield.monitor.target import variable_problems


def check_problems(config: ShieldConfig) -> list[tuple[tuple[str | int, ...], str]]:
    from prodshield.monitor.checks import REGISTRY
    from prodshield.monitor.checks.sequence import sequence_problems

    members = REGISTRY
    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, check in enumerate(config.checks):
        member = members.get(check.type)
        if member is None:
            continue
        for j, text in enumerate(check.conditions):
            try:
                cond = parse_condition(text)
            except ValueError:
                continue  # already reported by the schema
            unknown = sorted(cond.placeholders() - member.placeholders - {"RESPONSE_TIME"})
            if unknown:
                have = ", ".join(f"[{p}]" for p in sorted(member.placeholders))
                out.append(
                    (
                        ("checks", i, "conditions", j),
                        f"{check.type} checks do not provide [{unknown[0]}] (they provide {have})",
                    )
                )
        if isinstance(check, SequenceCheckConfig):
            out.extend(sequence_problems(check, i, member.placeholders))
    out.extend(variable_problems(config))
    return out
