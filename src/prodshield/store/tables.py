"""Every table prodshield keeps, declared once with SQLAlchemy Core.

Times are UNIX epoch seconds (float) so both backends sort and compare them the same way; JSON
columns hold structured details (conditions, timings, samples).
Each capability owns the tables in its section; its migrations live in ``store/migrations/``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ID = BigInteger().with_variant(Integer(), "sqlite")

schema_versions = Table(
    "schema_versions",
    metadata,
    Column("component", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("applied_at", Float, nullable=False),
)

kv = Table(
    "kv",
    metadata,
    Column("namespace", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", JSON, nullable=True),
    Column("updated_at", Float, nullable=False),
)

# --- monitor -------------------------------------------------------------------------------

check_results = Table(
    "check_results",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("check_name", String(255), nullable=False),
    Column("environment", String(128), nullable=False, default=""),
    Column("ts", Float, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("response_time_ms", Float, nullable=True),
    Column("error_kind", String(32), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("conditions", JSON, nullable=True),
    Column("timings", JSON, nullable=True),
    Column("details", JSON, nullable=True),
    Column("maintenance", Boolean, nullable=False, default=False),
    Column("instance", String(128), nullable=True),
    Column("location", String(128), nullable=True),
    Column("degraded", Boolean, nullable=True),
    Index("ix_check_results_check_env_ts", "check_name", "environment", "ts"),
    Index("ix_check_results_ts", "ts"),
)

COUNTS_FOR_UPTIME = ~check_results.c.maintenance
"""The results every uptime figure counts: those taken outside a maintenance window (the monitor
marks the others when it stores them). The hourly aggregates are rolled up from these only, so
the CLI, the API, the dashboard, the status page and the badges all leave planned work out."""

check_hourly = Table(
    "check_hourly",
    metadata,
    Column("check_name", String(255), primary_key=True),
    Column("environment", String(128), primary_key=True),
    Column("hour", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("sum_ms", Float, nullable=False, default=0.0),
    Column("max_ms", Float, nullable=True),
    Column("p50_ms", Float, nullable=True),
    Column("p95_ms", Float, nullable=True),
    Column("p99_ms", Float, nullable=True),
    Column("error_kinds", JSON, nullable=True),
    Column("degraded", Integer, nullable=True),
    Index("ix_check_hourly_hour", "hour"),
)

check_state = Table(
    "check_state",
    metadata,
    Column("check_name", String(255), primary_key=True),
    Column("environment", String(128), primary_key=True),
    Column("status", String(16), nullable=False, default="unknown"),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("consecutive_successes", Integer, nullable=False, default=0),
    Column("last_ts", Float, nullable=True),
    Column("last_ok", Boolean, nullable=True),
    Column("last_error_kind", String(32), nullable=True),
    Column("transitions", JSON, nullable=True),
    Column("updated_at", Float, nullable=False),
    Column("first_failure_ts", Float, nullable=True),
    Column("first_failure_result_id", BigInteger, nullable=True),
    Column("recovery_start_ts", Float, nullable=True),
    Column("open_incident_id", BigInteger, nullable=True),
    Column("last_reminder_at", Float, nullable=True),
    Column("last_change_ts", Float, nullable=True),
    Column("open_kind", String(16), nullable=True),
    Column("opened_at", Float, nullable=True),
    Column("open_error_kind", String(32), nullable=True),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("check_name", String(255), nullable=False),
    Column("environment", String(128), nullable=False, default=""),
    Column("kind", String(16), nullable=False, default="down"),
    Column("status", String(16), nullable=False, default="open"),
    Column("opened_at", Float, nullable=False),
    Column("resolved_at", Float, nullable=True),
    Column("first_result_id", BigInteger, nullable=True),
    Column("failing_conditions", JSON, nullable=True),
    Column("error_kinds", JSON, nullable=True),
    Column("last_error_kind", String(32), nullable=True),
    Column("acknowledged_at", Float, nullable=True),
    Column("acknowledged_by", String(128), nullable=True),
    Column("notes", JSON, nullable=True),
    Column("refs", JSON, nullable=True),
    Column("resolved_by", String(32), nullable=True),
    Column("severity", String(16), nullable=True),
    Column("title", String(300), nullable=True),
    Index("ix_incidents_check_env_status", "check_name", "environment", "status"),
)

incident_evidence = Table(
    "incident_evidence",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("incident_id", BigInteger, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("key", String(64), nullable=False),
    Column("at", Float, nullable=False),
    Column("summary", Text, nullable=False),
    Column("details", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("incident_id", "kind", "key", name="uq_incident_evidence"),
)

incident_updates = Table(
    "incident_updates",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("incident_id", BigInteger, nullable=False),
    Column("ts", Float, nullable=False),
    Column("text", Text, nullable=False),
    Column("by", String(128), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("external_id", String(64), nullable=True),
    UniqueConstraint("incident_id", "origin", "external_id", name="uq_incident_updates_ext"),
    Index("ix_incident_updates_incident", "incident_id", "ts"),
)

silences = Table(
    "silences",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    # NULL: every check (every environment); otherwise the one check (environment) it covers
    Column("check_name", String(255), nullable=True),
    Column("environment", String(128), nullable=True),
    Column("reason", Text, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("ended_at", Float, nullable=True),
    Column("ended_by", String(128), nullable=True),
    Index("ix_silences_expires", "expires_at"),
)

status_subscribers = Table(
    "status_subscribers",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("target", String(2000), nullable=False),
    Column("secret", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("confirmed_at", Float, nullable=True),
    Column("confirm_sent_at", Float, nullable=True),
    Column("client", String(64), nullable=True),
    UniqueConstraint("kind", "target", name="uq_status_subscribers_target"),
)

heartbeats = Table(
    "heartbeats",
    metadata,
    Column("check_name", String(255), primary_key=True),
    # "" for a check without environments; one row (one ping URL) per check and environment
    Column("environment", String(128), primary_key=True, default=""),
    Column("token", String(64), nullable=False, unique=True),
    Column("last_ping", Float, nullable=True),
    Column("pings", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=True),
    Column("started_at", Float, nullable=True),
    Column("failed_at", Float, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("duration_s", Float, nullable=True),
    Column("output", Text, nullable=True),
)

monitor_instances = Table(
    "monitor_instances",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("location", String(128), nullable=True),
    Column("started_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("heartbeat_s", Float, nullable=False),
    # The session advisory lock the instance holds while its process lives (PostgreSQL).
    Column("lock_key", Integer, nullable=True),
    # A hash of the instance's target list: checks are split among instances of the same group.
    Column("group_key", String(64), nullable=True),
    Column("targets", Integer, nullable=False, default=0),
    Column("version", String(32), nullable=True),
)

check_leases = Table(
    "check_leases",
    metadata,
    Column("check_name", String(255), primary_key=True),
    Column("environment", String(128), primary_key=True),
    # "" for a check run from one place; the location, for a check run from several (locations: N).
    Column("slot", String(128), primary_key=True, default=""),
    Column("owner", String(64), nullable=False),
    Column("acquired_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_check_leases_owner", "owner"),
)

# --- logs ----------------------------------------------------------------------------------

log_offsets = Table(
    "log_offsets",
    metadata,
    Column("source", String(1024), primary_key=True),
    Column("inode", BigInteger, nullable=True),
    Column("device", BigInteger, nullable=True),
    Column("offset", BigInteger, nullable=False, default=0),
    Column("fingerprint", String(128), nullable=True),
    Column("lines", BigInteger, nullable=False, default=0),
    Column("updated_at", Float, nullable=False),
)

log_templates = Table(
    "log_templates",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("template", Text, nullable=False),
    Column("count", BigInteger, nullable=False, default=0),
    Column("first_seen", Float, nullable=True),
    Column("last_seen", Float, nullable=True),
    Column("example", Text, nullable=True),
    Column("source", String(255), nullable=True),
)

log_template_counts = Table(
    "log_template_counts",
    metadata,
    Column("template_id", String(64), primary_key=True),
    Column("hour", BigInteger, primary_key=True),
    Column("count", BigInteger, nullable=False),
)

log_findings = Table(
    "log_findings",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("fingerprint", String(128), nullable=False),
    Column("category", String(32), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("count", BigInteger, nullable=False, default=1),
    Column("first_seen", Float, nullable=True),
    Column("last_seen", Float, nullable=True),
    Column("source", JSON, nullable=True),
    Column("samples", JSON, nullable=True),
    Column("details", JSON, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("message", Text, nullable=True),
    Column("updated_at", Float, nullable=True),
    Index("ix_log_findings_fp", "fingerprint"),
    Index("ix_log_findings_created", "created_at"),
    # the follower's "still going" lookup, the evidence's window and `db merge` read by it
    Index("ix_log_findings_updated", "updated_at"),
    # the API's and dashboard's "last seen first" page: without it, every page sorted the whole
    # table (0.9 s at 100,000 findings)
    Index("ix_log_findings_last_seen", "last_seen", "id"),
    # /metrics' occurrences per kind and severity, read from the index alone
    Index("ix_log_findings_kind", "kind", "severity", "count"),
)

debt_snapshots = Table(
    "debt_snapshots",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("repo", String(1024), nullable=False),
    Column("taken_at", Float, nullable=False),
    Column("items", JSON, nullable=False),
)

# --- audit ---------------------------------------------------------------------------------

audit_runs = Table(
    "audit_runs",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Column("fail_on", String(16), nullable=True),
    Column("passed", Boolean, nullable=True),
    Column("summary", JSON, nullable=True),
)

audit_findings = Table(
    "audit_findings",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("run_id", BigInteger, nullable=False),
    Column("family", String(32), nullable=False),
    Column("rule", String(128), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("path", Text, nullable=True),
    Column("line", Integer, nullable=True),
    Column("target", String(255), nullable=True),
    Column("message", Text, nullable=True),
    Column("fix", Text, nullable=True),
    Column("fingerprint", String(128), nullable=False),
    Index("ix_audit_findings_run", "run_id"),
)

# --- chaos ---------------------------------------------------------------------------------

experiment_journals = Table(
    "experiment_journals",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("title", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("deviated", Boolean, nullable=False, default=False),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float, nullable=True),
    Column("journal", JSON, nullable=False),
)

# --- deploys ------------------------------------------------------------------------------

deploys = Table(
    "deploys",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("version", String(255), nullable=False),
    Column("environment", String(128), nullable=False, default=""),
    Column("service", String(255), nullable=False, default=""),
    Column("deployed_at", Float, nullable=False),
    Column("note", Text, nullable=True),
    Index("ix_deploys_at", "deployed_at"),
)

# --- notify --------------------------------------------------------------------------------

outbox = Table(
    "outbox",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(255), nullable=False),
    Column("notifier", String(128), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("subject", String(255), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("sent_at", Float, nullable=True),
    Column("result", JSON, nullable=True),
    Column("lease_owner", String(128), nullable=True),
    Column("lease_until", Float, nullable=True),
    UniqueConstraint("notifier", "idempotency_key", name="uq_outbox_notifier_key"),
    Index("ix_outbox_status_next", "status", "next_attempt_at"),
    Index("ix_outbox_thread", "notifier", "subject", "status"),
)
