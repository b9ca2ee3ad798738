"""What the TLS rules look at: live endpoints probed on the wire, and certificate files.

A probe makes up to three handshakes in parallel threads: one permissive handshake (certificate
checks off, OpenSSL security level 0) to see the chain the server really sends, and one
single-version handshake each for TLS 1.0 and 1.1. Trust, hostname and chain completeness are then
decided here with ``cryptography``, so each defect gets its own reason.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime as dt
import ipaddress
import socket
import ssl
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from prodshield.audit.context import TlsTarget

_SHA256 = hashes.SHA256()


@dataclass
class Trust:
    status: str  # trusted | self-signed | untrusted-root | incomplete-chain | unknown
    detail: str = ""


@dataclass
class TlsObservation:
    source: str  # "endpoint" | "file"
    label: str
    chain: list[x509.Certificate] = field(default_factory=list)
    target: TlsTarget | None = None
    path: Path | None = None
    hostname: str | None = None
    trust: Trust | None = None
    version: str | None = None
    legacy: list[str] = field(default_factory=list)
    error: str | None = None
    """The handshake failed after the connection was made (the endpoint does not speak TLS)."""
    unreachable: str | None = None
    """Why no connection was made: the endpoint could not be checked (not a finding)."""
    key_path: Path | None = None
    key_matches: bool | None = None
    revoked: str | None = None
    elapsed: float = 0.0
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def cn(cert: x509.Certificate) -> str:
    try:
        attrs = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else cert.subject.rfc4514_string()
    except (ValueError, IndexError):
        return "?"


# --- trust -------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _load_bundle(path: str) -> tuple[x509.Certificate, ...]:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # odd serials in system bundles
            return tuple(x509.load_pem_x509_certificates(data))
    except ValueError:
        try:
            return (x509.load_der_x509_certificate(data),)
        except ValueError:
            return ()


def anchors(ca_file: Path | None, *, system: bool = True) -> tuple[x509.Certificate, ...]:
    """Trust anchors: the system bundle plus ``ca_file``."""
    out: list[x509.Certificate] = []
    if system:
        cafile = ssl.get_default_verify_paths().cafile
        if cafile:
            out.extend(_load_bundle(cafile))
    if ca_file is not None:
        out.extend(_load_bundle(str(ca_file)))
    return tuple(out)


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (UnsupportedAlgorithm, ValueError):
        # e.g. SHA-1: the high-level check refuses it, the primitive still verifies it
        try:
            algorithm = cert.signature_hash_algorithm
        except UnsupportedAlgorithm:
            return False
        return verify_signature(issuer, cert.signature, cert.tbs_certificate_bytes, algorithm)
    except (TypeError, InvalidSignature):
        return False


def verify_signature(
    issuer: x509.Certificate, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm | None
) -> bool:
    key = issuer.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        else:
            return False
        return True
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False


def self_signed(cert: x509.Certificate) -> bool:
    return issued_by(cert, cert)


def analyse_trust(chain: list[x509.Certificate], trusted: tuple[x509.Certificate, ...]) -> Trust:
    """Build a path from the leaf through the sent certificates to a trust anchor."""
    if not chain:
        return Trust("unknown", "no certificate")
    leaf, sent = chain[0], chain[1:]
    fingerprints = {c.fingerprint(_SHA256) for c in trusted}
    if self_signed(leaf):
        if leaf.fingerprint(_SHA256) in fingerprints:
            return Trust("trusted")
        return Trust("self-signed", f"the certificate for {cn(leaf)} is signed by itself")
    current = leaf
    for _ in range(10):
        if any(issued_by(current, a) for a in trusted):
            return Trust("trusted")
        nxt = next((c for c in sent if c is not current and issued_by(current, c)), None)
        if nxt is None:
            if current is leaf:
                return Trust(
                    "incomplete-chain",
                    f"the server sent {cn(leaf)} without its issuer "
                    f"{current.issuer.rfc4514_string()} (missing intermediate)",
                )
            return Trust(
                "untrusted-root",
                f"the chain ends at {current.issuer.rfc4514_string()}, which is not a trusted CA",
            )
        if self_signed(nxt):
            if nxt.fingerprint(_SHA256) in fingerprints:
                return Trust("trusted")
            return Trust("untrusted-root", f"the root {cn(nxt)} is not a trusted CA")
        current = nxt
    return Trust("untrusted-root", "chain too long")


# --- live probing ----------------------------------------------------------------------------


def _client_context(version: ssl.TLSVersion | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # the probe must see every chain, valid or not; trust is decided afterwards
    ctx.check_hostname = False  # prodshield: allow config.python-tls-verify-disabled
    ctx.verify_mode = ssl.CERT_NONE  # prodshield: allow config.python-tls-verify-disabled
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if version is None:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        else:
            ctx.minimum_version = version
            ctx.maximum_version = version
    return ctx


_CONTEXTS: dict[str, ssl.SSLContext] = {}


def _context(name: str) -> ssl.SSLContext:
    if name not in _CONTEXTS:
        version = {"TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1}.get(name)
        _CONTEXTS[name] = _client_context(version)
    return _CONTEXTS[name]


def legacy_supported() -> list[str]:
    """Legacy versions this OpenSSL can still offer (at SECLEVEL 0); empty if none."""
    out = []
    for name, available in (("TLSv1.0", ssl.HAS_TLSv1), ("TLSv1.1", ssl.HAS_TLSv1_1)):
        if not available:
            continue
        try:
            _context(name)
        except (ValueError, ssl.SSLError):
            continue
        out.append(name)
    return out


def _handshake(
    target: TlsTarget, ctx: ssl.SSLContext, timeout: float
) -> tuple[list[bytes], str | None]:
    """Connect and shake hands; return (DER chain as sent, negotiated version)."""
    sni = target.servername or target.host
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(sni)
        sni = None  # type: ignore[assignment]
    try:
        raw = socket.create_connection((target.host, target.port), timeout=timeout)
    except OSError as exc:
        raise Unreachable(_unreachable(exc)) from exc
    with raw:
        raw.settimeout(timeout)
        with ctx.wrap_socket(raw, server_hostname=sni) as tls:
            chain: list[bytes] = []
            sslobj = getattr(tls, "_sslobj", None)
            getter = getattr(sslobj, "get_unverified_chain", None)
            if getter is not None:
                for c in getter() or []:
                    chain.append(c.public_bytes(ssl._ssl.ENCODING_DER))  # type: ignore[attr-defined]
            if not chain:
                der = tls.getpeercert(binary_form=True)
                if der:
                    chain.append(der)
            return chain, tls.version()


def probe(target: TlsTarget, *, timeout: float = 5.0, legacy: bool = True) -> TlsObservation:
    """Observe one endpoint: its chain, negotiated version and which legacy versions it accepts."""
    obs = TlsObservation(
        "endpoint", target.label, target=target, hostname=target.servername or target.host
    )
    started = time.perf_counter()
    names = ["main"] + (legacy_supported() if legacy else [])
    with cf.ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {
            n: pool.submit(_handshake, target, _context(n if n != "main" else "main"), timeout)
            for n in names
        }
        for name, fut in futures.items():
            try:
                chain, version = fut.result(timeout=timeout + 1)
            except Unreachable as exc:
                if name == "main":
                    obs.unreachable = str(exc)
                continue
            except (OSError, ssl.SSLError, cf.TimeoutError) as exc:
                if name == "main":
                    obs.error = _describe(exc)
                continue
            if name == "main":
                obs.version = version
                try:
                    obs.chain = [x509.load_der_x509_certificate(d) for d in chain]
                except ValueError as exc:
                    obs.error = f"unparsable certificate: {exc}"
            elif version in (name, name.replace(".0", "")):
                obs.legacy.append(name)
    obs.elapsed = time.perf_counter() - started
    return obs


class Unreachable(Exception):
    """No TCP connection to the endpoint (its name does not resolve, nothing listens, no route,
    no answer): nothing was learnt about its TLS."""


def _unreachable(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"its name does not resolve ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer to the connection (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"cannot connect ({exc.strerror or exc})"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError | socket.timeout | cf.TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


# --- files --------------------------------------------------------------------------------

CERT_SUFFIXES = {".pem", ".crt", ".cer", ".cert"}
KEY_SUFFIXES = {".pem", ".key"}
MAX_BUNDLE = 8


def load_private_key(text: str) -> object | None:
    if "PRIVATE KEY-----" not in text or "ENCRYPTED" in text:
        return None
    start = text.find("-----BEGIN")
    while start >= 0:
        end_marker = text.find("-----END", start)
        end = text.find("-----", end_marker + 8)
        block = text[start : end + 5]
        if "PRIVATE KEY" in block.split("\n", 1)[0]:
            try:
                return serialization.load_pem_private_key(block.encode(), password=None)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                return None
        start = text.find("-----BEGIN", end)
    return None


def _public_der(key: object) -> bytes | None:
    pub = getattr(key, "public_key", None)
    obj: Any = pub() if callable(pub) else key
    try:
        der: bytes = obj.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return der
    except (AttributeError, ValueError, TypeError):
        return None


def key_matches(cert: x509.Certificate, key: object) -> bool:
    return _public_der(cert.public_key()) == _public_der(key)


def pair_key(cert_path: Path, keys: dict[Path, object]) -> Path | None:
    """The private key file that belongs with ``cert_path`` (same stem, letsencrypt names, or the
    only key in the folder)."""
    same_dir = {p: k for p, k in keys.items() if p.parent == cert_path.parent}
    for p in same_dir:
        if p.stem == cert_path.stem and p != cert_path:
            return p
    if cert_path.name in ("fullchain.pem", "cert.pem"):
        for p in same_dir:
            if p.name == "privkey.pem":
                return p
    if cert_path in same_dir:
        return cert_path  # a .pem holding both
    if len(same_dir) == 1:
        return next(iter(same_dir))
    return None
