"""Writes the labelled log sets of this folder: systems that are not in Loghub, from the real
software's own log statements (format strings read in each project's source, cited below).

Each line is generated from one statement with realistic values for its format specifiers and
labelled with that statement's template (every specifier one ``<*>``), so the ground truth is
which statement printed the line. Kept apart from tuning: the miner was never adjusted on these.

    python benchmarks/data/labelled/make_labelled.py   # rewrites the *.csv files (seeded)

Columns: ``Content`` (the message, header stripped as in Loghub), ``EventTemplate``.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
R = random.Random(20261205)

NAMES = ["orders", "users", "billing", "carts", "audit", "search", "events", "stock", "mail",
         "payments", "sessions", "reports", "catalog", "shipping"]  # fmt: skip
ERRORS = ["Connection refused", "Connection reset by peer", "No such file or directory",
          "Permission denied", "Broken pipe", "Operation timed out"]  # fmt: skip


CAP_R = random.Random(20261206)


def cap() -> str:
    """A proxy's type as haproxy's ``proxy_cap_str()`` writes it (the first ``%s`` of ``Paused
    %s %s.``, ``Resumed %s %s.`` and ``Port %d busy while trying to enable %s %s.``). Drawn from
    its own generator after the draws of the ``name`` it replaced, so the other files stay as
    they were."""
    KINDS["name"]()
    return CAP_R.choice(["frontend", "frontend", "backend", "proxy"])


def ip() -> str:
    return f"10.{R.randrange(256)}.{R.randrange(256)}.{R.randrange(1, 255)}"


KINDS: dict[str, Callable[[], str]] = {
    "ip": ip,
    "port": lambda: str(R.choice([6379, 6380, 16379, 443, 8080, 9092, 9000]) + R.randrange(3)),
    "int": lambda: str(R.randrange(0, 5000)),
    "small": lambda: str(R.randrange(1, 40)),
    "big": lambda: str(R.randrange(10**5, 10**10)),
    "float": lambda: f"{R.random() * 500:.2f}",
    "node": lambda: f"{R.getrandbits(160):040x}",
    "hex": lambda: f"{R.getrandbits(32):08x}",
    "pid": lambda: str(R.randrange(100, 99999)),
    "path": lambda: (
        "/"
        + "/".join(
            R.choice(["var", "data", "lib", "redis", "srv", "mnt", "disk1", "export", "tmp"])
            for _ in range(R.randrange(2, 4))
        )
        + R.choice(
            ["", f"/appendonly.aof.{R.randrange(1, 60)}.incr.aof", f"/dump-{R.randrange(99)}.rdb"]
        )
    ),
    "cap": cap,
    "name": lambda: R.choice(NAMES) + R.choice(["", f"-{R.randrange(1, 9)}"]),
    "bucket": lambda: (
        f"{R.choice(NAMES)}-{R.choice(['prod', 'dev', 'stage', 'eu', 'us'])}{R.randrange(1, 30)}"
    ),
    "obj": lambda: f"{R.choice(NAMES)}/{R.randrange(2020, 2027)}/{R.getrandbits(48):012x}.parquet",
    "drive": lambda: f"/mnt/disk{R.randrange(1, 17)}",
    "tp": lambda: f"{R.choice(NAMES)}-{R.randrange(0, 48)}",
    "member": lambda: f"consumer-{R.choice(NAMES)}-{R.randrange(1, 9)}-{R.getrandbits(128):032x}"[
        :60
    ],
    "epoch": lambda: str(R.randrange(1, 400)),
    "dur": lambda: R.choice(
        [
            f"{R.randrange(1, 999)}ms",
            f"{R.random() * 9:.3f}s",
            f"{R.randrange(1, 59)}m{R.randrange(60)}s",
        ]
    ),
    "server": lambda: f"{R.choice(NAMES)}-backend/srv{R.randrange(1, 20)}",
    "client": lambda: (
        f"id={R.randrange(2, 9999)} addr={ip()}:{R.randrange(1024, 65535)} "
        f"laddr={ip()}:6379 fd={R.randrange(8, 999)} name= age={R.randrange(0, 9999)}"
    ),
    "errno": lambda: R.choice(ERRORS),
    "host": lambda: (
        f"{R.choice(NAMES)}{R.randrange(1, 30)}.{R.choice(['internal', 'svc', 'local'])}"
    ),
    "mode": lambda: R.choice(["HTTP", "TCP"]),
    "resolver": lambda: R.choice(
        [
            "Host not found",
            "Operation timed out",
            "Server failure",
            "Format error",
            "Connection refused",
        ]
    ),
    "uri": lambda: f"/api/{R.choice(NAMES)}/{R.randrange(1, 99999)}",
}

# (weight, statement): {kind} marks a format specifier. Sources: the file each statement is in.
SYSTEMS: dict[str, list[tuple[int, str]]] = {
    # redis/redis src/cluster_legacy.c, src/networking.c, src/rdb.c, src/aof.c, src/replication.c
    "Redis": [
        (12, "Accepting cluster node connection from {ip}:{port}"),
        (10, "Connecting with Node {node} at {ip}:{port}"),
        (6, "Connection with Node {node} at {ip}:{port} failed: {errno}"),
        (8, "Handshake with node {node} completed."),
        (5, "Address updated for node {node} ({name}), now {ip}:{port}"),
        (4, "Failover auth granted to {node} ({name}) for epoch {epoch}"),
        (4, "Starting a failover election for epoch {epoch}."),
        (3, "Needed quorum: {small}. Number of votes received so far: {small}"),
        (14, "Client closed connection {client}"),
        (6, "Background saving started by pid {pid}"),
        (5, "RDB age {int} seconds"),
        (5, "RDB memory usage when created {float} Mb"),
        (4, "Opening AOF incr file {path} on server start"),
        (3, "Creating AOF incr file {path} on background rewrite"),
        (3, "Removing the history file {path} in the background"),
        (3, "Killing running AOF rewrite child: {pid}"),
        (4, "Replacing inbound link fd {small} from node {node} with fd {small}"),
        (3, "Renaming node {node} into {node}"),
    ],
    # nginx/nginx src/http/ngx_http_request.c, src/http/v2/ngx_http_v2.c, src/core/*.c,
    # src/event/ngx_event_connect.c
    "Nginx": [
        (12, "client {ip} closed keepalive connection"),
        (8, "client intended to send too large body: {big} bytes"),
        (6, "client sent HEADERS frame with incorrect length {int}"),
        (5, "client sent invalid table size update: {int}"),
        (6, "client canceled stream {int}"),
        (5, "client terminated stream {int} with status {int}"),
        (4, "concurrent streams exceeded {small}"),
        (4, "{int} worker_connections are not enough"),
        (5, "close({small}) failed"),
        (4, "deflate() failed: {small}, {small}"),
        (6, "{host} could not be resolved ({small}: {resolver})"),
        (3, "{int} items still left in open file cache"),
        (4, "auth request unexpected status: {int}"),
        (5, "client sent frame with unknown type {small}"),
        (5, "bind({ip}:{port}) failed"),
    ],
    # haproxy/haproxy src/proxy.c, src/backend.c, src/server.c, src/acme.c, src/haproxy.c
    "HAProxy": [
        (14, "Connect from {ip}:{port} to {ip}:{port} ({name}/{mode})"),
        (6, "Proxy {name} stopped (cumulated conns: FE: {int}, BE: {int})."),
        (4, "Proxy {name} hard-stopped ({int} remaining conns will be closed)."),
        (5, "Paused {cap} {name}."),
        (4, "Resumed {cap} {name}."),
        (5, "Port {port} busy while trying to enable {cap} {name}."),
        (4, "Scheduling a soft-stop in {int} ms."),
        (5, "SIGHUP received, dumping servers states for proxy {name}."),
        (4, "acme: {name}: Starting update of the certificate."),
        (4, "acme: {name}: Successful update of the certificate."),
        (3, "acme: {name}: dns-01: retrying the resolution in {small}s"),
        (4, "Connect() failed for backend {name}: {errno}."),
        (
            3,
            "backend name mismatch: from server state file: '{name}', from running config '{name}'",
        ),
        (4, "SPOE: [{name}] failed to create SPOE applet"),
    ],
    # minio/minio cmd/*.go (logger.Info, fmt.Errorf messages that reach the log)
    "MinIO": [
        (6, "All MinIO sub-systems initialized successfully in {dur}"),
        (5, "Configured max API requests per node based on available memory: {int}"),
        (
            8,
            "Drive {drive} returned an unexpected error: {errno}, please investigate - drive will be offline",
        ),
        (6, "Drive is already full at {drive}, incoming I/O will fail - drive will be offline"),
        (5, "Drive is faulty at {drive}, please replace the drive - drive will be offline"),
        (6, "Drive {drive} failed to write updated 'format.json': {errno}"),
        (8, "DeleteObject({bucket}, {obj}): {errno}"),
        (5, "{host} is unreachable: {errno}"),
        (4, "{name} is not a valid release tag"),
        (
            5,
            "Detected unexpected drive ordering refusing to use the drive: expecting {drive}, found {drive}, refusing to use the drive",
        ),
        (4, "'{int}' does not have a valid first byte position value"),
        (4, "'{int}' does not have a valid last byte position value"),
        (
            4,
            "{host} resolves to localhost in a containerized deployment, waiting for it to resolve to a valid IP",
        ),
    ],
    # apache/kafka clients/src/main/java/org/apache/kafka/clients/consumer/internals/*.java
    "Kafka": [
        (10, "Adding newly assigned partitions: {tp}"),
        (6, "Lost previously assigned partitions {tp}"),
        (8, "Discovered group coordinator {host}:{port} (id: {int} rack: null)"),
        (8, "Member {member} with epoch {epoch} transitioned from {name} to {name}."),
        (5, "Found no committed offset for partition {tp}"),
        (5, "Finished assignment for group at generation {epoch}: {name}"),
        (4, "JoinGroup failed: Coordinator {host}:{port} is loading the group."),
        (4, "Consumer has been disconnected from the group coordinator for {int}ms"),
        (4, "Asynchronous auto-commit of offsets failed: {errno}. Will continue to join group."),
        (
            4,
            "Member {member} sending LeaveGroup request to coordinator {host}:{port} due to {name}",
        ),
        (
            3,
            "Attempt to fetch offsets for partition {tp} failed due to unexpected exception: {errno}, retrying.",
        ),
        (4, "Assigned to partition(s): {tp}"),
        (
            3,
            "Close timed out with {small} pending requests to coordinator, terminating client connections",
        ),
    ],
}

_KIND = re.compile(r"\{(\w+)\}")


WORDS = {"cap"}
"""Kinds whose values are a few fixed words the program writes (``proxy_cap_str()``): the label
keeps the word, as Loghub-2.0's labels keep the names of states (``TaskAttempt Transitioned from
NEW to UNASSIGNED``); every other specifier is one ``<*>``."""


def generate(statements: list[tuple[int, str]], n: int) -> list[tuple[str, str]]:
    weights = [w for w, _ in statements]
    rows = []
    for _ in range(n):
        (_, statement) = R.choices(statements, weights)[0]
        kinds = _KIND.findall(statement)
        values = [KINDS[kind]() for kind in kinds]
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
        with (HERE / f"{system}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["Content", "EventTemplate"])
            writer.writerows(generate(statements, 1000))


if __name__ == "__main__":
    main()
