"""Journey (newcomer trial, major 1): a TLS check `[CERTIFICATE_EXPIRATION] > 14d` on a certificate
expiring in 10 days opened `cert certificate (medium)`, and then `monitor status` said `cert -
down`, the public status page (static and live) "Major outage · 1 of 2 services down" and the
badge "down", although the site answers and docs/web.md calls an expiring certificate
"degraded". Now a check whose only failing condition is about quality (certificate expiry, a
slow answer) is degraded everywhere: its incident opens, at severity medium."""

from __future__ import annotations

import json
import signal
import ssl
import threading
import time
import urllib.request
from pathlib import Path

from support.certs import make_pki
from support.cli import prodshield, wide_env
from support.net import answering, http_server
from support.serve import read_bound, start_serve
from support.serve_process import serve, signed_in_page

TOKEN = "journey-token-0123456789abcdef"


def _tls_listener(cert: Path, key: Path) -> tuple[int, threading.Event]:
    import socket

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            try:
                conn.settimeout(5)
                with ctx.wrap_socket(conn, server_side=True):
                    pass
            except OSError:
                conn.close()
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return int(sock.getsockname()[1]), stop


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode())


def test_a_certificate_close_to_expiry_is_degraded_not_down(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    cert, key = pki.issue("site", days=10)
    tls, stop = _tls_listener(cert, key)
    try:
        with http_server(answering(200)) as web:
            (tmp_path / "shield.yaml").write_text(
                "storage: sqlite:///store.db\n"
                "defaults: {failure_threshold: 1}\n"
                "checks:\n"
                f"  - {{name: web, type: http, url: 'http://127.0.0.1:{web}/'}}\n"
                f"  - {{name: cert, type: tls, host: 127.0.0.1, port: {tls},"
                f" ca_file: '{pki.ca_file}', conditions: ['[CERTIFICATE_EXPIRATION] > 14d']}}\n"
            )
            once = prodshield(tmp_path, "monitor", "once", env=wide_env())
            assert "opened: cert certificate (medium)" in once.stdout, once.stdout + once.stderr
            status = prodshield(tmp_path, "monitor", "status", env=wide_env())
            assert status.returncode == 0, status.stderr
            line = next(x for x in status.stdout.splitlines() if x.split()[:1] == ["cert"])
            assert "degraded" in line and "down" not in line, status.stdout

            built = prodshield(tmp_path, "status", "build", "--out", "site", env=wide_env())
            assert built.returncode == 0, built.stderr
            summary = json.loads((tmp_path / "site" / "status.json").read_text())
            assert summary["level"] == "degraded", summary
            assert summary["headline"] == "Degraded service", summary
            assert summary["counts"] == {"degraded": 1, "up": 1}, summary
            assert summary["detail"].startswith("1 degraded"), summary
            page = (tmp_path / "site" / "index.html").read_text()
            assert "Major outage" not in page and "Degraded service" in page

            proc = start_serve(tmp_path / "shield.yaml", port=0, cwd=tmp_path)
            try:
                port, _ = read_bound(proc)
                live = _get(f"http://127.0.0.1:{port}/")
                assert "Degraded service" in live and "Major outage" not in live
                badge = _get(f"http://127.0.0.1:{port}/badge/cert.svg")
                assert ">degraded<" in badge, badge
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=60)
    finally:
        stop.set()


def test_a_degraded_check_keeps_its_uptime_and_looks_degraded(tmp_path: Path) -> None:
    """Review 2 (major 1, minors 5 and 7): the degraded cert showed 0.00% uptime in monitor status,
    on the status page and its uptime badge, `monitor once` said `failed (condition)`, and the
    page drew its incident red (`incident s-down`). Now a degraded result is not downtime; a down
    check still drops to 0%."""
    pki = make_pki(tmp_path)
    cert, key = pki.issue("site", days=10)
    tls, stop = _tls_listener(cert, key)
    try:
        with http_server(answering(200)) as closed:
            pass  # a port nothing listens on any more: the web check is down
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "defaults: {failure_threshold: 1}\n"
            "checks:\n"
            f"  - {{name: web, type: http, url: 'http://127.0.0.1:{closed}/'}}\n"
            f"  - {{name: cert, type: tls, host: 127.0.0.1, port: {tls},"
            f" ca_file: '{pki.ca_file}', conditions: ['[CERTIFICATE_EXPIRATION] > 14d']}}\n"
        )
        once = prodshield(tmp_path, "monitor", "once", env=wide_env())
        assert once.returncode == 1, once.stdout + once.stderr  # documented: 1 when any failed
        cert_row = next(x for x in once.stdout.splitlines() if x.split()[:1] == ["cert"])
        assert "degraded (condition)" in cert_row and "failed" not in cert_row.split("[")[0]
        web_row = next(x for x in once.stdout.splitlines() if x.split()[:1] == ["web"])
        assert "failed (" in web_row, once.stdout

        status = prodshield(tmp_path, "monitor", "status", env=wide_env())
        rows = {
            x.split()[0]: x
            for x in status.stdout.splitlines()
            if x.split()[:1] in (["cert"], ["web"])
        }
        assert "degraded" in rows["cert"] and "100.00%" in rows["cert"], status.stdout
        assert "0.00%" in rows["web"] and "100.00%" not in rows["web"], status.stdout

        built = prodshield(tmp_path, "status", "build", "--out", "site", env=wide_env())
        assert built.returncode == 0, built.stderr
        page = (tmp_path / "site" / "index.html").read_text()
        assert 'class="incident s-degraded" data-incident' in page
        assert 'class="incident s-down" data-incident' in page  # web's outage stays red
        assert "uptime 24 h <b>100.00%</b>" in page and "uptime 24 h <b>0.00%</b>" in page

        proc = start_serve(tmp_path / "shield.yaml", port=0, cwd=tmp_path)
        try:
            port, _ = read_bound(proc)
            assert "100.00%" in _get(f"http://127.0.0.1:{port}/badge/cert/uptime.svg")
            web_badge = _get(f"http://127.0.0.1:{port}/badge/web/uptime.svg")
            assert "0.00%" in web_badge and "100.00%" not in web_badge, web_badge
            live = _get(f"http://127.0.0.1:{port}/")
            assert 'class="incident s-degraded" data-incident' in live
            assert "uptime 24 h <b>100.00%</b>" in live
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=60)
    finally:
        stop.set()


def _service(page: str, name: str) -> str:
    """The status page's article of service ``name``."""
    start = page.index(f'<article class="service" data-service="{name}"')
    return page[start : page.index("</article>", start)]


def test_the_charts_draw_a_degraded_check_amber_and_a_down_one_red(tmp_path: Path) -> None:
    """Review (monweb 2): the response-time chart and the last-results bar drew a degraded result
    (the certificate close to expiry) red, as a failure, while everything else calls it amber.
    Now its points and bars are amber (`pt degraded`, `beat degraded`) and the legend says so;
    a check that is down stays red."""
    pki = make_pki(tmp_path)
    cert, key = pki.issue("site", days=10)
    tls, stop = _tls_listener(cert, key)
    try:
        with http_server(answering(200)) as closed:
            pass  # a port nothing listens on any more: the web check is down
        config = (
            "storage: sqlite:///store.db\n"
            f'serve: {{token: "{TOKEN}"}}\n'
            "checks:\n"
            f"  - {{name: web, type: http, url: 'http://127.0.0.1:{closed}/'}}\n"
            f"  - {{name: cert, type: tls, host: 127.0.0.1, port: {tls},"
            f" ca_file: '{pki.ca_file}', conditions: ['[CERTIFICATE_EXPIRATION] > 14d']}}\n"
        )
        (tmp_path / "shield.yaml").write_text(config)
        for _ in range(2):
            once = prodshield(tmp_path, "monitor", "once", env=wide_env())
            assert once.returncode == 1, once.stdout + once.stderr
        built = prodshield(tmp_path, "status", "build", "--out", "site", env=wide_env())
        assert built.returncode == 0, built.stderr
        page = (tmp_path / "site" / "index.html").read_text()
        with serve(tmp_path, config) as srv:
            live = srv.get("/").body.decode()
            check_page = signed_in_page(srv, "/dashboard/checks/cert", TOKEN)
            api = srv.get("/api/v1/checks/cert", headers={"Authorization": f"Bearer {TOKEN}"})
            detail = api.json()
    finally:
        stop.set()
    for shown in (page, live):
        cert_svc, web_svc = _service(shown, "cert"), _service(shown, "web")
        assert cert_svc.count('<circle class="pt degraded"') == 2, cert_svc
        assert cert_svc.count('class="beat degraded"') == 2, cert_svc
        assert "pt bad" not in cert_svc and "beat down" not in cert_svc, cert_svc
        assert "degraded, " in cert_svc  # the bars' hover titles
        assert web_svc.count('class="beat down"') == 2, web_svc  # refused: still red
        assert "red: failed, amber: degraded" in cert_svc
    assert check_page.count('<circle class="pt degraded"') >= 2, check_page
    assert "red: failed, amber: degraded" in check_page
    # the results table under the charts too: degraded, not failed
    outcome = '<td class="outcome"><span class="pill s-{}">{}</span></td>'
    assert check_page.count(outcome.format("degraded", "degraded")) == 2, check_page
    assert outcome.format("down", "failed") not in check_page
    assert [r["degraded"] for r in detail["environments"][0]["recent_results"]] == [True, True]


def test_the_report_counts_no_downtime_for_a_certificate_incident(tmp_path: Path) -> None:
    """Newcomer review 3 (item 6): `monitor report` printed `| cert | - | 100.000% | ... | 1 |
    5m15s |`: an uptime of 100 % beside the certificate incident's time as downtime. Now the
    downtime column counts down incidents only; the incident is still counted."""
    pki = make_pki(tmp_path)
    cert, key = pki.issue("site", days=10)
    tls, stop = _tls_listener(cert, key)
    try:
        with http_server(answering(200)) as closed:
            pass  # nothing listens here any more: the web check is down
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "defaults: {failure_threshold: 1}\n"
            "checks:\n"
            f"  - {{name: web, type: http, url: 'http://127.0.0.1:{closed}/'}}\n"
            f"  - {{name: cert, type: tls, host: 127.0.0.1, port: {tls},"
            f" ca_file: '{pki.ca_file}', conditions: ['[CERTIFICATE_EXPIRATION] > 14d']}}\n"
        )
        once = prodshield(tmp_path, "monitor", "once", env=wide_env())
        assert "opened: cert certificate (medium)" in once.stdout, once.stdout + once.stderr
        time.sleep(1.1)
        out = prodshield(tmp_path, "monitor", "report", "--since", "1d", "--format", "json")
        assert out.returncode == 0, out.stderr
        checks = {c["check"]: c for c in json.loads(out.stdout)["checks"]}
        assert checks["cert"]["incidents"] == 1 and checks["cert"]["uptime_pct"] == 100.0
        assert checks["cert"]["downtime_s"] == 0, checks["cert"]
        assert checks["web"]["incidents"] == 1 and checks["web"]["downtime_s"] >= 1, checks["web"]
        md = prodshield(tmp_path, "monitor", "report", "--since", "1d", "--format", "markdown")
        row = next(x for x in md.stdout.splitlines() if x.startswith("| cert "))
        assert row.endswith("| 1 | 0s |"), row
    finally:
        stop.set()
