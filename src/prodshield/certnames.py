"""Does a certificate name a host? RFC 6125 matching shared by the monitor's certificate facts
(``[CERTIFICATE_HOSTNAME_MATCH]``) and the audit's TLS rules.

Only subjectAltName counts (the subject's CN is ignored, as browsers do): an IP address matches an
``IPAddress`` entry, a host name a ``DNSName`` equal to it or a wildcard ``*.rest`` standing for
exactly one non-empty leftmost label. Imports ``cryptography`` on first use (it is large).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509


def hostname_matches(cert: x509.Certificate, host: str) -> bool:
    """Whether ``cert``'s subjectAltName covers ``host`` (a DNS name or an IP address)."""
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
    name = host.lower().rstrip(".")
    for pattern in san.get_values_for_type(x509.DNSName):
        p = pattern.lower().rstrip(".")
        if p == name:
            return True
        if p.startswith("*.") and "." in name:
            head, _, rest = name.partition(".")
            if head and rest == p[2:]:
                return True
    return False
