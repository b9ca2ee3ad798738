"""The ``secrets`` family: the shared secret-leak engine (:mod:`prodshield.secrets`) run on the
audited files. One audit rule wraps the engine; each engine finding keeps its own rule name and
severity in the message and fingerprint."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodshield.audit.context import AuditContext
from prodshield.audit.finding import AuditFinding, Severity
from prodshield.audit.rules.base import Hit, Rule, Sample

_TOKEN = "ghp_" + "x7Kq2LmN9pR4sT6vW8yZ0aB3cD5eF1gH2iJ4"


@dataclass
class SourceFile:
    path: Path
    text: str


def engine_available() -> bool:
    try:
        import prodshield.secrets  # noqa: F401
    except ImportError:
        return False
    return True


class SecretLeak:
    family = "secrets"
    id = "secrets.leak"
    severity = Severity.HIGH
    title = "Secret committed in a file"
    fix = (
        "Revoke and rotate the secret, remove it from the file (and history), read it at run time."
    )
    vulnerable = Sample("deploy/settings.yaml", f"github:\n  token: {_TOKEN}\n")
    fixed = Sample("deploy/settings.yaml", "github:\n  token: ${GITHUB_TOKEN}\n")

    def check(self, subject: SourceFile, ctx: AuditContext) -> Iterable[Hit]:
        from prodshield.secrets import scan_text

        for f in scan_text(subject.text, path=ctx.relpath(subject.path)):
            yield Hit(
                f"{f.kind} ({f.rule}, confidence {f.confidence:.2f}): {f.redacted}",
                line=f.line,
                key=f.rule,
                severity=gate_severity(f.severity, f.confidence),
                fingerprint=f.fingerprint,
            )


def gate_severity(engine: str, confidence: float) -> Severity:
    """The engine's severity, raised to high for confident matches: a credential committed to
    a deploy tree must stop the deployment under the default gate (``--fail-on high``)."""
    sev = Severity(engine) if engine in Severity._value2member_map_ else Severity.HIGH
    if confidence >= 0.75 and not sev.at_least(Severity.HIGH):
        return Severity.HIGH
    return sev


RULES: tuple[Rule[Any], ...] = (SecretLeak(),)


class SecretsFamily:
    name = "secrets"
    rules = RULES

    def run(self, ctx: AuditContext, rules: tuple[Rule[Any], ...]) -> Iterator[AuditFinding]:
        if not engine_available():
            ctx.skipped.append("secrets: the secret engine (prodshield.secrets) is not installed")
            return
        for path in ctx.files():
            text = ctx.read_text(path)
            if not text:
                continue
            for rule in rules:
                for hit in ctx.hits(rule, SourceFile(path, text), ctx.relpath(path)):
                    yield ctx.finding(
                        rule,
                        hit.message,
                        path=path,
                        line=hit.line,
                        key=hit.key,
                        severity=hit.severity,
                        fingerprint_override=hit.fingerprint,
                    )


FAMILY = SecretsFamily()
