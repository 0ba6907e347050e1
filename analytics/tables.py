"""The stored tables, declared once as Arrow schemas (docs/schema.md).

The DuckDB DDL is derived from these schemas, so the rows the pipeline builds and the
tables they go into cannot drift apart. Every event table starts with the same shared
keys, so everything joins on project, release, session and time. The tables of what
analytics concludes (incidents, alerts, reports) are declared in ``analytics/conclusions.py``.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("ms")

#: On every event table: who sent it, when, from which page and client.
SHARED = [
    pa.field("event_id", pa.string(), nullable=False),
    pa.field("batch_id", pa.string()),
    pa.field("ts", TIMESTAMP, nullable=False),
    pa.field("received_at", TIMESTAMP, nullable=False),
    pa.field("project", pa.string(), nullable=False),
    pa.field("project_id", pa.int32(), nullable=False),
    pa.field("environment", pa.string()),
    pa.field("release", pa.string()),
    pa.field("session_id", pa.string()),
    pa.field("user_id", pa.string()),
    pa.field("page_url", pa.string()),
    pa.field("browser", pa.string()),
    pa.field("browser_version", pa.string()),
    pa.field("os", pa.string()),
    pa.field("os_version", pa.string()),
    pa.field("device_type", pa.string()),
    pa.field("is_bot", pa.bool_()),
    pa.field("client_ip", pa.string()),
    pa.field("country", pa.string()),
]


#: The page's route (analytics/routes.py), computed from ``page_url`` as rows are stored, never sent: the last
#: column of every event table, after the columns a row is built with.
ROUTE = pa.field("route", pa.string())


def _table(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([*SHARED, *(pa.field(name, kind) for name, kind in fields), ROUTE])


ERRORS = _table(
    ("error_type", pa.string()),
    ("message", pa.string()),
    ("stack", pa.string()),
    ("source_file", pa.string()),
    ("source_line", pa.int32()),
    ("source_column", pa.int32()),
    ("mechanism", pa.string()),
    ("level", pa.string()),
    ("cross_origin", pa.bool_()),
    ("causes", pa.string()),  # JSON
    ("breadcrumbs", pa.string()),  # JSON
    ("fingerprint", pa.string()),  # JSON
    ("tags", pa.string()),  # JSON
    ("user_agent", pa.string()),
    ("extra", pa.string()),  # JSON: a Sentry SDK's extra data
    ("contexts", pa.string()),  # JSON: a Sentry SDK's contexts (browser, os, device, runtime, trace, …)
    ("request", pa.string()),  # JSON: a Sentry SDK's request: method, headers without cookies or credentials
    ("frames", pa.string()),  # JSON: parsed and symbolicated, innermost first
    ("title", pa.string()),
    ("culprit", pa.string()),
    ("app_hash", pa.string()),
    ("full_hash", pa.string()),
    ("grouping", pa.string()),  # what made the hashes: frames, message, family or fingerprint
    ("sdk", pa.string()),  # what sent it: the beacon's name/version, or a Sentry SDK's
    ("issue_id", pa.int64()),  # last built: the consumer fills it in when it stores the row
)

NETWORK_FAILURES = _table(
    ("api", pa.string()),
    ("method", pa.string()),
    ("url", pa.string()),
    ("status", pa.int32()),
    ("duration_ms", pa.float64()),
    ("failure", pa.string()),
    ("nel_phase", pa.string()),
    ("nel_type", pa.string()),
)

RESOURCE_FAILURES = _table(
    ("url", pa.string()),
    ("element", pa.string()),
    ("source", pa.string()),
    ("status", pa.int32()),
    ("duration_ms", pa.float64()),
)

SLOW_REQUESTS = _table(
    ("api", pa.string()),
    ("url", pa.string()),
    ("status", pa.int32()),
    ("duration_ms", pa.float64()),
    ("dns_ms", pa.float64()),
    ("connect_ms", pa.float64()),
    ("tls_ms", pa.float64()),
    ("ttfb_ms", pa.float64()),
)

WEB_VITALS = _table(
    ("name", pa.string()),
    ("value", pa.float64()),
    ("rating", pa.string()),
    ("metric_id", pa.string()),
    ("delta", pa.float64()),
    ("navigation_type", pa.string()),
    ("attribution", pa.string()),  # JSON
    ("metric_key", pa.uint64()),  # analytics.rows.metric_key(name, metric_id): what the rollups look a metric up by
)

PAGE_VIEWS = _table(
    ("navigation", pa.string()),
    ("referrer", pa.string()),
    ("dns_ms", pa.float64()),
    ("connect_ms", pa.float64()),
    ("tls_ms", pa.float64()),
    ("ttfb_ms", pa.float64()),
    ("dom_interactive_ms", pa.float64()),
    ("load_ms", pa.float64()),
    ("user_agent", pa.string()),
)

REPORTS = _table(
    ("source", pa.string()),  # "beacon" (seen by page script) or "reporting_api" (sent by the browser)
    ("report_type", pa.string()),  # "csp", "deprecation", "intervention", …
    ("blocked_uri", pa.string()),
    ("effective_directive", pa.string()),
    ("violated_directive", pa.string()),
    ("original_policy", pa.string()),
    ("disposition", pa.string()),
    ("report_id", pa.string()),
    ("message", pa.string()),
    ("source_file", pa.string()),
    ("line", pa.int32()),
    ("column", pa.int32()),
    ("sample", pa.string()),
    ("status_code", pa.int32()),
)

CLIENT_DROPS = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("received_at", TIMESTAMP, nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("session_id", pa.string()),
        pa.field("sdk", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("category", pa.string()),  # Sentry client reports: "error", "transaction", …
    ]
)

SENTRY_SESSIONS = pa.schema(
    [
        pa.field("entry_id", pa.string(), nullable=False),
        pa.field("row", pa.int32(), nullable=False),
        pa.field("received_at", TIMESTAMP, nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("release", pa.string()),
        pa.field("environment", pa.string()),
        pa.field("started", TIMESTAMP),
        pa.field("session_id", pa.string()),
        pa.field("distinct_id", pa.string()),
        pa.field("status", pa.string()),
        pa.field("errors", pa.int32()),
        pa.field("duration_s", pa.float64()),
        pa.field("quantity", pa.int64()),
        pa.field("init", pa.bool_()),
        pa.field("sdk", pa.string()),
    ]
)

OUTCOMES = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("collector", pa.string()),
        pa.field("window_start", TIMESTAMP, nullable=False),
        pa.field("window_end", TIMESTAMP, nullable=False),
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("project", pa.string()),
        pa.field("outcome", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("unit", pa.string()),
        pa.field("count", pa.int64(), nullable=False),
    ]
)

SOURCE_MAPS = pa.schema(
    [
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("release", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("debug_id", pa.string()),
        pa.field("uploaded_at", TIMESTAMP, nullable=False),
        pa.field("bytes", pa.int64(), nullable=False),
        pa.field("map", pa.string(), nullable=False),
        pa.field("source", pa.string()),  # the minified file, when the upload had it
    ]
)

SENTRY_RELEASES = pa.schema(
    [
        pa.field("entry_id", pa.string(), nullable=False),
        pa.field("row", pa.int32(), nullable=False),
        pa.field("received_at", TIMESTAMP, nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("release", pa.string(), nullable=False),
        pa.field("action", pa.string(), nullable=False),  # "created", "updated" (finalized) or "deployed"
        pa.field("started", TIMESTAMP),
        pa.field("released", TIMESTAMP),
        pa.field("environment", pa.string()),
        pa.field("url", pa.string()),
        pa.field("sdk", pa.string()),  # what called: sentry-cli's User-Agent
    ]
)

#: On every row a probe agent sent: the record's id, times, and which agent in which region.
PROBE_SHARED = [
    pa.field("id", pa.string(), nullable=False),
    pa.field("ts", TIMESTAMP, nullable=False),
    pa.field("received_at", TIMESTAMP, nullable=False),
    pa.field("project", pa.string(), nullable=False),
    pa.field("project_id", pa.int32(), nullable=False),
    pa.field("region", pa.string(), nullable=False),
    pa.field("host", pa.string()),
    pa.field("agent_id", pa.string()),
]


def _probe_table(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([*PROBE_SHARED, *(pa.field(name, kind) for name, kind in fields)])


PROBE_RESULTS = _probe_table(
    ("check", pa.string()),
    ("check_type", pa.string()),
    ("target", pa.string()),
    ("status", pa.string()),  # "up", "down" or "unknown" (the agent's own network failed its self-check)
    ("duration_ms", pa.float64()),
    ("error", pa.string()),
    ("reason", pa.string()),
    ("dns_ms", pa.float64()),
    ("connect_ms", pa.float64()),
    ("tls_ms", pa.float64()),
    ("processing_ms", pa.float64()),
    ("transfer_ms", pa.float64()),
    ("http_status", pa.int32()),
    ("response_bytes", pa.int64()),
    ("redirects", pa.int32()),
    ("resolved_ip", pa.string()),
    ("cert_expires_at", TIMESTAMP),
    ("cert_days_left", pa.float64()),
    ("dns_answers", pa.string()),  # JSON
)

HOST_METRICS = _probe_table(
    ("interval_s", pa.float64()),
    ("cpu", pa.string()),  # JSON: percent by mode
    ("cpu_busy_percent", pa.float64()),
    ("load1", pa.float64()),
    ("load5", pa.float64()),
    ("load15", pa.float64()),
    ("memory_total", pa.int64()),
    ("memory_available", pa.int64()),
    ("memory_used", pa.int64()),
    ("memory_percent", pa.float64()),
    ("swap_total", pa.int64()),
    ("swap_used", pa.int64()),
    ("swap_percent", pa.float64()),
    ("swap_in_per_s", pa.float64()),
    ("swap_out_per_s", pa.float64()),
    ("disks", pa.string()),  # JSON
    ("disk_io", pa.string()),  # JSON
    ("net", pa.string()),  # JSON
    ("net_bytes_sent_per_s", pa.float64()),
    ("net_bytes_recv_per_s", pa.float64()),
    ("open_fds", pa.int64()),
    ("max_fds", pa.int64()),
    ("processes", pa.int64()),
    ("uptime_s", pa.float64()),
)

AGENT_HEARTBEATS = _probe_table(
    ("started_at", TIMESTAMP),
    ("interval_s", pa.float64()),
    ("checks", pa.int32()),
    ("spooled_batches", pa.int64()),
    ("dropped_records", pa.int64()),
    ("self_check_ok", pa.bool_()),
)

TABLES: dict[str, pa.Schema] = {
    "errors": ERRORS,
    "network_failures": NETWORK_FAILURES,
    "resource_failures": RESOURCE_FAILURES,
    "slow_requests": SLOW_REQUESTS,
    "web_vitals": WEB_VITALS,
    "page_views": PAGE_VIEWS,
    "reports": REPORTS,
    "client_drops": CLIENT_DROPS,
    "outcomes": OUTCOMES,
    "sentry_sessions": SENTRY_SESSIONS,
    "source_maps": SOURCE_MAPS,
    "sentry_releases": SENTRY_RELEASES,
    "probe_results": PROBE_RESULTS,
    "host_metrics": HOST_METRICS,
    "agent_heartbeats": AGENT_HEARTBEATS,
}

#: The columns each event table's rows are built with: all but the route, computed from them as they are stored.
BUILT: dict[str, pa.Schema] = {name: pa.schema([f for f in schema if f != ROUTE]) for name, schema in TABLES.items()}


def _rollup(*fields: pa.Field) -> pa.Schema:
    return pa.schema(
        [
            pa.field("minute", TIMESTAMP, nullable=False),
            pa.field("project_id", pa.int32(), nullable=False),
            pa.field("project", pa.string(), nullable=False),
            pa.field("environment", pa.string()),
            pa.field("release", pa.string()),
            *fields,
            pa.field("count", pa.int64(), nullable=False),
            pa.field("compacted", pa.bool_(), nullable=False),
        ]
    )


#: Per-minute rollups (analytics/rollups.py): each stored batch appends its partial counts;
#: compaction folds a finished minute into one row per key.
ROLLUPS: dict[str, pa.Schema] = {
    "event_counts_1m": _rollup(
        pa.field("kind", pa.string(), nullable=False),  # the raw table: "errors", "page_views", …
        pa.field("browser", pa.string()),
        pa.field("issue_id", pa.int64()),  # errors only
    ),
    "vitals_1m": _rollup(
        pa.field("name", pa.string(), nullable=False),
        pa.field("bucket", pa.int32(), nullable=False),  # logarithmic histogram bucket of the value
    ),
}

#: The beacon's sessions (analytics/sessions.py), one row per session and release once compacted:
#: the releases page counts sessions and crash-free rates here rather than in the raw rows.
BEACON_SESSIONS = pa.schema(
    [
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("release", pa.string(), nullable=False),  # '' for events sent without one
        pa.field("session_id", pa.string(), nullable=False),
        pa.field("environment", pa.string()),
        pa.field("started", TIMESTAMP, nullable=False),  # the session's earliest page view or error
        pa.field("user_id", pa.string()),
        # A page never crashes: a beacon session is false here (kept for files written before schema version 12).
        pa.field("crashed", pa.bool_(), nullable=False),
        pa.field("compacted", pa.bool_(), nullable=False),
        pa.field("unhandled", pa.bool_()),  # an error reached the page's global handlers (Sentry's "unhandled")
    ]
)

#: Every table kept beside the raw events, built from them as batches are stored.
DERIVED: dict[str, pa.Schema] = {**ROLLUPS, "beacon_sessions": BEACON_SESSIONS}

SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint64(): "UBIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    TIMESTAMP: "TIMESTAMP",
    pa.date32(): "DATE",
}


def column_sql(field: pa.Field) -> str:
    """``"name" TYPE`` with ``NOT NULL`` for required columns."""
    return f'"{field.name}" {SQL_TYPES[field.type]}' + ("" if field.nullable else " NOT NULL")


def create_sql(name: str, schema: pa.Schema) -> str:
    return f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(column_sql(f) for f in schema)})"
