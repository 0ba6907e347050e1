"""The SQL of the overview's queries: error volume, error types and the top messages."""

from __future__ import annotations

from analytics.queries.fragments import WHERE

SQL = {
    "not_stored": (
        """SELECT outcome, reason, unit, sum(count)::BIGINT AS count FROM outcomes
        WHERE window_start >= $since AND window_start < $until AND ($project IS NULL OR project = $project)
          AND outcome <> 'accepted'
        GROUP BY ALL ORDER BY count DESC, outcome, reason LIMIT $limit"""
    ),
    "projects": (
        """SELECT project, count(*) AS errors, max(ts) AS last_seen FROM errors
        GROUP BY project ORDER BY project"""
    ),
    "totals": (
        f"""SELECT count(*) AS errors, count(DISTINCT error_type || ':' || message) AS messages,
               count(DISTINCT page_url) AS pages, count(DISTINCT nullif(session_id, '')) AS sessions
        FROM errors WHERE {WHERE}"""
    ),
    "errors_by_type": (
        f"""SELECT error_type, count(*) AS errors FROM errors WHERE {WHERE}
        GROUP BY error_type ORDER BY errors DESC, error_type LIMIT $limit"""
    ),
    "top_messages": (
        f"""SELECT error_type, message, count(*) AS errors, count(DISTINCT page_url) AS pages,
               count(DISTINCT browser) AS browsers, max(ts) AS last_seen, arg_max(issue_id, ts) AS issue_id
        FROM errors WHERE {WHERE}
        GROUP BY error_type, message ORDER BY errors DESC, last_seen DESC LIMIT $limit"""
    ),
}
