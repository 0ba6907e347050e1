"""The SQL of the queries over incidents (analytics/incidents.py): the list, one incident whole, its history."""

from __future__ import annotations

_LISTED = """incident_id, project, status, verdict, confidence, summary, started_at, opened_at, updated_at, closed_at,
    feedback, feedback_verdict, feedback_by"""

SQL = {
    "incidents": (
        f"""SELECT {_LISTED}, json_array_length(json_keys(signals)) AS signals FROM incidents
        WHERE started_at < $until AND coalesce(closed_at, $until) >= $since
          AND ($project IS NULL OR project = $project) AND ($incident_status IS NULL OR status = $incident_status)
        ORDER BY started_at DESC, incident_id DESC LIMIT $limit"""
    ),
    "incident": (
        f"""SELECT {_LISTED}, project_id, last_anomaly_at, feedback_note, feedback_at, signals, evidence
        FROM incidents WHERE incident_id = $incident_id"""
    ),
    "incident_activity": (
        """SELECT incident_id, ts, actor, action, verdict, detail FROM incident_activity
        WHERE incident_id = $incident_id ORDER BY ts DESC, action = 'opened' LIMIT $limit"""
    ),
}
