"""The SQL of the issues queries: issues with their counts and people affected, and one issue's latest events."""

from __future__ import annotations

SQL = {
    "issues": (
        """WITH recent AS (
            SELECT issue_id, count(*) AS events_in_range,
                   count(DISTINCT nullif(user_id, '')) AS users, count(DISTINCT nullif(session_id, '')) AS sessions
            FROM errors
            WHERE ts >= $since AND ts < $until AND ($project IS NULL OR project = $project)
            GROUP BY issue_id)
        SELECT i.issue_id, i.project, i.title, i.culprit, i.error_type, i.level, i.status, i.resolved_in_release,
               r.events_in_range, r.users, r.sessions, i.events, i.first_seen, i.last_seen,
               i.first_release, i.last_release
        FROM issues i JOIN recent r USING (issue_id)
        WHERE $status IS NULL OR i.status = $status
        ORDER BY i.last_seen DESC LIMIT $limit"""
    ),
    "issue": (
        """SELECT i.*, (SELECT count(DISTINCT nullif(user_id, '')) FROM errors WHERE issue_id = $issue_id) AS users,
               (SELECT count(DISTINCT nullif(session_id, '')) FROM errors WHERE issue_id = $issue_id) AS sessions
        FROM issues i WHERE i.issue_id = $issue_id"""
    ),
    "issue_events": (
        """SELECT event_id, ts, release, environment, page_url, browser, browser_version, os, message, frames,
               breadcrumbs, causes, tags
        FROM errors WHERE issue_id = $issue_id AND ($project IS NULL OR project = $project)
        ORDER BY ts DESC LIMIT $limit"""
    ),
}
