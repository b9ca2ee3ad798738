"""``type: sequence``: ordered HTTP steps (log in, take the token, call the API).

Each step is one ``type: http`` request (the same code, timings and body limit), checked against
its own conditions; values it captures (``[BODY].token``) fill ``{captures.NAME}`` in later steps.
The first failing step ends the run and the one result names it. Captured values are secrets as
far as the result goes: the runner masks them in every message it keeps.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from prodshield.conditions import Facts, evaluate, parse_condition
from prodshield.conditions.evaluate import resolve
from prodshield.conditions.parser import parse_placeholder
from prodshield.config.checks import HttpCheckConfig, SequenceCheckConfig
from prodshield.monitor.checks.base import Observation
from prodshield.monitor.checks.http import HttpCheck
from prodshield.monitor.placeholders import CAPTURE_RE, PLACEHOLDERS
from prodshield.monitor.target import Target

if TYPE_CHECKING:
    from prodshield.monitor.probe import Probe

STEP_DEFAULT_CONDITIONS = ("[STATUS] < 400",)


def _fill(text: str, captures: dict[str, str]) -> str:
    return CAPTURE_RE.sub(lambda m: captures.get(m.group(1), m.group(0)), text)


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return json.dumps(value)


class SequenceCheck:
    type: ClassVar[str] = "sequence"
    example: ClassVar[dict[str, Any]] = {
        "type": "sequence",
        "steps": [
            {
                "name": "login",
                "method": "POST",
                "url": "https://example.com/login",
                "capture": {"token": "[BODY].token"},
            },
            {
                "name": "orders",
                "url": "https://example.com/api/orders",
                "headers": {"Authorization": "Bearer {captures.token}"},
                "conditions": ["[STATUS] == 200"],
            },
        ],
        "conditions": ["[RESPONSE_TIME] < 2000"],
    }
    """A ``checks:`` entry of this type (without ``name``) that validates."""
    placeholders: ClassVar[frozenset[str]] = PLACEHOLDERS["sequence"]
    default_conditions: ClassVar[tuple[str, ...]] = ("[CONNECTED] == true",)

    async def observe(self, target: Target, probe: Probe) -> Observation:
        cfg: SequenceCheckConfig = target.check
        http = HttpCheck()
        obs = Observation()
        captures: dict[str, str] = {}
        deadline = time.perf_counter() + target.timeout
        total = 0.0
        done: list[dict[str, Any]] = []
        obs.details["steps"] = done
        step_obs = Observation()
        for number, step in enumerate(cfg.steps, start=1):
            label = f"step {number} ({step.name})"
            conditions = tuple(
                parse_condition(t) for t in (step.conditions or STEP_DEFAULT_CONDITIONS)
            )
            sources = {k: parse_placeholder(v) for k, v in step.capture.items()}
            uses: set[str] = {p.name for p in sources.values()}
            for c in conditions:
                uses |= c.placeholders()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                obs.facts.update(step_obs.facts)
                return obs.fail("timeout", f"{label}: the sequence ran out of its timeout")
            request = HttpCheckConfig(
                name=f"{cfg.name}/{step.name}",
                type="http",
                url=_fill(step.url, captures),
                method=step.method,
                headers={k: _fill(v, captures) for k, v in step.headers.items()},
                body=_fill(step.body, captures) if step.body is not None else None,
                follow_redirects=cfg.follow_redirects,
                verify_tls=cfg.verify_tls,
                ca_file=cfg.ca_file,
                max_body=cfg.max_body,
            )
            sub = replace(
                target,
                check=request,
                timeout=remaining,
                conditions=conditions,
                uses=frozenset(uses),
            )
            step_obs = await http.observe(sub, probe)
            took = step_obs.timings.get("total") or 0.0
            total += took
            step_obs.facts["RESPONSE_TIME"] = took
            done.append(
                {"name": step.name, "status": step_obs.facts.get("STATUS"), "ms": round(took, 1)}
            )
            if step_obs.error is not None:
                obs.facts.update(step_obs.facts)
                obs.timings = {"total": total}
                return obs.fail(step_obs.error.kind, f"{label}: {step_obs.error.message}")
            facts = Facts(step_obs.facts)
            failed = [o for o in (evaluate(c, facts) for c in conditions) if not o.ok]
            if failed:
                obs.facts.update(step_obs.facts)
                obs.timings = {"total": total}
                return obs.fail("condition", f"{label}: " + "; ".join(o.describe() for o in failed))
            for name, source in sources.items():
                value = resolve(source, facts)
                if value is None:
                    obs.facts.update(step_obs.facts)
                    obs.timings = {"total": total}
                    return obs.fail(
                        "condition",
                        f"{label}: {source} is not in the response (for {{captures.{name}}})",
                    )
                captures[name] = _as_text(value)
                obs.secrets.append(captures[name])
        obs.facts.update(step_obs.facts)
        obs.facts["CONNECTED"] = True
        obs.timings = {"total": total}
        return obs
