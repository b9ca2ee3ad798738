"""Certificate facts for conditions: expiry, issuer, subject, hostname match, protocol version."""

from __future__ import annotations

import ssl
import time
from typing import TYPE_CHECKING, Any

from prodshield.certnames import hostname_matches

if TYPE_CHECKING:
    from cryptography import x509


def _cn(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID

    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if attrs:
        return str(attrs[0].value)
    return name.rfc4514_string()


def certificate_facts(
    ssl_object: ssl.SSLObject | ssl.SSLSocket | None, host: str, uses: frozenset[str]
) -> dict[str, Any]:
    """Facts from the peer certificate of an established TLS connection (only those ``uses`` asks
    for, since parsing costs CPU)."""
    if ssl_object is None:
        return {}
    out: dict[str, Any] = {}
    if "TLS_VERSION" in uses:
        out["TLS_VERSION"] = ssl_object.version()
    wanted = {u for u in uses if u.startswith("CERTIFICATE_") and u != "CERTIFICATE_CHAIN_VALID"}
    if not wanted:
        return out
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return out
    from cryptography import x509  # imported on first use (large)

    cert = x509.load_der_x509_certificate(der)
    out["CERTIFICATE_EXPIRATION"] = (cert.not_valid_after_utc.timestamp() - time.time()) * 1000.0
    out["CERTIFICATE_ISSUER"] = _cn(cert.issuer)
    out["CERTIFICATE_SUBJECT"] = _cn(cert.subject)
    out["CERTIFICATE_HOSTNAME_MATCH"] = hostname_matches(cert, host)
    return out
