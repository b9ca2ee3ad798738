"""Every log format on realistic samples written for the project: detection, fields, multi-line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from prodshield.errors import Invalid
from prodshield.logs.api import mine, parse_lines
from prodshield.logs.event import LogEvent
from prodshield.logs.formats.base import LogFormat
from prodshield.logs.formats.registry import FORMATS, detect_format, get_format

NGINX = [
    '203.0.113.9 - - [12/Mar/2024:10:15:32 +0100] "GET /api/orders?page=2 HTTP/1.1" 200 5123 "-" "Mozilla/5.0 (X11; Linux x86_64)" 0.123 0.120',
    '198.51.100.4 - alice [12/Mar/2024:10:15:33 +0100] "POST /login HTTP/1.1" 502 157 "https://shop.example/" "curl/8.5.0" 2.004 2.001',
]
APACHE = [
    "[Tue Mar 12 10:15:32.112233 2024] [core:error] [pid 4242] [client 192.0.2.7:51234] AH00126: Invalid URI in request GET /../../etc/passwd HTTP/1.1",
    "[Tue Mar 12 10:15:35 2024] [mpm_event:notice] [pid 1] AH00489: Apache/2.4.58 (Unix) configured -- resuming normal operations",
]
SYSLOG = [
    "<34>Mar 12 10:15:32 web-1 sshd[2211]: Failed password for invalid user admin from 203.0.113.50 port 53211 ssh2",
    '<13>1 2024-03-12T10:15:33.512Z web-1 api 3310 REQ42 [meta seq="7"] upstream timed out after 30s',
]
PYTHON = [
    "2024-03-12 10:15:32,118 - shop.db - ERROR - could not connect to 10.0.4.2:5432",
    "Traceback (most recent call last):",
    '  File "/srv/shop/db.py", line 41, in connect',
    "    conn = psycopg.connect(dsn, connect_timeout=5)",
    "psycopg.OperationalError: connection refused",
    "2024-03-12 10:15:33,002 - shop.web - INFO - GET /health 200 in 3ms",
]
JAVA = [
    "2024-03-12 10:15:32,118 ERROR [http-nio-8080-exec-3] com.shop.OrderService - order 981 failed",
    "java.lang.IllegalStateException: stock below zero",
    "\tat com.shop.OrderService.reserve(OrderService.java:88)",
    "\tat com.shop.OrderController.create(OrderController.java:41)",
    "Caused by: java.sql.SQLException: deadlock detected",
    "\t... 12 more",
    "2024-03-12 10:15:33,500 INFO [main] com.shop.Health - ok",
]
POSTGRES = [
    "2024-03-12 10:15:32.118 UTC [8812] shop@orders LOG:  duration: 1532.417 ms  statement: SELECT * FROM orders WHERE customer_id = 42",
    '2024-03-12 10:15:33.020 UTC [8813] shop@orders ERROR:  duplicate key value violates unique constraint "orders_pkey"',
    "2024-03-12 10:15:33.020 UTC [8813] shop@orders DETAIL:  Key (id)=(981) already exists.",
    "2024-03-12 10:15:33.020 UTC [8813] shop@orders STATEMENT:  INSERT INTO orders (id) VALUES (981)",
    "2024-03-12 10:15:40.000 UTC [1] LOG:  checkpoint starting: time",
]
MYSQL = [
    "# Time: 2024-03-12T10:15:32.118250Z",
    "# User@Host: shop[shop] @ app-3 [10.0.5.3]  Id:   991",
    "# Query_time: 3.204110  Lock_time: 0.000120 Rows_sent: 1  Rows_examined: 482113",
    "SET timestamp=1710238532;",
    "SELECT COUNT(*) FROM orders",
    "  WHERE created_at > '2024-01-01';",
    "# Time: 2024-03-12T10:16:01.000000Z",
    "# User@Host: report[report] @  [10.0.5.9]  Id:   992",
    "# Query_time: 1.5  Lock_time: 0.0 Rows_sent: 10  Rows_examined: 9000",
    "SELECT * FROM customers ORDER BY created_at;",
]
JOURNALD = [
    '{"__REALTIME_TIMESTAMP":"1710238532118250","PRIORITY":"3","_HOSTNAME":"web-1","SYSLOG_IDENTIFIER":"nginx","_PID":"811","_SYSTEMD_UNIT":"nginx.service","MESSAGE":"worker process 812 exited on signal 9"}',
    '{"__REALTIME_TIMESTAMP":"1710238533000000","PRIORITY":"6","_HOSTNAME":"web-1","SYSLOG_IDENTIFIER":"systemd","MESSAGE":"Started nginx.service."}',
]
JSON = [
    '{"ts":"2024-03-12T10:15:32.118Z","level":"warn","msg":"slow request","method":"GET","path":"/api/cart","status":200,"duration_ms":1840.5,"remote_addr":"198.51.100.23"}',
    '{"timestamp":1710238533.5,"severity":"ERROR","message":"payment declined","user_id":"u-77"}',
]
LOGFMT = [
    'time=2024-03-12T10:15:32Z level=info msg="request done" method=GET path=/api/items status=200 duration=0.042 ip=203.0.113.4',
    'time=2024-03-12T10:15:33Z level=error msg="db timeout" query="SELECT 1" duration=5.0',
]


def _events(lines: list[str], fmt: str = "auto") -> list[LogEvent]:
    return list(mine(parse_lines(lines, "sample", fmt)))


@pytest.mark.parametrize(
    ("lines", "name"),
    [
        (NGINX, "nginx"),
        (APACHE, "apache"),
        (SYSLOG, "syslog"),
        (PYTHON, "python"),
        (JAVA, "python"),
        (POSTGRES, "postgres"),
        (MYSQL, "mysql-slow"),
        (JOURNALD, "journald"),
        (JSON, "json"),
        (LOGFMT, "logfmt"),
        (["just some text", "another line"], "raw"),
    ],
)
def test_detection(lines: list[str], name: str) -> None:
    assert detect_format(lines).type == name


def test_registry_members_implement_the_protocol() -> None:
    for name, fmt in FORMATS.items():
        assert isinstance(fmt, LogFormat)
        assert fmt.type == name and fmt.description
    with pytest.raises(Invalid, match="unknown log format"):
        get_format("nope")


def test_nginx_fields_and_request_time() -> None:
    a, b = _events(NGINX)
    assert a.fields["status"] == 200 and a.fields["method"] == "GET"
    assert a.fields["path"] == "/api/orders?page=2" and a.fields["client_ip"] == "203.0.113.9"
    assert a.fields["duration_ms"] == pytest.approx(123.0)
    assert a.fields["upstream_ms"] == pytest.approx(120.0)
    assert a.timestamp == datetime(2024, 3, 12, 9, 15, 32, tzinfo=UTC)
    assert b.level == "error" and b.fields["user"] == "alice"


def test_apache_error_log() -> None:
    a, b = _events(APACHE)
    assert a.level == "error" and a.fields["pid"] == 4242 and a.fields["client_ip"] == "192.0.2.7"
    assert a.message.startswith("AH00126: Invalid URI")
    assert b.level == "notice"


def test_syslog_3164_and_5424() -> None:
    a, b = _events(SYSLOG)
    assert a.fields["app"] == "sshd" and a.fields["pid"] == 2211 and a.level == "critical"
    assert a.message.startswith("Failed password for invalid user admin")
    assert b.fields["app"] == "api" and b.fields["msgid"] == "REQ42" and b.level == "notice"
    assert b.timestamp == datetime(2024, 3, 12, 10, 15, 33, 512000, tzinfo=UTC)
    assert b.message == "upstream timed out after 30s"


def test_python_traceback_is_one_event() -> None:
    events = _events(PYTHON)
    assert len(events) == 2
    first = events[0]
    assert first.level == "error" and first.fields["logger"] == "shop.db"
    assert "psycopg.OperationalError" in first.message and first.line == 1
    assert first.fields["exception"] == "psycopg.OperationalError"
    assert first.template == "could not connect to <*>:<*>"
    assert first.params == ["10.0.4.2", "5432"]
    assert events[1].line == 6


def test_java_stack_trace_is_one_event() -> None:
    events = _events(JAVA)
    assert len(events) == 2
    assert "Caused by: java.sql.SQLException" in events[0].message
    assert events[0].fields["thread"] == "http-nio-8080-exec-3"
    assert events[0].level == "error" and events[1].level == "info"


def test_postgres_duration_and_detail_lines() -> None:
    events = _events(POSTGRES)
    assert len(events) == 3
    slow, dup, checkpoint = events
    assert slow.fields["duration_ms"] == pytest.approx(1532.417)
    assert slow.fields["query"].startswith("SELECT * FROM orders")
    assert slow.fields["user"] == "shop" and slow.fields["database"] == "orders"
    assert slow.fields["pid"] == 8812
    assert dup.level == "error" and dup.fields["detail"].startswith("Key (id)=(981)")
    assert dup.fields["query"] == "INSERT INTO orders (id) VALUES (981)"
    assert checkpoint.timestamp == datetime(2024, 3, 12, 10, 15, 40, tzinfo=UTC)


def test_mysql_slow_log_blocks() -> None:
    a, b = _events(MYSQL)
    assert a.fields["duration_ms"] == pytest.approx(3204.11)
    assert a.fields["rows_examined"] == 482113 and a.fields["user"] == "shop"
    assert a.fields["client_ip"] == "10.0.5.3"
    assert a.fields["query"] == "SELECT COUNT(*) FROM orders WHERE created_at > '2024-01-01';"
    assert b.fields["client_ip"] == "10.0.5.9" and b.fields["rows_sent"] == 10


def test_journald_json_export() -> None:
    a, b = _events(JOURNALD)
    assert a.level == "error" and a.fields["unit"] == "nginx.service" and a.fields["pid"] == 811
    assert a.timestamp == datetime(2024, 3, 12, 10, 15, 32, 118250, tzinfo=UTC)
    assert b.level == "info" and b.message == "Started nginx.service."


def test_json_and_logfmt_common_keys() -> None:
    a, b = _events(JSON)
    assert a.level == "warning" and a.message == "slow request"
    assert a.fields["client_ip"] == "198.51.100.23" and a.fields["duration_ms"] == 1840.5
    assert b.level == "error" and b.fields["user"] == "u-77" and b.timestamp is not None
    c, d = _events(LOGFMT)
    assert c.message == "request done" and c.fields["status"] == 200
    assert c.fields["duration_ms"] == pytest.approx(42.0) and c.fields["client_ip"] == "203.0.113.4"
    assert d.level == "error" and d.fields["query"] == "SELECT 1"


def test_unparsable_lines_are_kept_not_dropped() -> None:
    events = _events([*NGINX, "garbage that is not an access line"], "nginx")
    assert len(events) == 3 and events[2].fields.get("unparsed") is True


def test_log4j_dash_layout_with_bracketed_thread() -> None:
    lines = [
        "2024-03-12 10:15:32,747 - INFO  [QuorumPeer[myid=1]/0.0.0.0:2181:Leader@774] - LEADING - took 3200 ms",
        "2024-03-12 10:15:33,001 - WARN  [SendWorker:188] - Interrupted while waiting for message on queue",
    ]
    assert detect_format(lines).type == "python"
    a, b = _events(lines)
    assert a.level == "info" and a.fields["thread"].startswith("QuorumPeer[myid=1]")
    assert a.message == "LEADING - took 3200 ms" and b.level == "warning"


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_formats_example_is_detected_as_that_format(name: str) -> None:
    """A format's ``example`` lines are recognised by it and auto-detected as it."""
    fmt = FORMATS[name]
    lines = fmt.example["lines"]
    assert lines and detect_format(lines).type == name
    events = list(parse_lines(lines, "example", name))
    assert events and all(e.message for e in events)


def test_iso_time_then_a_level_word_is_an_application_line_not_a_host_called_error() -> None:
    app = [
        "2026-12-06T10:00:01Z ERROR db: could not connect to server: Connection refused",
        "2026-12-06T10:00:03Z INFO http: GET /api/orders/123 200 12ms",
    ]
    assert detect_format(app).type == "python"
    first, second = _events(app)
    assert (first.level, second.level) == ("error", "info")
    assert "host" not in first.fields
    # rsyslog's high-precision file lines, with a real host, are still syslog
    rsyslog = [
        "2026-12-06T10:00:01.123456+00:00 web-1 sshd[2211]: Accepted publickey for deploy",
        "2026-12-06T10:00:02.123456+00:00 web-1 CRON[99]: (root) CMD (run-parts /etc/cron.hourly)",
    ]
    assert detect_format(rsyslog).type == "syslog"
    assert _events(rsyslog)[0].fields["host"] == "web-1"
