"""The overview page's queries: error volume over time, by type, and the top messages."""

from __future__ import annotations

from analytics.queries.spec import NamedQuery, Param

PROJECT = Param("project", "str", "Project name; all projects when absent.")
SINCE = Param("since", "time", "Start of the range, ISO-8601 UTC; an hour ago when absent.")
UNTIL = Param("until", "time", "End of the range, ISO-8601 UTC; now when absent.")
RANGE = (PROJECT, SINCE, UNTIL)
WHERE = "ts >= $since AND ts < $until AND ($project IS NULL OR project = $project)"

QUERIES = [
    NamedQuery(
        "projects",
        "Projects that have sent errors, by name.",
        "SELECT project, count(*) AS errors, max(ts) AS last_seen FROM errors GROUP BY project ORDER BY project",
        (),
    ),
    NamedQuery(
        "totals",
        "Errors, distinct messages, pages and sessions in the range.",
        f"""SELECT count(*) AS errors, count(DISTINCT error_type || ':' || message) AS messages,
                   count(DISTINCT page_url) AS pages, count(DISTINCT nullif(session_id, '')) AS sessions
            FROM errors WHERE {WHERE}""",
        RANGE,
    ),
    NamedQuery(
        "errors_by_type",
        "Error events per error type, most frequent first.",
        f"""SELECT error_type, count(*) AS errors FROM errors WHERE {WHERE}
            GROUP BY error_type ORDER BY errors DESC, error_type LIMIT $limit""",
        (*RANGE, Param("limit", "int", "Most rows returned.", 20, 1, 1000)),
    ),
    NamedQuery(
        "top_messages",
        "The most frequent error messages with their type, pages, browsers and last time seen.",
        f"""SELECT error_type, message, count(*) AS errors, count(DISTINCT page_url) AS pages,
                   count(DISTINCT browser) AS browsers, max(ts) AS last_seen
            FROM errors WHERE {WHERE}
            GROUP BY error_type, message ORDER BY errors DESC, last_seen DESC LIMIT $limit""",
        (*RANGE, Param("limit", "int", "Most rows returned.", 20, 1, 1000)),
    ),
]
