"""Load-time checks the schema alone cannot make: placeholders a check type does not provide,
``{var}`` references no environment defines, and an http check's URL that is not http(s) once its
environment's variables are filled in (else ``config check`` passed and every run failed).
Called by the config loader."""

from __future__ import annotations

from urllib.parse import urlsplit

from prodshield.conditions import parse_condition
from prodshield.conditions.parser import parse_placeholder
from prodshield.config.checks import HttpCheckConfig, SequenceCheckConfig
from prodshield.config.schema import ShieldConfig
from prodshield.monitor.placeholders import CAPTURE_RE, PLACEHOLDERS, step_texts
from prodshield.monitor.target import substitute, variable_problems


def check_problems(config: ShieldConfig) -> list[tuple[tuple[str | int, ...], str]]:
    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, check in enumerate(config.checks):
        provided = PLACEHOLDERS.get(check.type)
        if provided is None:
            continue
        for j, text in enumerate(check.conditions):
            try:
                cond = parse_condition(text)
            except ValueError:
                continue  # already reported by the schema
            unknown = sorted(cond.placeholders() - provided - {"RESPONSE_TIME"})
            if unknown:
                have = ", ".join(f"[{p}]" for p in sorted(provided))
                out.append(
                    (
                        ("checks", i, "conditions", j),
                        f"{check.type} checks do not provide [{unknown[0]}] (they provide {have})",
                    )
                )
        if isinstance(check, SequenceCheckConfig):
            out.extend(sequence_problems(check, i, provided))
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


def sequence_problems(
    check: SequenceCheckConfig, index: int, http_placeholders: frozenset[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Load-time problems: a ``{captures.NAME}`` no earlier step captures, step conditions
    reading a placeholder an HTTP response does not have."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    captured: set[str] = set()
    for j, step in enumerate(check.steps):
        base: tuple[str | int, ...] = ("checks", index, "steps", j)
        for where, text in step_texts(step):
            for name in CAPTURE_RE.findall(text):
                if name not in captured:
                    earlier = ", ".join(sorted(captured)) or "none"
                    out.append(
                        (
                            (*base, *where),
                            f"{{captures.{name}}} is not captured by an earlier step "
                            f"(captured before step {j + 1}: {earlier})",
                        )
                    )
        for k, text in enumerate(step.conditions):
            try:
                cond = parse_condition(text)
            except ValueError:
                continue  # the schema reported it
            unknown = sorted(cond.placeholders() - http_placeholders - {"RESPONSE_TIME"})
            if unknown:
                out.append(((*base, "conditions", k), f"a step's response has no [{unknown[0]}]"))
        for name, source in step.capture.items():
            if parse_placeholder(source).name not in http_placeholders:
                out.append(((*base, "capture", name), f"a step's response has no {source}"))
        captured |= set(step.capture)
    return out
