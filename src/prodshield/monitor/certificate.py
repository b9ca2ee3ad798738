"""Certificate facts for conditions: expiry, issuer, subject, hostname match, protocol version."""

from __future__ import annotations

import ipaddress
import ssl
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509


def _cn(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID

    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if attrs:
        return str(attrs[0].value)
    return name.rfc4514_string()


def hostname_matches(cert: x509.Certificate, host: str) -> bool:
    """RFC 6125 matching: SAN DNS names (one leading ``*.`` label) or IP addresses."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        return ip in san.get_values_for_type(x509.IPAddress)
    host = host.lower().rstrip(".")
    for name in san.get_values_for_type(x509.DNSName):
        name = name.lower().rstrip(".")
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


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
