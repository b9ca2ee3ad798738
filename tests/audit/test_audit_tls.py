"""TLS family against real TLS servers on loopback, made by the bench with a private CA."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import pytest

from prodshield.audit import AuditFinding, AuditSettings, TlsTarget, audit
from prodshield.audit.rules.tls.observe import legacy_supported
from prodshield.audit.rules.tls.revocation import check_revocation
from prodshield.audit.tlsbench import PROFILES, TlsBench

EXPECTED = {
    "expired": ("tls.expired", "expired"),
    "not-yet-valid": ("tls.not-yet-valid", "becomes valid in"),
    "expiring-soon": ("tls.expiring-soon", "expires in 20"),
    "expiring-imminent": ("tls.expiring-imminent", "expires in 3"),
    "self-signed": ("tls.self-signed", "signed by itself"),
    "untrusted-root": ("tls.untrusted-root", "not a trusted CA"),
    "hostname-mismatch": ("tls.hostname-mismatch", "other.example.net"),
    "weak-key": ("tls.weak-key", "RSA 1024"),
    "weak-signature": ("tls.weak-signature", "SHA1"),
    "incomplete-chain": ("tls.incomplete-chain", "missing intermediate"),
    "tls1.0": ("tls.legacy-tls1.0", "TLS 1.0"),
    "tls1.1": ("tls.legacy-tls1.1", "TLS 1.1"),
    "revoked": ("tls.revoked", "revoked"),
    "no-tls": ("tls.handshake-failed", "handshake failed"),
}


@pytest.fixture(scope="module")
def endpoints(bench: TlsBench) -> dict[str, TlsTarget]:
    return {p: bench.endpoint(p) for p in PROFILES if p != "key-mismatch"}


@pytest.fixture(scope="module")
def report_by_target(
    bench: TlsBench, endpoints: dict[str, TlsTarget]
) -> dict[str, list[AuditFinding]]:
    settings = AuditSettings(revocation=True, revocation_hosts=("127.0.0.1",))
    report = audit(
        families="tls",
        tls_targets=list(endpoints.values()),
        ca_file=bench.ca_file,
        settings=settings,
    )
    out: dict[str, list[AuditFinding]] = {}
    for f in report.findings:
        out.setdefault(f.target or "", []).append(f)
    return out


def _legacy_available(profile: str) -> None:
    version = {"tls1.0": "TLSv1.0", "tls1.1": "TLSv1.1"}.get(profile)
    if version and version not in legacy_supported():
        pytest.skip(
            f"this OpenSSL cannot negotiate {version} even at SECLEVEL 0 "
            "(built without it), so a legacy endpoint cannot be served or probed"
        )


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_each_defect_named_with_its_reason(
    profile: str, endpoints: dict[str, TlsTarget], report_by_target: dict[str, list[AuditFinding]]
) -> None:
    _legacy_available(profile)
    rule, reason = EXPECTED[profile]
    findings = report_by_target.get(endpoints[profile].label, [])
    hits = [f for f in findings if f.rule == rule]
    assert hits, f"{profile}: expected {rule}, got {[(f.rule, f.message) for f in findings]}"
    assert reason in hits[0].message
    assert hits[0].target == endpoints[profile].label and hits[0].path is None


def test_clean_endpoint_yields_nothing(
    endpoints: dict[str, TlsTarget], report_by_target: dict[str, list[AuditFinding]]
) -> None:
    assert report_by_target.get(endpoints["clean"].label, []) == []


def test_single_defects_do_not_spill(
    endpoints: dict[str, TlsTarget], report_by_target: dict[str, list[AuditFinding]]
) -> None:
    """A defect endpoint reports its own rule (TLS 1.0 servers also accept 1.1)."""
    for profile, (rule, _) in EXPECTED.items():
        rules = {f.rule for f in report_by_target.get(endpoints[profile].label, [])}
        extra = rules - {rule} - ({"tls.legacy-tls1.1"} if profile == "tls1.0" else set())
        assert not extra, f"{profile}: unexpected {extra}"


def test_without_the_private_ca_the_chain_is_untrusted(
    bench: TlsBench, endpoints: dict[str, TlsTarget]
) -> None:
    report = audit(families="tls", tls_targets=[endpoints["clean"]])
    assert [f.rule for f in report.findings] == ["tls.untrusted-root"]


def test_servername_override_checks_that_name(
    bench: TlsBench, endpoints: dict[str, TlsTarget]
) -> None:
    t = endpoints["clean"]
    report = audit(
        families="tls",
        tls_targets=[f"127.0.0.1:{t.port}"],
        servername="shop.example",
        ca_file=bench.ca_file,
    )
    assert [f.rule for f in report.findings] == ["tls.hostname-mismatch"]
    assert "shop.example" in report.findings[0].message


def test_expiry_thresholds_are_configurable(
    bench: TlsBench, endpoints: dict[str, TlsTarget]
) -> None:
    settings = AuditSettings(expiry_warn_days=120, expiry_critical_days=10)
    report = audit(
        families="tls",
        tls_targets=[endpoints["clean"], endpoints["expiring-soon"]],
        ca_file=bench.ca_file,
        settings=settings,
    )
    rules = sorted((f.target, f.rule) for f in report.findings)
    assert rules == sorted(
        [
            (endpoints["clean"].label, "tls.expiring-soon"),
            (endpoints["expiring-soon"].label, "tls.expiring-soon"),
        ]
    )


def test_revocation_is_opt_in_and_host_restricted(
    bench: TlsBench, endpoints: dict[str, TlsTarget]
) -> None:
    target = [endpoints["revoked"]]
    off = audit(families="tls", tls_targets=target, ca_file=bench.ca_file)
    assert off.findings == []
    elsewhere = audit(
        families="tls",
        tls_targets=target,
        ca_file=bench.ca_file,
        settings=AuditSettings(revocation=True, revocation_hosts=("ocsp.example",)),
    )
    assert elsewhere.findings == []
    assert any("not in the allowed hosts" in s for s in elsewhere.skipped)


def test_crl_revocation(bench: TlsBench) -> None:
    issued = bench._sha1_leaf()  # carries a CRL distribution point and no OCSP URL
    notes: list[str] = []
    assert (
        check_revocation(
            issued.cert, bench.intermediate, hosts=("127.0.0.1",), timeout=5, notes=notes
        )
        is None
    )
    bench.revoked_serials.add(issued.cert.serial_number)
    reason = check_revocation(
        issued.cert, bench.intermediate, hosts=("127.0.0.1",), timeout=5, notes=notes
    )
    assert reason is not None and "CRL" in reason


def test_unreachable_endpoint_is_could_not_check_not_a_finding_nor_a_hang() -> None:
    from support.net import refused_port

    port = refused_port()  # nothing listens there
    started = time.monotonic()
    report = audit(
        families="tls", tls_targets=[f"127.0.0.1:{port}"], settings=AuditSettings(timeout=2)
    )
    assert time.monotonic() - started < 10
    assert report.findings == []
    assert report.skipped == [f"127.0.0.1:{port}: could not check TLS: connection refused"]


def test_a_name_that_does_not_resolve_is_could_not_check() -> None:
    report = audit(
        families="tls", tls_targets=["shop.invalid:443"], settings=AuditSettings(timeout=2)
    )
    assert report.findings == []
    assert not report.failed()
    [note] = report.skipped
    assert note.startswith("shop.invalid:443: could not check TLS: its name does not resolve (")


def test_silent_server_times_out() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts the TCP connection, never answers the ClientHello
    try:
        started = time.monotonic()
        report = audit(
            families="tls",
            tls_targets=[f"127.0.0.1:{listener.getsockname()[1]}"],
            settings=AuditSettings(timeout=1),
        )
        assert time.monotonic() - started < 8
        assert [f.rule for f in report.findings] == ["tls.handshake-failed"]
        assert "timed out" in report.findings[0].message
    finally:
        listener.close()


def test_many_endpoints_probed_concurrently(bench: TlsBench) -> None:
    targets = [bench.endpoint("clean") for _ in range(24)]
    started = time.perf_counter()
    report = audit(families="tls", tls_targets=targets, ca_file=bench.ca_file)
    elapsed = time.perf_counter() - started
    assert report.findings == []
    assert elapsed < 20  # behavioural bound only; speed is measured in benchmarks/audit.py


def test_certificate_files(bench: TlsBench, tmp_path: Path) -> None:
    bench.write_files("expired", tmp_path / "old")
    bench.write_files("weak-key", tmp_path / "weak")
    bench.write_files("key-mismatch", tmp_path / "mixed")
    bench.write_files("clean", tmp_path / "good")
    (tmp_path / "good" / "broken.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
    )
    report = audit([tmp_path], families="tls")
    got = sorted((f.path, f.rule) for f in report.findings)
    assert got == [
        ("mixed/server.crt", "tls.key-mismatch"),
        ("old/server.crt", "tls.expired"),
        ("weak/server.crt", "tls.weak-key"),
    ]
    assert any("broken.pem" in s for s in report.skipped)


def test_legacy_probe_explains_when_openssl_lacks_tls10() -> None:
    """On this OpenSSL the single-version contexts at SECLEVEL 0 exist (or the reason is known)."""
    supported = legacy_supported()
    assert set(supported) <= {"TLSv1.0", "TLSv1.1"}
    assert ("TLSv1.0" in supported) == bool(ssl.HAS_TLSv1)


def test_judging_a_key_prints_no_library_deprecation_notice(tmp_path: Path) -> None:
    """The demo and every TLS audit printed cryptography's 'DSA is deprecated' warning on stderr
    because the weak-key rule named dsa.DSAPublicKey."""
    import warnings

    from cryptography import x509

    from prodshield.audit.rules.tls import _key_weakness
    from support.certs import self_signed

    pem, _key = self_signed(tmp_path)
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _key_weakness(cert) is None
    assert [str(w.message) for w in caught] == []


def test_certificate_with_a_negative_serial_prints_no_python_warning(tmp_path: Path) -> None:
    """`audit` over a tree with an old CA bundle (a non-positive serial: RFC 5280 forbids it,
    cryptography warns) prints its report only, not a CryptographyDeprecationWarning with the
    line of prodshield's source that loaded it."""
    import shutil
    import subprocess
    import sys

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    tree = tmp_path / "app"
    tree.mkdir()
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(tmp_path / "old.key"), "-out", str(tree / "old-ca.pem"),
         "-subj", "/CN=old ca", "-days", "30", "-set_serial", "-5"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "default",
            "-m",
            "prodshield",
            "audit",
            str(tree),
            "--no-process-env",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    assert "Warning" not in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "old-ca.pem" in done.stdout  # the certificate was read (self-signed, expiring)
