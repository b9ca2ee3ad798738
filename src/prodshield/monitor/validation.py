"""Load-time checks the schema alone cannot make: placeholders a check type does not provide,
``{var}`` references no environment defines, and an http check's URL that is not http(s) once its
environment's variables are filled in (else ``config check`` passed and every run failed).
Called by the config loader."""

from __future__ import annotations

from urllib.parse import urlsplit

from prodshield.conditions import parse_condition
from prodshield.config.checks import HttpCheckConfig, SequenceCheckConfig
from prodshield.config.schema import ShieldConfig
from prodshield.monitor.target import substitute, variable_problems


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
        if isinstance(check, HttpCheckConfig):
            bad = _url_problem(config, check)
            if bad:
                out.append((("checks", i, "url"), bad))
    out.extend(variable_problems(config))
    return out


def _url_problem(config: ShieldConfig, check: HttpCheckConfig) -> str | None:
    """Why the check's URL is not http(s) with a host in one of its environments, or None."""
    envs: list[str | None] = [*check.environments] if check.environments else [None]
    for env in envs:
        env_cfg = config.environments.get(env) if env is not None else None
        url, missing = substitute(check.url, env_cfg.vars if env_cfg is not None else {})
        if missing:
            continue  # reported by variable_problems
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            parts, host = None, None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
            where = f" in environment {env}" if env is not None else ""
            return (
                f"{url!r}{where} is not an http(s) URL with a host "
                "(write http://HOST/PATH or https://HOST/PATH)"
            )
    return None
