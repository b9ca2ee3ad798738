"""A TLS test bench on loopback: a private CA and one endpoint per certificate/protocol defect.

Used by the tests, the benchmark and the rules' samples (a TLS rule's sample names a profile).
Every endpoint presents a certificate issued by the bench's intermediate unless its defect says
otherwise; leaf certificates carry a CRL distribution point and an OCSP URL on the bench's own
HTTP server (127.0.0.1), so revocation checks stay on loopback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import socket
import ssl
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from prodshield.audit.context import TlsTarget

PROFILES = (
    "clean",
    "expired",
    "not-yet-valid",
    "expiring-soon",
    "expiring-imminent",
    "self-signed",
    "untrusted-root",
    "hostname-mismatch",
    "weak-key",
    "weak-signature",
    "incomplete-chain",
    "tls1.0",
    "tls1.1",
    "revoked",
    "key-mismatch",
    "no-tls",
)
"""Every defect the bench can serve (``key-mismatch`` is a file-only profile)."""

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "prodshield bench"),
        ]
    )


def _ec() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class Issued:
    cert: x509.Certificate
    key: Key
    chain: list[x509.Certificate] = field(default_factory=list)
    """What the server sends after the leaf."""


class _Responder(http.server.BaseHTTPRequestHandler):
    bench: TlsBench

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/intermediate.crl":
            body = self.bench.crl_der()
            self._send(body, "application/pkix-crl")
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0") or 0)
        data = self.rfile.read(min(length, 65536))
        try:
            request = ocsp.load_der_ocsp_request(data)
        except ValueError:
            self.send_error(400)
            return
        self._send(self.bench.ocsp_response(request), "application/ocsp-response")

    def _send(self, body: bytes, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TlsBench:
    """Start with ``with TlsBench() as bench:``; ``bench.endpoint("expired")`` -> a TlsTarget."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="prodshield-tls-")
        self.workdir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.now = dt.datetime.now(dt.UTC)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []
        self.revoked_serials: set[int] = set()
        # revocation responder (CRL + OCSP) on loopback
        _Responder.bench = self
        self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Responder)
        self._http.daemon_threads = True
        self.http_port = self._http.server_address[1]
        t = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        t.start()
        self._threads.append(t)
        # the private PKI: root -> intermediate -> leaves
        self.root_key = _ec()
        self.root = self._ca_cert("prodshield bench root", self.root_key, None, None)
        self.int_key = _ec()
        self.intermediate = self._ca_cert(
            "prodshield bench intermediate", self.int_key, self.root, self.root_key
        )
        self.ca_file = self.workdir / "bench-ca.pem"
        self.ca_file.write_bytes(_pem(self.root))

    # --- certificates ----------------------------------------------------------------------

    def _ca_cert(
        self, cn: str, key: Key, issuer: x509.Certificate | None, issuer_key: Key | None
    ) -> x509.Certificate:
        b = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(issuer.subject if issuer else _name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - dt.timedelta(days=30))
            .not_valid_after(self.now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        return b.sign(issuer_key or key, hashes.SHA256())

    def leaf(
        self,
        *,
        names: tuple[str, ...] = ("localhost", "127.0.0.1"),
        days_before: float = 30,
        days_after: float = 90,
        key: Key | None = None,
        sig_hash: hashes.SHA256 | None = None,
        issuer: tuple[x509.Certificate, Key] | None = None,
        self_signed: bool = False,
    ) -> Issued:
        import ipaddress

        key = key or _ec()
        issuer_cert, issuer_key = issuer or (self.intermediate, self.int_key)
        sans: list[x509.GeneralName] = []
        for n in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        subject = _name(names[0])
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else issuer_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - dt.timedelta(days=days_before))
            .not_valid_after(self.now + dt.timedelta(days=days_after))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        if not self_signed:
            base = f"http://127.0.0.1:{self.http_port}"
            b = b.add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            [x509.UniformResourceIdentifier(base + "/intermediate.crl")],
                            None,
                            None,
                            None,
                        )
                    ]
                ),
                critical=False,
            ).add_extension(
                x509.AuthorityInformationAccess(
                    [
                        x509.AccessDescription(
                            AuthorityInformationAccessOID.OCSP,
                            x509.UniformResourceIdentifier(base + "/ocsp"),
                        )
                    ]
                ),
                critical=False,
            )
        cert = b.sign(key if self_signed else issuer_key, sig_hash or hashes.SHA256())
        return Issued(cert, key, [] if self_signed else [issuer_cert])

    def issue(self, profile: str) -> Issued:
        """The certificate (and chain to send) for a defect profile."""
        day = 1.0
        if profile == "expired":
            return self.leaf(days_before=100, days_after=-2 * day)
        if profile == "not-yet-valid":
            return self.leaf(days_before=-10 * day, days_after=100)
        if profile == "expiring-soon":
            return self.leaf(days_after=20)
        if profile == "expiring-imminent":
            return self.leaf(days_after=3)
        if profile == "self-signed":
            return self.leaf(self_signed=True)
        if profile == "untrusted-root":
            rogue_key = _ec()
            rogue = self._ca_cert("rogue root", rogue_key, None, None)
            rogue_int_key = _ec()
            rogue_int = self._ca_cert("rogue intermediate", rogue_int_key, rogue, rogue_key)
            return self.leaf(issuer=(rogue_int, rogue_int_key))
        if profile == "hostname-mismatch":
            return self.leaf(names=("other.example.net",))
        if profile == "weak-key":
            return self.leaf(key=rsa.generate_private_key(65537, 1024))
        if profile == "weak-signature":
            return self._sha1_leaf()
        if profile == "incomplete-chain":
            issued = self.leaf()
            issued.chain = []
            return issued
        if profile == "revoked":
            issued = self.leaf()
            self.revoked_serials.add(issued.cert.serial_number)
            return issued
        return self.leaf()

    def _sha1_leaf(self) -> Issued:
        """A leaf signed with SHA-1. ``cryptography`` no longer signs SHA-1, so the ``openssl``
        command signs it (OpenSSL 3 still can; only verification at SECLEVEL >= 1 refuses it)."""
        import shutil
        import subprocess

        openssl = shutil.which("openssl")
        if openssl is None:
            raise RuntimeError("the weak-signature profile needs the openssl command")
        d = Path(tempfile.mkdtemp(dir=self.workdir, prefix="sha1-"))
        key = _ec()
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(_name("localhost"))
            .sign(key, hashes.SHA256())
        )
        (d / "leaf.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        (d / "ca.pem").write_bytes(_pem(self.intermediate))
        (d / "ca.key").write_bytes(_key_pem(self.int_key))
        (d / "ext.cnf").write_text(
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
            f"crlDistributionPoints=URI:http://127.0.0.1:{self.http_port}/intermediate.crl\n"
        )
        subprocess.run(
            [
                openssl,
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-sha1",
                "-days",
                "90",
                "-set_serial",
                str(x509.random_serial_number()),
                "-extfile",
                "ext.cnf",
                "-out",
                "leaf.pem",
            ],
            cwd=d,
            check=True,
            capture_output=True,
            timeout=30,
        )
        cert = x509.load_pem_x509_certificate((d / "leaf.pem").read_bytes())
        return Issued(cert, key, [self.intermediate])

    def crl_der(self) -> bytes:
        b = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.intermediate.subject)
            .last_update(self.now - dt.timedelta(hours=1))
            .next_update(self.now + dt.timedelta(days=7))
        )
        for serial in sorted(self.revoked_serials):
            b = b.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(self.now - dt.timedelta(hours=1))
                .build()
            )
        return b.sign(self.int_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def ocsp_response(self, request: ocsp.OCSPRequest) -> bytes:
        """A signed OCSP answer for the requested serial: revoked or good."""
        return _ocsp_answer(self, request.serial_number)

    # --- files -----------------------------------------------------------------------------

    def write_files(self, profile: str, directory: Path) -> list[Path]:
        """Write ``server.crt`` (leaf + chain) and ``server.key`` for a profile into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        issued = self.issue("clean" if profile == "key-mismatch" else profile)
        crt, key = directory / "server.crt", directory / "server.key"
        crt.write_bytes(b"".join(_pem(c) for c in [issued.cert, *issued.chain]))
        other = _ec() if profile == "key-mismatch" else issued.key
        key.write_bytes(_key_pem(other))
        key.chmod(0o600)
        return [crt, key]

    # --- endpoints -------------------------------------------------------------------------

    def endpoint(self, profile: str) -> TlsTarget:
        """Serve ``profile`` on 127.0.0.1 (servername ``localhost``) until the bench closes."""
        if profile not in PROFILES or profile == "key-mismatch":
            raise ValueError(f"no endpoint profile {profile!r}")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.1)
        self._sockets.append(listener)
        port = listener.getsockname()[1]
        if profile == "no-tls":
            handler: Callable[[socket.socket], None] = _plain_http
        else:
            ctx = self._server_context(profile)
            handler = _tls_handler(ctx)
        t = threading.Thread(target=self._serve, args=(listener, handler), daemon=True)
        t.start()
        self._threads.append(t)
        return TlsTarget("127.0.0.1", port, "localhost")

    def _server_context(self, profile: str) -> ssl.SSLContext:
        issued = self.issue(profile)
        d = self.workdir / f"srv-{profile}-{len(self._sockets)}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "chain.pem").write_bytes(b"".join(_pem(c) for c in [issued.cert, *issued.chain]))
        (d / "key.pem").write_bytes(_key_pem(issued.key))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if profile == "tls1.0":
                ctx.minimum_version = ssl.TLSVersion.TLSv1
            elif profile == "tls1.1":
                ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            else:
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(d / "chain.pem", d / "key.pem")
        return ctx

    def _serve(self, listener: socket.socket, handler: Callable[[socket.socket], None]) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(3)
            threading.Thread(target=_safely, args=(handler, conn), daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()
        self._http.shutdown()
        self._http.server_close()
        for t in self._threads:
            t.join(timeout=2)
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> TlsBench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ocsp_answer(bench: TlsBench, serial: int) -> bytes:
    # the builder wants a certificate object: a stand-in with the requested serial and issuer
    stand_in = (
        x509.CertificateBuilder()
        .subject_name(_name("ocsp subject"))
        .issuer_name(bench.intermediate.subject)
        .public_key(bench.int_key.public_key())
        .serial_number(serial)
        .not_valid_before(bench.now - dt.timedelta(days=1))
        .not_valid_after(bench.now + dt.timedelta(days=1))
        .sign(bench.int_key, hashes.SHA256())
    )
    revoked = serial in bench.revoked_serials
    status = ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD
    b = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=stand_in,
            issuer=bench.intermediate,
            algorithm=hashes.SHA1(),
            cert_status=status,
            this_update=bench.now - dt.timedelta(minutes=5),
            next_update=bench.now + dt.timedelta(days=1),
            revocation_time=bench.now - dt.timedelta(hours=1) if revoked else None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, bench.intermediate)
    )
    return b.sign(bench.int_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _safely(handler: Callable[[socket.socket], None], conn: socket.socket) -> None:
    try:
        handler(conn)
    except (OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def _tls_handler(ctx: ssl.SSLContext) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.settimeout(1)
            with contextlib.suppress(OSError):
                tls.recv(1)

    return handle


def _plain_http(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.recv(1024)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
