"""GitHub Actions workflows: pwn requests and over-broad tokens."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prodshield.audit.context import AuditContext
from prodshield.audit.documents import ConfigDoc
from prodshield.audit.finding import Severity
from prodshield.audit.rules.base import Hit, Sample
from prodshield.audit.rules.config.base import ConfigRule

GHA = frozenset({"workflow"})
_WF = """name: ci
on:
  pull_request:
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""


def _wf(old: str, new: str) -> Sample:
    assert old in _WF
    return Sample(".github/workflows/ci.yml", _WF.replace(old, new))


def _triggers(doc: dict[str, Any]) -> set[str]:
    on = doc["on"] if "on" in doc else doc.get(True)  # type: ignore[call-overload]
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return {str(x) for x in on}
    if isinstance(on, dict):
        return {str(k) for k in on}
    return set()


class PullRequestTargetCheckout(ConfigRule):
    type = "config.gha-pull-request-target-checkout"
    severity = Severity.CRITICAL
    title = "pull_request_target workflow checks out the pull request's code"
    fix = "Use pull_request, or never check out/run the PR head under pull_request_target."
    kinds = GHA
    vulnerable = Sample(
        ".github/workflows/ci.yml",
        _WF.replace("  pull_request:\n", "  pull_request_target:\n").replace(
            "      - uses: actions/checkout@v4\n",
            "      - uses: actions/checkout@v4\n        with:\n"
            "          ref: ${{ github.event.pull_request.head.sha }}\n",
        ),
    )
    fixed = _wf("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for index, d in enumerate(subject.data):
            if not isinstance(d, dict) or "pull_request_target" not in _triggers(d):
                continue
            for job_name, job in (d.get("jobs") or {}).items():
                if not isinstance(job, dict):
                    continue
                for i, step in enumerate(job.get("steps") or []):
                    if not isinstance(step, dict):
                        continue
                    uses = str(step.get("uses", ""))
                    ref = str((step.get("with") or {}).get("ref", ""))
                    if uses.startswith("actions/checkout") and (
                        "pull_request.head" in ref or "head_ref" in ref or "refs/pull/" in ref
                    ):
                        yield Hit(
                            f"job {job_name} checks out {ref} with a write token and secrets",
                            subject.line_of((index, "jobs", job_name, "steps", i)),
                            key=f"{job_name}:{i}",
                        )


class WriteAllPermissions(ConfigRule):
    type = "config.gha-write-all"
    severity = Severity.HIGH
    title = "Workflow token has write-all permissions"
    fix = "Grant only what the job needs (permissions: contents: read, ...)."
    kinds = GHA
    vulnerable = _wf("permissions:\n  contents: read\n", "permissions: write-all\n")
    fixed = _wf("", "")

    def check(self, subject: ConfigDoc, ctx: AuditContext) -> Iterable[Hit]:
        for index, d in enumerate(subject.data):
            if not isinstance(d, dict):
                continue
            if d.get("permissions") == "write-all":
                yield Hit(
                    "permissions: write-all", subject.line_of((index, "permissions")), key="top"
                )
            for job_name, job in (d.get("jobs") or {}).items():
                if isinstance(job, dict) and job.get("permissions") == "write-all":
                    yield Hit(
                        f"job {job_name}: permissions: write-all",
                        subject.line_of((index, "jobs", job_name, "permissions")),
                        key=job_name,
                    )


RULES = (PullRequestTargetCheckout(), WriteAllPermissions())
