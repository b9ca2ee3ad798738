"""``type: check``: run one shield.yaml check once; the output is true when it passed.

``name`` is the check's name, ``env`` (optional) its environment. So a steady-state hypothesis can
be the checks monitoring already runs: ``{type: probe, tolerance: true, provider: {type: check,
name: api}}``. The check runs through the shield.yaml ``chaos run`` reads (``-c``, ``$PRODSHIELD_CONFIG`` or
./shield.yaml); without one the probe fails with a one-line reason. The result is not stored (monitoring keeps its own history).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prodshield.chaos.experiments.errors import ActivityFailed
from prodshield.chaos.experiments.providers.base import ActivityContext
from prodshield.errors import ProdshieldError


class CheckProvider:
    type = "check"
    example: Mapping[str, Any] = {"type": "check", "name": "api", "env": "production"}

    def validate(self, provider: Mapping[str, Any]) -> list[str]:
        problems = []
        if not isinstance(provider.get("name"), str) or not provider.get("name"):
            problems.append("a check provider needs a 'name' (a check in shield.yaml)")
        env = provider.get("env")
        if env is not None and (not isinstance(env, str) or not env):
            problems.append("check 'env' must be an environment name")
        return problems

    def run(self, provider: Mapping[str, Any], context: ActivityContext) -> Any:
        if context.run_check is None:
            raise ActivityFailed(
                "check: no shield.yaml to run checks from (give chaos run -c FILE, set "
                "$PRODSHIELD_CONFIG, or run it where ./shield.yaml is)"
            )
        env = provider.get("env")
        try:
            passed, detail = context.run_check(str(provider["name"]), str(env) if env else None)
        except ProdshieldError as exc:  # an unknown check or environment
            raise ActivityFailed(f"check: {exc}") from None
        if context.activity_type != "probe" and not passed:
            raise ActivityFailed(f"check {provider['name']}: {detail}")
        return passed


PROVIDER = CheckProvider()
