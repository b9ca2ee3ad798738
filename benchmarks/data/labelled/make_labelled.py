"""Writes the labelled log sets of this folder: systems that are not in Loghub, from the real
software's own log statements (format strings read in each project's source, cited below).

Each line is generated from one statement with values its format specifiers really take (each
kind of value below cites where the program makes it) and labelled with that statement's
template (every specifier one ``<*>``, except the names in ``WORDS``), so the ground truth is
which statement printed the line. No rule of the miner is written for these sets (see README.md).

    python benchmarks/data/labelled/make_labelled.py   # rewrites the *.csv files (seeded)

Columns: ``Content`` (the message, header stripped as in Loghub), ``EventTemplate``.
"""

from __future__ import annotations

import base64
import csv
import random
import re
import uuid
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261205
R = random.Random(
    SEED
)  # reseeded per system in main(), so fixing one set leaves the others as they are

NAMES = ["orders", "users", "billing", "carts", "audit", "search", "events", "stock", "mail",
         "payments", "sessions", "reports", "catalog", "shipping"]  # fmt: skip
C_CONNECT_ERRORS = ["Connection refused", "Connection reset by peer", "Connection timed out",
                    "No route to host", "Network is unreachable"]  # fmt: skip
"""strerror() texts (Linux) of a failed connect, as C programs write them."""

LINE: dict[str, str] = {}
"""The values drawn so far for the line being generated (kind -> value), so a kind can depend on
an earlier one where the program ties them (nginx's resolver code and its text; a Kafka member's
state transition)."""


def ip() -> str:
    return f"10.{R.randrange(256)}.{R.randrange(256)}.{R.randrange(1, 255)}"


def host() -> str:
    return f"{R.choice(NAMES)}{R.randrange(1, 30)}.{R.choice(['internal', 'svc', 'local'])}"


def topic_partition() -> str:
    """``TopicPartition.toString()``: topic, ``-``, partition."""
    return f"{R.choice(NAMES)}-{R.randrange(0, 48)}"


def partitions() -> str:
    """A sorted set of partitions joined with ``", "`` (Kafka's rebalance listener)."""
    return ", ".join(sorted({topic_partition() for _ in range(R.choice([1, 1, 2, 3, 4]))}))


def kafka_node() -> str:
    """``Node.toString()`` of a group coordinator: ``host:port (id: N rack: null)``, its id
    ``Integer.MAX_VALUE - brokerId`` (AbstractCoordinator)."""
    broker = R.randrange(0, 6)
    domain = R.choice(["internal", "svc", "local"])
    return (
        f"kafka-{broker}.{domain}:{R.choice([9092, 9093])} (id: {2147483647 - broker} rack: null)"
    )


def classic_member() -> str:
    """A classic-protocol member id: ``clientId + "-" + UUID.randomUUID()`` (ClassicGroup), the
    client id being ``consumer-<group>-<n>`` by default."""
    group = R.choice(NAMES)
    return f"consumer-{group}-{R.randrange(1, 9)}-{uuid.UUID(int=R.getrandbits(128), version=4)}"


def member_id() -> str:
    """A consumer-protocol (KIP-848) member id: ``Uuid.toString()``, 22 URL-safe base64
    characters; ``<no ID>`` before the first heartbeat (``memberIdInfoForLog()``)."""
    if R.random() < 0.12:
        return "<no ID>"
    return base64.urlsafe_b64encode(R.getrandbits(128).to_bytes(16, "big")).decode()[:22]


def member_epoch() -> str:
    return "0" if LINE.get("member") == "<no ID>" else str(R.randrange(1, 400))


# MemberState transitions a consumer goes through (MemberState.java's previousValidStates), with
# rough weights; UNSUBSCRIBED -> JOINING is the one made before the member has an id.
TRANSITIONS = [(8, "JOINING", "RECONCILING"), (8, "RECONCILING", "ACKNOWLEDGING"),
               (8, "ACKNOWLEDGING", "STABLE"), (5, "STABLE", "RECONCILING"),
               (3, "RECONCILING", "STABLE"), (2, "STABLE", "PREPARE_LEAVING"),
               (2, "PREPARE_LEAVING", "LEAVING"), (2, "LEAVING", "UNSUBSCRIBED"),
               (1, "STABLE", "FENCED"), (1, "FENCED", "JOINING")]  # fmt: skip


def state_from() -> str:
    if LINE.get("member") == "<no ID>":
        LINE["state_to"] = "JOINING"
        return "UNSUBSCRIBED"
    (_, before, after) = R.choices(TRANSITIONS, [w for w, _, _ in TRANSITIONS])[0]
    LINE["state_to"] = after
    return before


def group_assignment() -> str:
    """``Map<String, Assignment>.toString()``: ``{member=Assignment(partitions=[t-0, t-1]), ...}``
    (ConsumerCoordinator.onLeaderElected; the range assignor sends no user data)."""
    members = [classic_member() for _ in range(R.choice([1, 2, 2, 3]))]
    return "{" + ", ".join(f"{m}=Assignment(partitions=[{partitions()}])" for m in members) + "}"


def kafka_commit_error() -> str:
    """The message of a non-retriable auto-commit failure (ConsumerCoordinator's
    OffsetCommitResponseHandler)."""
    group = R.choice(NAMES)
    return R.choice(
        [
            f"Not authorized to access group: {group}",
            f"Not authorized to access topics: [{R.choice(NAMES)}]",
            "The metadata field of the offset request was too large.",
            "The committing offset data size is not valid.",
            "Commit cannot be completed since the group has already rebalanced and assigned the "
            "partitions to another member. This means that the time between subsequent calls to "
            "poll() was longer than the configured max.poll.interval.ms, which typically implies "
            "that the poll loop is spending too much time message processing. You can address "
            "this either by increasing max.poll.interval.ms or by reducing the maximum size of "
            "batches returned in poll() with max.poll.records.",
        ]
    )


def kafka_fetch_error() -> str:
    """``Errors.message()`` of an error ListOffsets has no case for (OffsetFetcherUtils)."""
    return R.choice(
        [
            "The server experienced an unexpected error when processing the request.",
            "The request timed out.",
            "The server disconnected before a response was received.",
            "The version of API is not supported.",
        ]
    )


def leave_reason() -> str:
    """The reasons AbstractCoordinator and ClassicKafkaConsumer pass to ``maybeLeaveGroup``."""
    return R.choice(
        [
            "the consumer is being closed",
            "the consumer is being closed",
            "consumer poll timeout has expired.",
            "the consumer unsubscribed from all topics",
        ]
    )


def resolve_code() -> str:
    """nginx's resolver error codes: FORMERR..REFUSED (1-5) and NGX_ETIMEDOUT (110 on Linux)."""
    return str(R.choice([1, 2, 3, 3, 3, 4, 5, 110, 110]))


def resolve_text() -> str:
    """``ngx_resolver_strerror()`` of the code drawn before it."""
    return {
        "1": "Format error",
        "2": "Server failure",
        "3": "Host not found",
        "4": "Unimplemented",
        "5": "Operation refused",
        "110": "Operation timed out",
    }[LINE["rescode"]]


def redis_client() -> str:
    """``catClientInfoString()`` of a client (networking.c), every field."""
    cmd = R.choice(["get", "set", "hget", "ping", "exec", "publish", "client|setname", "NULL"])
    lib = R.choice([("", ""), ("redis-py", "5.0.1"), ("go-redis", "9.5.1"), ("jedis", "5.1.0")])
    tot = R.randrange(17000, 60000)
    return (
        f"id={R.randrange(2, 9999)} addr={ip()}:{R.randrange(1024, 65535)} laddr={ip()}:6379 "
        f"fd={R.randrange(8, 999)} name= age={R.randrange(0, 9999)} idle={R.randrange(0, 300)} "
        f"flags=N db={R.randrange(0, 16)} sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=0 "
        f"qbuf-free={R.choice([0, 20474, 40954])} argv-mem=0 multi-mem=0 rbs={R.choice([1024, 16384])} "
        f"rbp={R.randrange(0, 1024)} obl=0 oll=0 omem=0 tot-mem={tot} events=r cmd={cmd} "
        f"user=default redir=-1 resp={R.choice([2, 3])} lib-name={lib[0]} lib-ver={lib[1]}"
    )


def go_duration() -> str:
    """Go's ``time.Duration.String()`` of a ``time.Since``: nanosecond precision."""
    ns = R.randrange(10**8, 9 * 10**10)
    if ns < 10**9:
        return f"{ns / 10**6:.6f}".rstrip("0").rstrip(".") + "ms"
    minutes, rest = divmod(ns, 60 * 10**9)
    seconds = f"{rest / 10**9:.9f}".rstrip("0").rstrip(".")
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def minio_offline() -> str:
    """``fmt.Sprintf("%s", offlineEndpoints)`` of ``"%s is unreachable: %w"`` errors, the
    client printed as its grid connection ``local->remote`` (bootstrap-peer-server.go)."""
    local = f"http://minio{R.randrange(1, 9)}:9000"
    errors = [
        f"{local}->http://minio{R.randrange(1, 9)}:9000 is unreachable: "
        + R.choice(["remote disconnected", "remote disconnected", "context deadline exceeded"])
        for _ in range(R.choice([1, 1, 2, 3]))
    ]
    return "[" + " ".join(errors) + "]"


def minio_delete_error() -> str:
    """An object layer error other than not-found from the scanner's expiry ``DeleteObject``."""
    where = f"{LINE['bucket']}/{LINE['obj']}"
    return R.choice(
        [
            f"Storage resources are insufficient for the write operation {where}",
            f"Prefix access is denied: {where}",
            f"Method not allowed: {where}",
            "context canceled",
        ]
    )


def minio_range(which: int) -> str:
    """A Range header MinIO rejects: the first (0) or the last (1) position is not a number."""
    bad = R.choice(["0x1f", "1e3", "abc", "1.5", "2^10"])
    good = str(R.randrange(0, 10**7))
    return f"bytes={bad}-{good}" if which == 0 else f"bytes={good}-{bad}"


# minio storage-errors.go: the errors a drive check (other than those with a message of their
# own) and a format.json write return
DRIVE_ERRORS = ["drive not found", "corrupted format", "file is corrupted", "input/output error",
                "read-only file system", "drive is part of root drive, will not be used"]  # fmt: skip
FORMAT_ERRORS = ["drive not found", "drive path full", "file access denied", "drive is faulty",
                 "input/output error"]  # fmt: skip

KINDS: dict[str, Callable[[], str]] = {
    "ip": ip,
    "eport": lambda: str(R.randrange(1024, 65536)),  # the peer's (ephemeral) port
    "cport": lambda: str(16379 + R.randrange(6)),  # a redis node's cluster bus port
    "rport": lambda: str(6379 + R.randrange(6)),  # a redis node's client port
    "lport": lambda: str(R.choice([80, 443, 443, 8080, 8443, 5432, 6379])),  # a frontend's port
    "int": lambda: str(R.randrange(0, 5000)),
    "small": lambda: str(R.randrange(1, 40)),
    "big": lambda: str(R.randrange(10**5, 10**10)),
    "float": lambda: f"{R.random() * 500:.2f}",
    "node": lambda: f"{R.getrandbits(160):040x}",
    "pid": lambda: str(R.randrange(100, 99999)),
    # redis aof.c: getNewIncrAofName() "<appendfilename>.<seq>.incr.aof"; a history file is an
    # earlier base ("<appendfilename>.<seq>.base.rdb") or incr file
    "aof_incr": lambda: f"appendonly.aof.{R.randrange(1, 60)}.incr.aof",
    "aof_hist": lambda: (
        f"appendonly.aof.{R.randrange(1, 60)}.{R.choice(['base.rdb', 'base.aof', 'incr.aof'])}"
    ),
    "redis_client": redis_client,
    # cluster_legacy.c: a quorum is size / 2 + 1 of the masters; logged while votes are short
    "quorum": lambda: str(R.randrange(3, 16) // 2 + 1),
    "votes": lambda: str(R.randrange(0, int(LINE["quorum"]))),
    "connect_error": lambda: R.choice(C_CONNECT_ERRORS),
    "name": lambda: R.choice(NAMES) + R.choice(["", f"-{R.randrange(1, 9)}"]),
    # haproxy: proxy_cap_str() and the mode a frontend logs ("HTTP" or "TCP", frontend.c)
    "cap": lambda: R.choice(["frontend", "frontend", "backend", "proxy"]),
    "mode": lambda: R.choice(["HTTP", "HTTP", "TCP"]),
    # haproxy proto_tcp.c: the two messages of a failed connect() it logs
    "connect_msg": lambda: R.choice(["no free ports", "local address already in use"]),
    "cert": lambda: (
        f"/etc/haproxy/certs/{R.choice(NAMES)}.{R.choice(['example.com', 'shop.io'])}.pem"
    ),
    "bucket": lambda: (
        f"{R.choice(NAMES)}-{R.choice(['prod', 'dev', 'stage', 'eu', 'us'])}{R.randrange(1, 30)}"
    ),
    "obj": lambda: f"{R.choice(NAMES)}/{R.randrange(2020, 2027)}/{R.getrandbits(48):012x}.parquet",
    "drive": lambda: f"/mnt/disk{R.randrange(1, 17)}",
    "drive_error": lambda: R.choice(DRIVE_ERRORS),
    "format_error": lambda: R.choice(FORMAT_ERRORS),
    "delete_error": minio_delete_error,
    "offline": minio_offline,
    "range_first": lambda: minio_range(0),
    "range_last": lambda: minio_range(1),
    "release": lambda: R.choice(
        [
            f"RELEASE.{R.randrange(2019, 2026)}-{R.randrange(1, 13):02d}-{R.randrange(1, 29):02d}",
            f"v{R.randrange(1, 9)}.{R.randrange(0, 20)}.{R.randrange(0, 9)}",
            "DEVELOPMENT.GOGET",
        ]
    ),
    "dur": go_duration,
    "host": host,
    "rescode": resolve_code,
    "resolver": resolve_text,
    # nginx: HTTP/2 error codes other than INTERNAL_ERROR (2) and CANCEL (8), which have their
    # own messages; frame types past the ten it knows; stream ids a client opens (odd)
    "h2status": lambda: str(R.choice([0, 1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13])),
    "h2type": lambda: str(R.choice([10, 11, 12, 16, R.randrange(13, 256)])),
    "sid": lambda: str(2 * R.randrange(0, 5000) + 1),
    "h2len": lambda: str(R.randrange(0, 6)),  # under the padding + priority fields it announced
    "table_size": lambda: str(R.randrange(4097, 2**20)),  # past NGX_HTTP_V2_TABLE_SIZE
    "streams": lambda: str(R.choice([128, 128, 128, 64, 256, 32])),  # http2_max_concurrent_streams
    "conns": lambda: str(R.choice([512, 768, 1024, 1024, 4096, 10240])),  # worker_connections
    "zflush": lambda: str(R.choice([0, 2, 4])),  # Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FINISH
    "zrc": lambda: "-2",  # Z_STREAM_ERROR: deflate()'s one error that is logged
    "auth_status": lambda: str(R.choice([302, 400, 404, 405, 500, 502, 503, 504])),
    "tp": topic_partition,
    "partitions": partitions,
    "knode": kafka_node,
    "classic_member": classic_member,
    "member": member_id,
    "epoch": lambda: str(R.randrange(1, 400)),
    "member_epoch": member_epoch,
    "state_from": state_from,
    "state_to": lambda: LINE["state_to"],
    "assignment": group_assignment,
    "commit_error": kafka_commit_error,
    "fetch_error": kafka_fetch_error,
    "leave_reason": leave_reason,
}

# (weight, statement): {kind} marks a format specifier. Sources: the file each statement is in.
SYSTEMS: dict[str, list[tuple[int, str]]] = {
    # redis/redis src/cluster_legacy.c, src/networking.c, src/rdb.c, src/aof.c
    "Redis": [
        (12, "Accepting cluster node connection from {ip}:{eport}"),
        (10, "Connecting with Node {node} at {ip}:{cport}"),
        (6, "Connection with Node {node} at {ip}:{cport} failed: {connect_error}"),
        (8, "Handshake with node {node} completed."),
        (5, "Address updated for node {node} ({name}), now {ip}:{rport}"),
        (4, "Failover auth granted to {node} ({name}) for epoch {epoch}"),
        (4, "Starting a failover election for epoch {epoch}."),
        (3, "Needed quorum: {quorum}. Number of votes received so far: {votes}"),
        (14, "Client closed connection {redis_client}"),
        (6, "Background saving started by pid {pid}"),
        (5, "RDB age {int} seconds"),
        (5, "RDB memory usage when created {float} Mb"),
        (4, "Opening AOF incr file {aof_incr} on server start"),
        (3, "Creating AOF incr file {aof_incr} on background rewrite"),
        (3, "Removing the history file {aof_hist} in the background"),
        (3, "Killing running AOF rewrite child: {pid}"),
        (4, "Replacing inbound link fd {small} from node {node} with fd {small}"),
        (3, "Renaming node {node} into {node}"),
    ],
    # nginx/nginx src/http/ngx_http_request.c, src/http/v2/ngx_http_v2.c,
    # src/http/v2/ngx_http_v2_table.c, src/http/modules/ngx_http_gzip_filter_module.c,
    # src/http/modules/ngx_http_auth_request_module.c, src/http/modules/ngx_http_upstream_zone_module.c,
    # src/core/ngx_connection.c, src/core/ngx_open_file_cache.c, src/event/ngx_event_connect.c,
    # src/event/modules/ngx_devpoll_module.c
    "Nginx": [
        (12, "client {ip} closed keepalive connection"),
        (8, "client intended to send too large body: {big} bytes"),
        (6, "client sent HEADERS frame with incorrect length {h2len}"),
        (5, "client sent invalid table size update: {table_size}"),
        (6, "client canceled stream {sid}"),
        (5, "client terminated stream {sid} with status {h2status}"),
        (4, "concurrent streams exceeded {streams}"),
        (4, "{conns} worker_connections are not enough"),
        (5, "close({small}) failed"),
        (4, "deflate() failed: {zflush}, {zrc}"),
        (6, "{host} could not be resolved ({rescode}: {resolver})"),
        (3, "{int} items still left in open file cache"),
        (4, "auth request unexpected status: {auth_status}"),
        (5, "client sent frame with unknown type {h2type}"),
        (5, "bind({ip}) failed"),
    ],
    # haproxy/haproxy src/frontend.c, src/proxy.c, src/listener.c, src/haproxy.c, src/acme.c,
    # src/proto_tcp.c, src/server_state.c, src/flt_spoe.c
    "HAProxy": [
        (14, "Connect from {ip}:{eport} to {ip}:{lport} ({name}/{mode})"),
        (6, "Proxy {name} stopped (cumulated conns: FE: {int}, BE: {int})."),
        (4, "Proxy {name} hard-stopped ({int} remaining conns will be closed)."),
        (5, "Paused {cap} {name}."),
        (4, "Resumed {cap} {name}."),
        (5, "Port {lport} busy while trying to enable {cap} {name}."),
        (4, "Scheduling a soft-stop in {int} ms."),
        (5, "SIGHUP received, dumping servers states for proxy {name}."),
        (4, "acme: {cert}: Starting update of the certificate."),
        (4, "acme: {cert}: Successful update of the certificate."),
        (3, "acme: {cert}: dns-01: retrying the resolution in {small}s"),
        (4, "Connect() failed for backend {name}: {connect_msg}."),
        (
            3,
            "backend name mismatch: from server state file: '{name}', from running config '{name}'",
        ),
        (4, "SPOE: [{name}] failed to create SPOE applet"),
    ],
    # minio/minio cmd/server-main.go, cmd/handler-api.go, cmd/storage-rest-server.go,
    # cmd/erasure-sets.go, cmd/data-scanner.go, cmd/bootstrap-peer-server.go, cmd/update.go,
    # cmd/httprange.go, cmd/endpoint.go (logger.Info, and fmt.Errorf messages that reach the log)
    "MinIO": [
        (6, "All MinIO sub-systems initialized successfully in {dur}"),
        (5, "Configured max API requests per node based on available memory: {int}"),
        (
            8,
            "Drive {drive} returned an unexpected error: {drive_error}, please investigate - drive will be offline",
        ),
        (6, "Drive is already full at {drive}, incoming I/O will fail - drive will be offline"),
        (5, "Drive is faulty at {drive}, please replace the drive - drive will be offline"),
        (6, "Drive {drive} failed to write updated 'format.json': {format_error}"),
        (8, "DeleteObject({bucket}, {obj}): {delete_error}"),
        (4, "Waiting for at least {small} remote servers with valid configuration to be online"),
        (5, "Following servers are currently offline or unreachable {offline}"),
        (4, "{release} is not a valid release tag"),
        (
            5,
            "Detected unexpected drive ordering refusing to use the drive: expecting {drive}, found {drive}, refusing to use the drive",
        ),
        (4, "'{range_first}' does not have a valid first byte position value"),
        (4, "'{range_last}' does not have a valid last byte position value"),
        (
            4,
            "{host} resolves to localhost in a containerized deployment, waiting for it to resolve to a valid IP",
        ),
    ],
    # apache/kafka clients/src/main/java/org/apache/kafka/clients/consumer/internals/
    # ConsumerRebalanceListenerInvoker.java, AbstractCoordinator.java, AbstractMembershipManager.java,
    # CommitRequestManager.java, ConsumerCoordinator.java, OffsetFetcherUtils.java,
    # ClassicKafkaConsumer.java
    "Kafka": [
        (10, "Adding newly assigned partitions: {partitions}"),
        (6, "Lost previously assigned partitions {partitions}"),
        (8, "Discovered group coordinator {knode}"),
        (
            8,
            "Member {member} with epoch {member_epoch} transitioned from {state_from} to {state_to}.",
        ),
        (5, "Found no committed offset for partition {tp}"),
        (5, "Finished assignment for group at generation {epoch}: {assignment}"),
        (4, "JoinGroup failed: Coordinator {knode} is loading the group."),
        (4, "Consumer has been disconnected from the group coordinator for {int}ms"),
        (
            4,
            "Asynchronous auto-commit of offsets failed: {commit_error}. Will continue to join group.",
        ),
        (
            4,
            "Member {classic_member} sending LeaveGroup request to coordinator {knode} due to {leave_reason}",
        ),
        (
            3,
            "Attempt to fetch offsets for partition {tp} failed due to unexpected exception: {fetch_error}, retrying.",
        ),
        (4, "Assigned to partition(s): {partitions}"),
        (
            3,
            "Close timed out with {small} pending requests to coordinator, terminating client connections",
        ),
    ],
}

_KIND = re.compile(r"\{(\w+)\}")


WORDS = {"cap", "mode", "state_from", "state_to"}
"""Kinds whose value is one word from a fixed set of names the program defines (a proxy's type,
a frontend's mode, a member's state): the label keeps the word, as Loghub-2.0's labels keep the
names of states (``TaskAttempt Transitioned from NEW to UNASSIGNED``). Every other specifier,
messages included (error texts, reasons), is one ``<*>``."""


def generate(statements: list[tuple[int, str]], n: int) -> list[tuple[str, str]]:
    weights = [w for w, _ in statements]
    rows = []
    for _ in range(n):
        (_, statement) = R.choices(statements, weights)[0]
        kinds = _KIND.findall(statement)
        LINE.clear()
        values = []
        for kind in kinds:
            LINE[kind] = KINDS[kind]()
            values.append(LINE[kind])
        labels = [v if k in WORDS else "<*>" for k, v in zip(kinds, values, strict=True)]
        pieces = _KIND.split(statement)[::2]  # the text around the specifiers
        line = label = pieces[0]
        for value, shown, piece in zip(values, labels, pieces[1:], strict=True):
            line += value + piece
            label += shown + piece
        rows.append((line, label))
    return rows


def main() -> None:
    for system, statements in SYSTEMS.items():
        R.seed(f"{SEED}-{system}")
        with (HERE / f"{system}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["Content", "EventTemplate"])
            writer.writerows(generate(statements, 1000))


if __name__ == "__main__":
    main()
