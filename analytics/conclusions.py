"""The tables of what analytics concludes from the events, kept for good (docs/schema.md).

Incidents, alerts and their delivery, silences, daily reports: declared as Arrow schemas
like the event tables (``analytics/tables.py``), and their DuckDB DDL derived the same way.
A table name declared twice, here or there, stops the process at import.
"""

from __future__ import annotations

import pyarrow as pa

from analytics.tables import DERIVED, TABLES, TIMESTAMP

#: Incidents (analytics/incidents.py): a spike of client failures with its verdict and evidence.
INCIDENTS = pa.schema(
    [
        pa.field("incident_id", pa.int64(), nullable=False),
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),  # open or closed
        pa.field("verdict", pa.string(), nullable=False),  # backend, network, third_party, client or unknown
        pa.field("confidence", pa.float64(), nullable=False),
        pa.field("summary", pa.string(), nullable=False),
        pa.field("started_at", TIMESTAMP, nullable=False),  # the first minute out of line
        pa.field("opened_at", TIMESTAMP, nullable=False),
        pa.field("updated_at", TIMESTAMP, nullable=False),
        pa.field("last_anomaly_at", TIMESTAMP, nullable=False),
        pa.field("closed_at", TIMESTAMP),
        pa.field("signals", pa.string()),  # JSON
        pa.field("evidence", pa.string()),  # JSON
        pa.field("feedback", pa.string()),  # right or wrong, as a user judged the verdict
        pa.field("feedback_verdict", pa.string()),
        pa.field("feedback_note", pa.string()),
        pa.field("feedback_by", pa.string()),
        pa.field("feedback_at", TIMESTAMP),
    ]
)
INCIDENT_ACTIVITY = pa.schema(
    [
        pa.field("incident_id", pa.int64(), nullable=False),
        pa.field("ts", TIMESTAMP, nullable=False),
        pa.field("actor", pa.string(), nullable=False),
        pa.field("action", pa.string(), nullable=False),  # opened, verdict, closed, feedback
        pa.field("verdict", pa.string()),
        pa.field("detail", pa.string()),
    ]
)

#: Alerts (analytics/alerts.py, analytics/notify.py): each rule's state per subject, what fired, what is sent.
ALERT_STATES = pa.schema(
    [
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("subject", pa.string(), nullable=False),  # what the rule fired about: a check, a host, issue:12, …
        pa.field("status", pa.string(), nullable=False),  # firing, resolved, or seen (an event already alerted)
        pa.field("since", TIMESTAMP, nullable=False),
        pa.field("alert_id", pa.int64()),  # the alert that fired it
        pa.field("notified", pa.bool_(), nullable=False),  # false when a silence kept it quiet
        pa.field("mark", pa.int64()),  # on a new-issue rule's '*' row: the newest issue id it has looked at
    ]
)
ALERTS = pa.schema(
    [
        pa.field("alert_id", pa.int64(), nullable=False),
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("subject", pa.string(), nullable=False),
        pa.field("action", pa.string(), nullable=False),  # fired, resolved or changed
        pa.field("ts", TIMESTAMP, nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("detail", pa.string()),  # JSON: the figures behind it, and the dashboard path to look at
        pa.field("silence_id", pa.int64()),  # the silence that kept it quiet
    ]
)
ALERT_NOTIFICATIONS = pa.schema(
    [
        pa.field("alert_id", pa.int64(), nullable=False),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("created_at", TIMESTAMP, nullable=False),
        pa.field("message_id", pa.int64()),  # the message it went out in, once grouped
    ]
)
ALERT_MESSAGES = pa.schema(
    [
        pa.field("message_id", pa.int64(), nullable=False),
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("alerts", pa.int64(), nullable=False),
        pa.field("created_at", TIMESTAMP, nullable=False),
        pa.field("status", pa.string(), nullable=False),  # pending, sent or failed (given up)
        pa.field("attempts", pa.int32(), nullable=False),
        pa.field("next_attempt_at", TIMESTAMP),
        pa.field("last_error", pa.string()),
        pa.field("sent_at", TIMESTAMP),
    ]
)
SILENCES = pa.schema(
    [
        pa.field("silence_id", pa.int64(), nullable=False),
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("rule", pa.string()),  # every rule when null
        pa.field("subject", pa.string()),  # alerts whose subject contains it (any case); all when null
        pa.field("starts_at", TIMESTAMP, nullable=False),
        pa.field("ends_at", TIMESTAMP, nullable=False),
        pa.field("created_by", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("ended_by", pa.string()),  # who ended it early
    ]
)

#: Daily reports (analytics/report.py): each project's day, as JSON and as the page mailed.
DAILY_REPORTS = pa.schema(
    [
        pa.field("project_id", pa.int32(), nullable=False),
        pa.field("project", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),  # in the project's time zone
        pa.field("timezone", pa.string(), nullable=False),
        pa.field("made_at", TIMESTAMP, nullable=False),
        pa.field("report_json", pa.string(), nullable=False),
        pa.field("report_html", pa.string(), nullable=False),
        pa.field("recipients", pa.string()),  # comma-separated, as configured when made
        pa.field("mail_status", pa.string(), nullable=False),  # none, pending, sent or failed
        pa.field("mail_attempts", pa.int32(), nullable=False),
        pa.field("mail_next_attempt_at", TIMESTAMP),
        pa.field("mail_error", pa.string()),
        pa.field("mailed_at", TIMESTAMP),
    ]
)

#: What analytics concludes from the events, kept for good.
CONCLUSIONS: dict[str, pa.Schema] = {
    "incidents": INCIDENTS,
    "incident_activity": INCIDENT_ACTIVITY,
    "alert_states": ALERT_STATES,
    "alerts": ALERTS,
    "alert_notifications": ALERT_NOTIFICATIONS,
    "alert_messages": ALERT_MESSAGES,
    "silences": SILENCES,
    "daily_reports": DAILY_REPORTS,
}

_NAMES = [*TABLES, *DERIVED, *CONCLUSIONS]
if len(_NAMES) != len(set(_NAMES)):  # pragma: no cover (a developer's mistake: one table would replace another)
    raise RuntimeError(f"a table is declared twice: {sorted({n for n in _NAMES if _NAMES.count(n) > 1})}")
