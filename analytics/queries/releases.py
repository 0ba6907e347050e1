"""The SQL of the releases query: each release's health in the range, from the beacon's and Sentry SDKs' sessions.

A beacon session is a row of ``beacon_sessions`` (``analytics/sessions.py``): it counts in
the range it started in, and crashed when it had an unhandled error. A Sentry SDK session
is its latest update (``status`` ``crashed`` is a crash), and a pre-aggregated count adds
its ``quantity`` per status. Users are the hashed ``user_id`` of the beacon and the SDKs'
``distinct_id`` (never the same person's: the beacon's are keyed hashes), counted apart and
added; a user crashed when one of their sessions did.
"""

from __future__ import annotations

from analytics.sessions import LOOKBACK

_RANGE = "ts >= $since AND ts < $until AND ($project IS NULL OR project = $project) AND coalesce(release, '') <> ''"
_SESSIONS = "($project IS NULL OR project = $project) AND release <> ''"
_MATCH = "o.project_id = s.project_id AND o.release = s.release AND o.session_id = s.session_id"

SQL = {
    "releases": (
        f"""WITH open_sessions AS (
            SELECT DISTINCT project_id, release, session_id FROM beacon_sessions WHERE NOT compacted),
        -- A compacted session is one row; the rows of a session not compacted yet are folded here.
        beacon_sessions_in AS (
            SELECT project_id, project, release, started, user_id, crashed FROM beacon_sessions s
            WHERE compacted AND started >= $since AND started < $until AND {_SESSIONS}
              AND NOT EXISTS (SELECT 1 FROM open_sessions o WHERE {_MATCH})
            UNION ALL
            SELECT project_id, any_value(project), release, min(started), max(user_id), bool_or(crashed)
            FROM beacon_sessions s SEMI JOIN open_sessions o ON {_MATCH}
            WHERE started >= $since - INTERVAL {LOOKBACK.days} DAY AND started < $until + INTERVAL {LOOKBACK.days} DAY
              AND {_SESSIONS}
            GROUP BY project_id, release, session_id HAVING min(started) >= $since AND min(started) < $until),
        beacon AS (
            SELECT project_id, any_value(project) AS project, release, count(*) AS sessions,
                   count(*) FILTER (WHERE crashed) AS crashed_sessions, count(DISTINCT user_id) AS users,
                   count(DISTINCT user_id) FILTER (WHERE crashed) AS crashed_users, min(started) AS first_ts
            FROM beacon_sessions_in GROUP BY project_id, release),
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
        -- The beacon's user ids are keyed hashes and the SDKs' are their own: the two never share a user.
        health AS (
            SELECT project_id, any_value(project) AS project, release, sum(sessions) AS sessions,
                   sum(crashed_sessions) AS crashed_sessions, sum(users) AS users,
                   sum(crashed_users) AS crashed_users, min(first_ts) AS first_ts
            FROM (SELECT * FROM beacon UNION ALL BY NAME SELECT * FROM sdk)
            GROUP BY project_id, release),
        errs AS (
            SELECT project_id, release, count(*) AS errors FROM errors WHERE {_RANGE} GROUP BY ALL),
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
               coalesce(e.errors, 0) AS errors, round(coalesce(e.errors, 0) / h.sessions, 3) AS errors_per_session,
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
