"""The ``tls`` family: certificates and protocols of live endpoints and of certificate files.

Each rule reads a :class:`TlsObservation`; its samples name a :mod:`prodshield.audit.tlsbench`
profile (``source`` says whether the rule needs a live endpoint, a file, or either).
"""

from __future__ import annotations

import concurrent.futures as cf
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.utils import CryptographyDeprecationWarning

from prodshield.audit.context import AuditContext
from prodshield.audit.finding import AuditFinding, Severity
from prodshield.audit.rules.base import ExampleFromSample, Hit, Rule, Sample
from prodshield.audit.rules.tls.observe import (
    CERT_SUFFIXES,
    KEY_SUFFIXES,
    MAX_BUNDLE,
    TlsObservation,
    analyse_trust,
    anchors,
    cn,
    issued_by,
    key_matches,
    load_private_key,
    pair_key,
    probe,
    self_signed,
)
from prodshield.audit.rules.tls.revocation import check_revocation
from prodshield.certnames import hostname_matches

CLEAN = Sample(profile="clean")


class TlsRule(ExampleFromSample):
    family = "tls"
    type: str
    severity: Severity
    title: str
    fix: str
    vulnerable: Sample
    fixed: Sample = CLEAN
    source = "both"  # endpoint | file | both

    def check(self, subject: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        if self.source in ("both", subject.source) and subject.error is None and subject.chain:
            yield from self.inspect(subject, ctx)

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        raise NotImplementedError


def _days(delta_seconds: float) -> str:
    days = delta_seconds / 86400
    return f"{days:.1f} days" if abs(days) < 10 else f"{days:.0f} days"


class Expired(TlsRule):
    type = "tls.expired"
    severity = Severity.CRITICAL
    title = "Certificate expired"
    fix = "Renew the certificate (and automate renewal, e.g. ACME)."
    vulnerable = Sample(profile="expired")

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        for c in obs.chain:
            if c.not_valid_after_utc < obs.now:
                ago = (obs.now - c.not_valid_after_utc).total_seconds()
                yield Hit(
                    f"{cn(c)} expired {_days(ago)} ago "
                    f"({c.not_valid_after_utc:%Y-%m-%d %H:%M} UTC)",
                    key=cn(c),
                )


class NotYetValid(TlsRule):
    type = "tls.not-yet-valid"
    severity = Severity.HIGH
    title = "Certificate not yet valid"
    fix = "Check the issuing clock; serve a certificate whose validity has started."
    vulnerable = Sample(profile="not-yet-valid")

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        for c in obs.chain:
            if c.not_valid_before_utc > obs.now:
                wait = (c.not_valid_before_utc - obs.now).total_seconds()
                yield Hit(
                    f"{cn(c)} becomes valid in {_days(wait)} "
                    f"({c.not_valid_before_utc:%Y-%m-%d} UTC)",
                    key=cn(c),
                )


def _left(obs: TlsObservation) -> float | None:
    leaf = obs.chain[0]
    if leaf.not_valid_after_utc < obs.now or leaf.not_valid_before_utc > obs.now:
        return None
    return (leaf.not_valid_after_utc - obs.now).total_seconds() / 86400


class ExpiringSoon(TlsRule):
    type = "tls.expiring-soon"
    severity = Severity.MEDIUM
    title = "Certificate expires soon (warning window)"
    fix = "Renew before the deadline; check the renewal job."
    vulnerable = Sample(profile="expiring-soon")

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        left = _left(obs)
        s = ctx.settings
        if left is not None and s.expiry_critical_days <= left < s.expiry_warn_days:
            yield Hit(
                f"{cn(obs.chain[0])} expires in {left:.1f} days "
                f"(warning under {s.expiry_warn_days:g})",
                key="leaf",
            )


class ExpiringImminent(TlsRule):
    type = "tls.expiring-imminent"
    severity = Severity.CRITICAL
    title = "Certificate expires within days (critical window)"
    fix = "Renew now."
    vulnerable = Sample(profile="expiring-imminent")

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        left = _left(obs)
        if left is not None and left < ctx.settings.expiry_critical_days:
            yield Hit(
                f"{cn(obs.chain[0])} expires in {left:.1f} days "
                f"(critical under {ctx.settings.expiry_critical_days:g})",
                key="leaf",
            )


class _TrustRule(TlsRule):
    status = ""
    source = "endpoint"

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        if obs.trust is not None and obs.trust.status == self.status:
            yield Hit(obs.trust.detail, key=self.status)


class SelfSigned(_TrustRule):
    type = "tls.self-signed"
    severity = Severity.HIGH
    title = "Self-signed certificate"
    fix = "Serve a certificate from a CA clients trust (or pass --ca-file for a private PKI)."
    status = "self-signed"
    vulnerable = Sample(profile="self-signed")


class UntrustedRoot(_TrustRule):
    type = "tls.untrusted-root"
    severity = Severity.HIGH
    title = "Certificate chain ends at an untrusted root"
    fix = "Use a certificate from a trusted CA, or pass --ca-file with the private root."
    status = "untrusted-root"
    vulnerable = Sample(profile="untrusted-root")


class IncompleteChain(_TrustRule):
    type = "tls.incomplete-chain"
    severity = Severity.MEDIUM
    title = "Server does not send its intermediate certificate"
    fix = "Serve the full chain (leaf + intermediates), e.g. fullchain.pem."
    status = "incomplete-chain"
    vulnerable = Sample(profile="incomplete-chain")


class HostnameMismatch(TlsRule):
    type = "tls.hostname-mismatch"
    severity = Severity.HIGH
    title = "Certificate does not match the host name"
    fix = "Issue the certificate for the served name (subjectAltName)."
    source = "endpoint"
    vulnerable = Sample(profile="hostname-mismatch")

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        if obs.hostname and not hostname_matches(obs.chain[0], obs.hostname):
            try:
                san = (
                    obs.chain[0]
                    .extensions.get_extension_for_class(x509.SubjectAlternativeName)
                    .value
                )
                names = [str(n.value) for n in san]
            except x509.ExtensionNotFound:
                names = []
            yield Hit(
                f"{obs.hostname} is not in the certificate's names "
                f"({', '.join(names) or 'no subjectAltName'})",
                key=obs.hostname,
            )


def _key_weakness(c: x509.Certificate) -> str | None:
    key = c.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        return f"RSA {key.key_size} bits (< 2048)"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < 256:
        return f"EC {key.curve.name} {key.curve.key_size} bits (< 256)"
    # Naming dsa.DSAPublicKey warns that DSA is deprecated (cryptography 46); a user auditing a
    # site should not see the library's notice on every run, so the name is looked up quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        dsa_key = dsa.DSAPublicKey
    if isinstance(key, dsa_key):
        return f"DSA {key.key_size} bits"
    return None


class WeakKey(TlsRule):
    type = "tls.weak-key"
    severity = Severity.HIGH
    title = "Weak certificate key"
    fix = "Reissue with RSA >= 2048 bits or ECDSA P-256."
    vulnerable = Sample(profile="weak-key")

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        for c in obs.chain:
            weak = _key_weakness(c)
            if weak:
                yield Hit(f"{cn(c)} has a weak key: {weak}", key=cn(c))


class WeakSignature(TlsRule):
    type = "tls.weak-signature"
    severity = Severity.HIGH
    title = "Certificate signed with SHA-1 or MD5"
    fix = "Reissue the certificate with a SHA-256 signature."
    vulnerable = Sample(profile="weak-signature")

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        for c in obs.chain:
            try:
                algo = c.signature_hash_algorithm
            except Exception:  # an algorithm cryptography cannot name: report it
                yield Hit(f"{cn(c)} uses an unknown signature algorithm", key=cn(c))
                continue
            if algo is not None and algo.name in ("sha1", "md5") and not self_signed(c):
                yield Hit(f"{cn(c)} is signed with {algo.name.upper()}", key=cn(c))


class _Legacy(TlsRule):
    version = ""
    source = "endpoint"

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        if self.version in obs.legacy:
            yield Hit(
                f"the server completes a {self.version.replace('v', ' ')} handshake",
                key=self.version,
            )


class LegacyTls10(_Legacy):
    type = "tls.legacy-tls1.0"
    severity = Severity.HIGH
    title = "TLS 1.0 accepted"
    fix = "Disable TLS 1.0 (nginx: ssl_protocols TLSv1.2 TLSv1.3)."
    version = "TLSv1.0"
    vulnerable = Sample(profile="tls1.0")


class LegacyTls11(_Legacy):
    type = "tls.legacy-tls1.1"
    severity = Severity.HIGH
    title = "TLS 1.1 accepted"
    fix = "Disable TLS 1.1 (nginx: ssl_protocols TLSv1.2 TLSv1.3)."
    version = "TLSv1.1"
    vulnerable = Sample(profile="tls1.1")


class Revoked(TlsRule):
    type = "tls.revoked"
    severity = Severity.CRITICAL
    title = "Certificate revoked (OCSP/CRL)"
    fix = "Replace the certificate; find out why it was revoked."
    source = "endpoint"
    vulnerable = Sample(profile="revoked")

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        if obs.revoked:
            yield Hit(f"{cn(obs.chain[0])}: {obs.revoked}", key="leaf")


class KeyMismatch(TlsRule):
    type = "tls.key-mismatch"
    severity = Severity.CRITICAL
    title = "Private key does not match the certificate"
    fix = "Pair the certificate with the key it was issued for (the server will not start)."
    source = "file"
    vulnerable = Sample(profile="key-mismatch")

    def inspect(self, obs: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        if obs.key_matches is False and obs.key_path is not None:
            yield Hit(
                f"{ctx.relpath(obs.key_path)} is not the key of {cn(obs.chain[0])}",
                key=str(obs.key_path.name),
            )


class HandshakeFailed(TlsRule):
    type = "tls.handshake-failed"
    severity = Severity.HIGH
    title = "TLS endpoint not speaking TLS"
    fix = "Check that the port serves TLS (not plain HTTP) and completes a handshake."
    source = "endpoint"
    vulnerable = Sample(profile="no-tls")

    def check(self, subject: TlsObservation, ctx: AuditContext) -> Iterable[Hit]:
        if subject.source == "endpoint" and subject.error is not None:
            yield Hit(subject.error, key="handshake")


RULES: tuple[Rule[Any], ...] = (
    Expired(),
    NotYetValid(),
    ExpiringSoon(),
    ExpiringImminent(),
    SelfSigned(),
    UntrustedRoot(),
    IncompleteChain(),
    HostnameMismatch(),
    WeakKey(),
    WeakSignature(),
    LegacyTls10(),
    LegacyTls11(),
    Revoked(),
    KeyMismatch(),
    HandshakeFailed(),
)


# --- collecting observations -------------------------------------------------------------------


def file_observations(ctx: AuditContext) -> Iterator[TlsObservation]:
    keys: dict[Any, Any] = {}
    certs: list[tuple[Any, list[x509.Certificate]]] = []
    for path in ctx.files():
        suffix = path.suffix.lower()
        if suffix not in CERT_SUFFIXES | KEY_SUFFIXES:
            continue
        text = ctx.read_text(path)
        if text is None:
            continue
        if "PRIVATE KEY-----" in text:
            key = load_private_key(text)
            if key is not None:
                keys[path] = key
        if "BEGIN CERTIFICATE" in text:
            try:
                with warnings.catch_warnings():
                    # a non-positive serial (old CA bundles) is a warning from cryptography, not
                    # a line for the audit's reader
                    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                    chain = x509.load_pem_x509_certificates(text.encode())
            except ValueError as exc:
                ctx.skipped.append(f"{ctx.relpath(path)}: unreadable certificate: {exc}")
                continue
            if len(chain) > MAX_BUNDLE:
                ctx.skipped.append(f"{ctx.relpath(path)}: a CA bundle ({len(chain)} certificates)")
                continue
            certs.append((path, chain))
    for path, chain in certs:
        obs = TlsObservation("file", ctx.relpath(path), chain=chain, path=path)
        key_path = pair_key(path, keys)
        if key_path is not None:
            obs.key_path = key_path
            obs.key_matches = key_matches(chain[0], keys[key_path])
        yield obs


def endpoint_observations(ctx: AuditContext) -> list[TlsObservation]:
    """Probe every target concurrently (bounded pool, per-connection timeouts)."""
    targets = ctx.tls_targets
    if not targets:
        return []
    trusted = anchors(ctx.ca_file)
    settings = ctx.settings
    workers = max(1, min(settings.concurrency, len(targets)))

    def one(t: Any) -> TlsObservation:
        obs = probe(t, timeout=settings.timeout)
        if obs.chain:
            obs.trust = analyse_trust(obs.chain, trusted)
            if settings.revocation and len(obs.chain) >= 1:
                issuer = next(
                    (c for c in [*obs.chain[1:], *trusted] if issued_by(obs.chain[0], c)), None
                )
                if issuer is not None:
                    obs.revoked = check_revocation(
                        obs.chain[0],
                        issuer,
                        hosts=settings.revocation_hosts,
                        timeout=settings.timeout,
                        notes=ctx.skipped,
                    )
        return obs

    with cf.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, targets))


class TlsFamily:
    name = "tls"
    rules = RULES

    def run(self, ctx: AuditContext, rules: tuple[Rule[Any], ...]) -> Iterator[AuditFinding]:
        observations = [*file_observations(ctx), *endpoint_observations(ctx)]
        for obs in observations:
            if obs.unreachable is not None:
                # like testssl.sh's "can't connect": nothing to grade, so no finding
                ctx.skipped.append(f"{obs.label}: could not check TLS: {obs.unreachable}")
                ctx.unreachable.append(obs.label)
                continue
            ctx.tls_graded += 1
            for rule in rules:
                for hit in ctx.hits(rule, obs, obs.label):
                    if obs.source == "file":
                        yield ctx.finding(
                            rule,
                            hit.message,
                            path=obs.path,
                            line=None,
                            key=hit.key,
                            fix=hit.fix,
                            severity=hit.severity,
                        )
                    else:
                        yield ctx.finding(
                            rule,
                            hit.message,
                            target=obs.label,
                            key=hit.key,
                            fix=hit.fix,
                            severity=hit.severity,
                        )


FAMILY = TlsFamily()
