"""RFC 6125 host-name matching, the one copy the monitor and the audit share."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from prodshield.certnames import hostname_matches
from support.certs import make_pki


def _cert(tmp_path: Path, *hosts: str) -> x509.Certificate:
    cert_path, _ = make_pki(tmp_path).issue("leaf", hosts=hosts)
    return x509.load_pem_x509_certificate(cert_path.read_bytes())


def test_exact_names_ip_addresses_and_one_wildcard_label(tmp_path: Path) -> None:
    cert = _cert(tmp_path, "api.example.com", "*.shop.example.com", "127.0.0.1")
    assert hostname_matches(cert, "api.example.com")
    assert hostname_matches(cert, "API.Example.com.")  # case and a trailing dot do not matter
    assert hostname_matches(cert, "eu.shop.example.com")
    assert hostname_matches(cert, "127.0.0.1")
    assert not hostname_matches(cert, "a.eu.shop.example.com")  # one label only
    assert not hostname_matches(cert, "shop.example.com")
    assert not hostname_matches(cert, ".shop.example.com")  # no empty label for the wildcard
    assert not hostname_matches(cert, "127.0.0.2")
    assert not hostname_matches(cert, "example.com")
