"""Revocation: OCSP from the certificate's AIA and the CRL from its CDP (opt-in).

Requests go only to hosts the user lists (``audit.revocation_hosts``); never to a third party
by default. Every request has a timeout; failures are reported as skipped, not as findings.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from prodshield.audit.rules.tls.observe import verify_signature

MAX_BYTES = 4 * 1024 * 1024


def _urls_ocsp(cert: x509.Certificate) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [
        str(d.access_location.value)
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]


def _urls_crl(cert: x509.Certificate) -> list[str]:
    try:
        cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [
        str(n.value)
        for dp in cdp
        for n in dp.full_name or []
        if isinstance(n, x509.UniformResourceIdentifier)
    ]


def _allowed(url: str, hosts: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in hosts


def _fetch(url: str, timeout: float, data: bytes | None = None) -> bytes:
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    if data:
        req.add_header("Content-Type", "application/ocsp-request")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return bytes(resp.read(MAX_BYTES))


def check_revocation(
    leaf: x509.Certificate,
    issuer: x509.Certificate,
    *,
    hosts: tuple[str, ...],
    timeout: float,
    notes: list[str],
) -> str | None:
    """A reason string when the leaf is revoked (OCSP first, then CRL); None otherwise."""
    for url in _urls_ocsp(leaf):
        if not _allowed(url, hosts):
            notes.append(f"revocation: OCSP {url} not in the allowed hosts, not asked")
            continue
        try:
            req = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
            resp = ocsp.load_der_ocsp_response(_fetch(url, timeout, req.public_bytes(Encoding.DER)))
        except (OSError, urllib.error.URLError, ValueError) as exc:
            notes.append(f"revocation: OCSP {url}: {exc}")
            continue
        if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            notes.append(f"revocation: OCSP {url}: {resp.response_status.name}")
            continue
        if not verify_signature(
            issuer, resp.signature, resp.tbs_response_bytes, resp.signature_hash_algorithm
        ):
            notes.append(f"revocation: OCSP {url}: bad signature, ignored")
            continue
        if resp.serial_number != leaf.serial_number:
            continue
        if resp.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            return f"OCSP responder {urlsplit(url).netloc} says revoked"
        if resp.certificate_status == ocsp.OCSPCertStatus.GOOD:
            return None
    for url in _urls_crl(leaf):
        if not _allowed(url, hosts):
            notes.append(f"revocation: CRL {url} not in the allowed hosts, not fetched")
            continue
        try:
            data = _fetch(url, timeout)
            crl = (
                x509.load_pem_x509_crl(data)
                if data.lstrip().startswith(b"-----")
                else x509.load_der_x509_crl(data)
            )
        except (OSError, urllib.error.URLError, ValueError) as exc:
            notes.append(f"revocation: CRL {url}: {exc}")
            continue
        if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            notes.append(f"revocation: CRL {url}: not signed by the issuer, ignored")
            continue
        if crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None:
            return f"listed in the CRL at {urlsplit(url).netloc}"
    return None
