"""The SQL of the releases query: each release's health in the range, from the beacon's and Sentry SDKs' sessions.

A beacon session is a ``session_id`` of page views and errors, counted in the
``sessions_1m`` rollup (``analytics/rollups.py``); it crashed when it had an unhandled
error (``mechanism`` ``onerror`` or ``onunhandledrejection``: what reached the page's
global handlers, as Sentry's browser SDK counts a crash). A Sentry SDK session is its
latest update (``status`` ``crashed`` is a crash), and a pre-aggregated count adds its
``quantity`` per status. Users are the hashed ``user_id`` of the beacon and the SDKs'
``distinct_id`` (never the same person's: the beacon's are keyed hashes), counted apart and
added; a user crashed when one of their sessions did.
"""

from __future__ import annotations

_ROLLUP = (
    "minute >= time_bucket(INTERVAL 1 MINUTE, $since) AND minute < $until AND ($project IS NULL OR project = $project)"
    " AND coalesce(release, '') <> ''"
)

SQL = {
    "releases": (
        f"""WITH beacon AS (
            -- The rollup, not the raw rows: a tenth of the rows to count distinct ids over (bench/README.md).
            SELECT project_id, any_value(project) AS project, release, count(DISTINCT session_id) AS sessions,
                   count(DISTINCT session_id) FILTER (WHERE crashed) AS crashed_sessions,
                   count(DISTINCT nullif(user_id, '')) AS users,
                   count(DISTINCT nullif(user_id, '')) FILTER (WHERE crashed) AS crashed_users,
                   min(minute) AS first_ts
            FROM sessions_1m WHERE {_ROLLUP} GROUP BY project_id, release),
        sdk_sessions AS (
            SELECT project_id, project, release, distinct_id, status = 'crashed' AS crashed, quantity, started
            FROM sentry_sessions
            WHERE started >= $since AND started < $until AND ($project IS NULL OR project = $project)
              AND coalesce(release, '') <> ''
            QUALIFY session_id IS NULL
                 OR row_number() OVER (PARTITION BY project_id, session_id ORDER BY received_at DESC, "row" DESC) = 1),
        sdk AS (
            SELECT project_id, any_value(project) AS project, release, sum(quantity) AS sessions,
                   coalesce(sum(quantity) FILTER (WHERE crashed), 0) AS crashed_sessions,
                   count(DISTINCT nullif(distinct_id, '')) AS users,
                   count(DISTINCT nullif(distinct_id, '')) FILTER (WHERE crashed) AS crashed_users,
                   min(started) AS first_ts
            FROM sdk_sessions GROUP BY project_id, release),
        health AS (
            SELECT project_id, any_value(project) AS project, release, sum(sessions) AS sessions,
                   sum(crashed_sessions) AS crashed_sessions, sum(users) AS users,
                   sum(crashed_users) AS crashed_users, min(first_ts) AS first_ts
            FROM (SELECT * FROM beacon UNION ALL BY NAME SELECT * FROM sdk)
            GROUP BY project_id, release),
        errs AS (
            SELECT project_id, release, sum(count) AS errors FROM event_counts_1m
            WHERE {_ROLLUP} AND kind = 'errors' GROUP BY ALL),
        new_issues AS (
            SELECT project_id, first_release AS release, count(*) AS new_issues FROM issues
            WHERE status <> 'merged' AND ($project IS NULL OR project = $project) GROUP BY ALL),
        regressed AS (
            SELECT i.project_id, a.release, count(DISTINCT a.issue_id) AS regressed_issues
            FROM issue_activity a JOIN issues i USING (issue_id) WHERE a.action = 'regressed' GROUP BY ALL)
        SELECT h.project, h.release, least(r.first_seen, h.first_ts) AS first_seen,
               h.sessions::BIGINT AS sessions, h.crashed_sessions::BIGINT AS crashed_sessions,
               h.users::BIGINT AS users, h.crashed_users::BIGINT AS crashed_users,
               round(h.sessions / sum(h.sessions) OVER (PARTITION BY h.project_id), 4) AS adoption,
               round(1 - h.crashed_sessions / h.sessions, 4) AS crash_free_sessions,
               CASE WHEN h.users > 0 THEN round(1 - h.crashed_users / h.users, 4) END AS crash_free_users,
               coalesce(e.errors, 0)::BIGINT AS errors,
               round(coalesce(e.errors, 0) / h.sessions, 3) AS errors_per_session,
               coalesce(n.new_issues, 0) AS new_issues, coalesce(g.regressed_issues, 0) AS regressed_issues
        FROM health h
        LEFT JOIN releases r ON r.project_id = h.project_id AND r.release = h.release
        LEFT JOIN errs e ON e.project_id = h.project_id AND e.release = h.release
        LEFT JOIN new_issues n ON n.project_id = h.project_id AND n.release = h.release
        LEFT JOIN regressed g ON g.project_id = h.project_id AND g.release = h.release
        ORDER BY h.project, first_seen DESC, h.release
        LIMIT $limit"""
    ),
}
