"""Journey: every shipped log rule (src/prodshield/logs/rules/*.yaml) fires on a real line of the
software it names, through `logs scan` as a user runs it. MySQL's ``Access denied for user
'x'@'host'`` once never ran: none of its rule's prefilter keywords are in that line."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from support.cli import prodshield, wide_env

ACCESS = '203.0.113.9 - - [12/Mar/2024:10:15:32 +0000] "GET {path} HTTP/1.1" 404 153 "-" "{ua}"'
UA = "Mozilla/5.0 (X11; Linux x86_64)"

# (kind, session or None, real line): lines as the software writes them
EXAMPLES: list[tuple[str, str | None, str]] = [
    ("db_too_many_connections", None, "FATAL:  sorry, too many clients already"),
    ("db_too_many_connections", None, "ERROR 1040 (HY000): Too many connections"),
    (
        "db_too_many_connections",
        None,
        "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, "
        "connection timed out, timeout 30.00",
    ),
    ("db_too_many_connections", None, "psycopg2.pool.PoolError: connection pool exhausted"),
    ("deadlock", None, "ERROR:  deadlock detected"),
    ("deadlock", None, "Deadlock found when trying to get lock; try restarting transaction"),
    (
        "out_of_memory",
        None,
        "kernel: Out of memory: Killed process 1234 (java) total-vm:8123456kB, anon-rss:7000000kB",
    ),
    (
        "out_of_memory",
        None,
        'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space',
    ),
    (
        "out_of_memory",
        None,
        "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
    ),
    ("out_of_memory", None, "bash: fork: Cannot allocate memory"),
    ("disk_full", None, "OSError: [Errno 28] No space left on device"),
    (
        "disk_full",
        None,
        'ERROR:  could not extend file "base/16384/16397": No space left on device',
    ),
    ("disk_full", None, "Error: ENOSPC: no space left on device, write"),
    (
        "tls_error",
        None,
        "2024/03/12 10:15:32 [crit] 12#12: *3 SSL_do_handshake() failed (SSL: error:141CF06C:SSL "
        "routines:tls_parse_ctos_key_share:bad key share) while SSL handshaking, client: 10.0.0.1",
    ),
    (
        "tls_error",
        None,
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "certificate has expired (_ssl.c:1129)",
    ),
    (
        "tls_error",
        None,
        "2024/03/12 10:15:32 http: TLS handshake error from 10.0.0.1:51234: remote error: tls: bad "
        "certificate",
    ),
    (
        "tls_error",
        None,
        'Get "https://api.example.com": x509: certificate signed by unknown authority',
    ),
    (
        "upstream_failure",
        None,
        "2024/03/12 10:15:32 [error] 12#12: *7 connect() failed (111: Connection refused) while "
        'connecting to upstream, client: 10.0.0.1, server: _, upstream: "http://127.0.0.1:8080/"',
    ),
    (
        "upstream_failure",
        None,
        "2024/03/12 10:15:32 [error] 12#12: *7 upstream timed out (110: Connection timed out) "
        "while reading response header from upstream, client: 10.0.0.1",
    ),
    (
        "upstream_failure",
        None,
        'Server app/app1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", '
        "check duration: 0ms. 0 active and 0 backup servers left.",
    ),
    ("upstream_failure", None, "backend app has no server available!"),
    (
        "upstream_failure",
        None,
        "[proxy:error] [pid 1234] AH00957: HTTP: attempt to connect to 127.0.0.1:8080 (127.0.0.1) "
        "failed",
    ),
    (
        "upstream_failure",
        None,
        "[proxy_http:error] [pid 1234] AH01114: HTTP: failed to make connection to backend: "
        "127.0.0.1",
    ),
    (
        "db_connection_failure",
        None,
        'psql: error: connection to server at "db" (10.0.0.5), port 5432 failed: Connection refused',
    ),
    (
        "db_connection_failure",
        None,
        "could not connect to server: No such file or directory",
    ),
    ("db_connection_failure", None, "server closed the connection unexpectedly"),
    (
        "db_connection_failure",
        None,
        "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) could not translate host "
        'name "db" to address',
    ),
    (
        "db_connection_failure",
        None,
        "ERROR 2002 (HY000): Can't connect to local MySQL server through socket "
        "'/var/run/mysqld/mysqld.sock' (2)",
    ),
    ("db_connection_failure", None, "Lost connection to MySQL server during query"),
    ("db_connection_failure", None, "Error: connect ECONNREFUSED 127.0.0.1:5432"),
    (
        "db_connection_failure",
        None,
        "redis.exceptions.ConnectionError: Error 111 connecting to localhost:6379. Connection refused.",
    ),
    ("db_connection_failure", None, "FATAL:  the database system is starting up"),
    (
        "crash",
        None,
        "kernel: python3[1234]: segfault at 0 ip 00007f3a2b1c sp 00007ffd1234 error 4 in libc.so.6",
    ),
    ("crash", None, "Segmentation fault (core dumped)"),
    (
        "crash",
        None,
        "panic: runtime error: invalid memory address or nil pointer dereference",
    ),
    ("crash", None, "PHP Fatal error:  Uncaught Error: Call to undefined function foo()"),
    (
        "crash",
        None,
        "LOG:  server process (PID 1234) was terminated by signal 9: Killed",
    ),
    (
        "crash",
        None,
        "systemd[1]: myapp.service: Main process exited, code=killed, status=9/KILL",
    ),
    ("fatal_error", None, "FATAL Unable to start: config file missing"),
    (
        "invalid_user",
        "attempt",
        "sshd[4321]: Failed password for invalid user admin from 198.51.100.7 port 22 ssh2",
    ),
    ("invalid_user", "mirror", "sshd[4321]: Invalid user admin from 198.51.100.7 port 55012"),
    (
        "invalid_user",
        "mirror",
        "sshd[4321]: User root from 198.51.100.7 not allowed because not listed in AllowUsers",
    ),
    (
        "auth_failure",
        "attempt",
        "sshd[4321]: Failed password for root from 198.51.100.7 port 22 ssh2",
    ),
    (
        "auth_failure",
        "attempt",
        'FATAL:  password authentication failed for user "app"',
    ),
    (
        "auth_failure",
        "attempt",
        "2024-03-12T10:15:32.118492Z 12 [Note] [MY-010926] [Server] Access denied for user "
        "'root'@'10.0.0.7' (using password: YES)",
    ),
    (
        "auth_failure",
        "attempt",
        "Login failed for user 'sa'. Reason: Password did not match that for the login provided. "
        "[CLIENT: 10.0.0.8]",
    ),
    (
        "auth_failure",
        "summary",
        "sshd[4321]: Received disconnect from 198.51.100.7 port 55012:11: Auth fail [preauth]",
    ),
    (
        "auth_failure",
        "summary",
        "sshd[4321]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
        "rhost=198.51.100.7  user=root",
    ),
    (
        "auth_failure",
        "summary",
        "sshd[4321]: error: maximum authentication attempts exceeded for root from 198.51.100.7 "
        "port 22 ssh2 [preauth]",
    ),
    (
        "auth_failure",
        "mirror",
        "sshd[4321]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
        "ruser= rhost=198.51.100.7  user=root",
    ),
    (
        "privilege_escalation_failure",
        None,
        "sudo:    alice : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        "COMMAND=/bin/bash",
    ),
    (
        "privilege_escalation_failure",
        None,
        "sudo:    alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        "COMMAND=/bin/bash",
    ),
    (
        "privilege_escalation_failure",
        None,
        "su: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=pts/0 "
        "ruser=alice rhost=  user=root",
    ),
    ("privilege_escalation_failure", None, "su[2222]: FAILED SU (to root) alice on pts/0"),
    ("scanner_probe", None, ACCESS.format(path="/.env", ua=UA)),
    ("scanner_probe", None, ACCESS.format(path="/../../etc/passwd", ua=UA)),
    ("scanner_probe", None, ACCESS.format(path="/.git/config", ua=UA)),
    ("scanner_probe", None, ACCESS.format(path="/wp-login.php", ua=UA)),
    ("scanner_probe", None, ACCESS.format(path="/phpmyadmin/index.php", ua=UA)),
    ("scanner_probe", None, ACCESS.format(path="/item?id=1%20UNION%20SELECT%201,2", ua=UA)),
    ("scanner_probe", None, ACCESS.format(path="/item?id=1%27%20or%20%271%27=%271", ua=UA)),
    ("scanner_probe", None, ACCESS.format(path="/search?q=%3Cscript%3Ealert(1)", ua=UA)),
    ("scanner_probe", None, ACCESS.format(path="/cgi-bin/test.cgi", ua=UA)),
    (
        "suspicious_user_agent",
        None,
        ACCESS.format(path="/", ua="sqlmap/1.7.2#stable (https://sqlmap.org)"),
    ),
]


def _shipped_rules() -> set[tuple[str, str | None]]:
    folder = Path(__file__).resolve().parents[2] / "src" / "prodshield" / "logs" / "rules"
    rules = set()
    for pack in folder.glob("*.yaml"):
        for rule in yaml.safe_load(pack.read_text())["rules"]:
            if rule.get("report", True):
                rules.add((rule["kind"], rule.get("session")))
    return rules


def test_the_table_covers_every_shipped_rule() -> None:
    assert _shipped_rules() <= {(kind, session) for kind, session, _ in EXAMPLES}


def test_every_shipped_rule_fires_on_its_example(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for n, (_, _, line) in enumerate(EXAMPLES):
        (logs / f"example{n:03d}.log").write_text(line + "\n")
    scan = prodshield(
        tmp_path, "logs", "scan", "logs", "--format", "json", "--no-store", env=wide_env()
    )
    assert scan.returncode in (0, 1), scan.stderr
    kinds: dict[str, set[str]] = {}
    for f in json.loads(scan.stdout)["findings"]:
        kinds.setdefault(Path(f["source"]["file"]).name, set()).add(f["kind"])
    dead = [
        (kind, line)
        for n, (kind, _, line) in enumerate(EXAMPLES)
        if kind not in kinds.get(f"example{n:03d}.log", set())
    ]
    assert not dead, dead
