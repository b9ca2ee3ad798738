"""The ``secrets`` family: the shared secret-leak engine (:mod:`prodshield.secrets`) run on the
audited files. One audit rule wraps the engine; each engine finding keeps its own rule name and
severity in the message and fingerprint.

With verification on (``--verify`` or ``audit.secrets.verify.enabled``) the files are read once
more first, every distinct secret a provider can check is asked once
(:mod:`prodshield.secrets.verification`), and each finding says what its provider answered; a
live secret is critical and cannot be suppressed (see ``AuditFinding.live``).

A text file too large for the other families (``MAX_FILE_BYTES``: a log, a dump, a bundle) is
still scanned here, streamed block by block as ``prodshield audit secrets`` does, so a key in it
stops the gate too."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodshield.audit.context import MAX_FILE_BYTES, AuditContext
from prodshield.audit.finding import AuditFinding, Severity
from prodshield.audit.rules.base import ExampleFromSample, Hit, Rule, Sample

_KEY_ID = "AKIA" + "QYLPMN5HFIQR7XYZ"  # split so scanners of this repository stay quiet


@dataclass
class SourceFile:
    path: Path
    text: str | None
    """The file's text; None for a file too large to hold, which is streamed instead."""


def engine_available() -> bool:
    try:
        import prodshield.secrets  # noqa: F401
    except ImportError:
        return False
    return True


class SecretLeak(ExampleFromSample):
    family = "secrets"
    type = "secrets.leak"
    severity = Severity.HIGH
    title = "Secret committed in a file"
    fix = (
        "Revoke and rotate the secret, remove it from the file (and history), read it at run time."
    )
    vulnerable = Sample("deploy/settings.yaml", f"aws:\n  access_key_id: {_KEY_ID}\n")
    fixed = Sample("deploy/settings.yaml", "aws:\n  access_key_id: ${AWS_ACCESS_KEY_ID}\n")

    def check(self, subject: SourceFile, ctx: AuditContext) -> Iterable[Hit]:
        scan, scanner = scan_settings(ctx)
        verdicts = ctx.cached("secrets", "verdicts")
        for f in engine_findings(scanner, subject, engine_path(ctx, subject.path)):
            message = f"{f.kind} ({f.rule}, confidence {f.confidence:.2f}): {f.redacted}"
            verdict = verdicts.get(f.secret_id) if verdicts is not None else None
            live = verdict is not None and verdict.status == "live"
            if verdicts is not None and not live and f.rule in scan.allow_rules:
                # the unrestricted verification scan found what the user allowed: counted
                scan.counters["allowed_config"] = scan.counters.get("allowed_config", 0) + 1
                continue
            if verdict is not None:
                word = "LIVE" if live else verdict.status
                message += f"; {word} ({verdict.provider}: {verdict.reason})"
            yield Hit(
                message,
                line=f.line,
                key=f.rule,
                severity=Severity.CRITICAL if live else gate_severity(f.severity, f.confidence),
                fingerprint=f.fingerprint,
                live=live,
                secret_id=f.secret_id,
            )


def engine_findings(scanner: Any, subject: SourceFile, path: str) -> Iterator[Any]:
    """The engine's findings in one file: from its text, or streamed when it is too large to hold
    (a binary one, a NUL early on, gives none)."""
    if subject.text is not None:
        yield from scanner.scan_text(subject.text, path=path)
        return
    from prodshield.secrets.files import BinaryContent, scan_file

    try:
        yield from scan_file(subject.path, display=path, scanner=scanner)
    except BinaryContent:
        return


def large_file(path: Path) -> bool:
    """A file past what the audit holds in memory (``MAX_FILE_BYTES``), so streamed."""
    try:
        return path.stat().st_size > MAX_FILE_BYTES
    except OSError:
        return False


def engine_path(ctx: AuditContext, path: Path) -> str:
    """The path as ``prodshield audit secrets`` names it (the root as given, joined with the
    file's place under it): the engine's fingerprints include it, so baselines are shared."""
    for root in ctx.paths:
        if root.is_file():
            if path == root:
                return str(root)
            continue
        rel = os.path.relpath(path, root)
        if not rel.startswith(".."):
            return os.path.join(str(root), rel)
    return str(path)


def scan_settings(ctx: AuditContext) -> tuple[Any, Any]:
    """The engine's ScanConfig from shield.yaml's ``audit:`` section (allow-lists, test folders,
    minimum confidence) and its scanner, built once per run. When verifying, the scanner is
    unrestricted (inline allows and allowed secret rules are applied after the verdicts)."""
    cached = ctx.cached("secrets", "scanner")
    if cached is None:
        from dataclasses import replace

        from prodshield.secrets import ScanConfig

        scan = ScanConfig.from_audit(ctx.audit_config, strict=ctx.settings.strict)
        scanning = scan
        if verifying(ctx):
            scanning = replace(scan, strict=True, allow_rules=frozenset(), values={})
        cached = (scan, scanning.scanner())
        ctx.remember("secrets", "scanner", cached)
    pair: tuple[Any, Any] = cached
    return pair


def verifying(ctx: AuditContext) -> bool:
    """Is live verification asked for (``--verify``, else ``audit.secrets.verify.enabled``)?"""
    if ctx.settings.verify_secrets is not None:
        return ctx.settings.verify_secrets
    cfg = ctx.audit_config
    return bool(cfg is not None and cfg.secrets.verify.enabled)


def verify_files(ctx: AuditContext, files: Iterable[tuple[Path, str | None]]) -> None:
    """Scan the files once, ask the providers about every distinct verifiable secret, and keep
    the verdicts (by secret id) for `SecretLeak.check`; the values are dropped afterwards."""
    from prodshield.secrets.verification import VerifySettings, verify_values

    _, scanner = scan_settings(ctx)
    for path, text in files:
        for _ in engine_findings(scanner, SourceFile(path, text), engine_path(ctx, path)):
            pass  # scanning collects the values in scanner.values
    cfg = ctx.audit_config.secrets.verify if ctx.audit_config is not None else None
    settings = (
        VerifySettings(
            timeout=cfg.timeout,
            concurrency=cfg.concurrency,
            max_secrets=cfg.max_secrets,
            base_urls=dict(cfg.base_urls),
        )
        if cfg is not None
        else VerifySettings()
    )
    values = scanner.values if scanner.values is not None else {}
    verdicts = verify_values(values, settings)
    values.clear()
    ctx.remember("secrets", "verdicts", verdicts)


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
        from prodshield.secrets.files import is_test_path, live_database

        scan, _ = scan_settings(ctx)

        def sources() -> Iterator[tuple[Path, str | None]]:
            for path in ctx.files():
                if not scan.include_tests and is_test_path(ctx.relpath(path), scan.test_dirs):
                    continue
                text = ctx.read_text(path)
                if text:
                    yield path, text
                elif text is None and large_file(path) and not live_database(path):
                    yield path, None

        if verifying(ctx):
            try:
                verify_files(ctx, sources())
            except Exception as exc:  # verification must not cost the audit its findings
                ctx.skipped.append(f"secrets: verification failed: {type(exc).__name__}: {exc}")
                ctx.remember("secrets", "verdicts", {})  # allowed rules still filtered in check
        for path, text in sources():
            for rule in rules:
                for hit in ctx.hits(rule, SourceFile(path, text), path):
                    yield ctx.finding(
                        rule,
                        hit.message,
                        path=path,
                        line=hit.line,
                        key=hit.key,
                        severity=hit.severity,
                        fingerprint_override=hit.fingerprint,
                        live=hit.live,
                        secret_id=hit.secret_id,
                    )


FAMILY = SecretsFamily()
