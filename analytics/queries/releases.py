"""The SQL of the releases query: each release's health in the range, from the beacon's and Sentry SDKs' sessions.

Sentry's release-health definitions (docs/analytics.md, Release health):

- a session *crashed* when the application ended on an unhandled error; it is *unhandled*
  when it had an unhandled error the application survived (a page: the error reached its
  global handlers, and the page goes on running; so a beacon session is never crashed);
- *crash-free* sessions are those that did not crash; *unhandled-free* those that neither
  crashed nor had an unhandled error, so unhandled-free ≤ crash-free;
- a user is crash-free (unhandled-free) when none of their sessions was; *abnormal*
  sessions (the application was killed or hung) are counted apart, in neither rate.

A beacon session is a row of ``beacon_sessions`` (``analytics/sessions.py``): it counts in
the range it started in. A Sentry SDK session is its latest update (its ``status``), and a
pre-aggregated count adds its ``quantity`` per status. Users are the hashed ``user_id`` of
the beacon and the SDKs' ``distinct_id`` (never the same person's: the beacon's are keyed
hashes), counted apart and added.
"""

from __future__ import annotations

from analytics.sessions import LOOKBACK

_RANGE = "ts >= $since AND ts < $until AND ($project IS NULL OR project = $project) AND coalesce(release, '') <> ''"
_MATCH = "o.project_id = s.project_id AND o.release = s.release AND o.session_id = s.session_id"


def health_sql(*, with_release: bool) -> str:
    """The ``health`` CTE (and what it needs): per project and release, the sessions that started in the range and
    how many crashed, were unhandled (crashed included) or abnormal, with users and crash-free and unhandled-free
    figures. ``with_release``: only sessions that name their release (the releases page); else every session."""
    sessions = "($project IS NULL OR project = $project)" + (" AND release <> ''" if with_release else "")
    sdk = "($project IS NULL OR project = $project)" + (" AND coalesce(release, '') <> ''" if with_release else "")
    return f"""open_sessions AS (
            SELECT DISTINCT project_id, release, session_id FROM beacon_sessions WHERE NOT compacted),
        -- A compacted session is one row; the rows of a session not compacted yet are folded here.
        beacon_sessions_in AS (
            SELECT project_id, project, release, started, user_id, crashed, coalesce(unhandled, false) AS unhandled
            FROM beacon_sessions s
            WHERE compacted AND started >= $since AND started < $until AND {sessions}
              AND NOT EXISTS (SELECT 1 FROM open_sessions o WHERE {_MATCH})
            UNION ALL
            SELECT project_id, any_value(project), release, min(started), max(user_id), bool_or(crashed),
                   bool_or(coalesce(unhandled, false))
            FROM beacon_sessions s SEMI JOIN open_sessions o ON {_MATCH}
            WHERE started >= $since - INTERVAL {LOOKBACK.days} DAY AND started < $until + INTERVAL {LOOKBACK.days} DAY
              AND {sessions}
            GROUP BY project_id, release, session_id HAVING min(started) >= $since AND min(started) < $until),
        beacon AS (
            SELECT project_id, any_value(project) AS project, release, count(*) AS sessions,
                   count(*) FILTER (WHERE crashed) AS crashed_sessions,
                   count(*) FILTER (WHERE crashed OR unhandled) AS unhandled_sessions, 0 AS abnormal_sessions,
                   count(DISTINCT user_id) AS users, count(DISTINCT user_id) FILTER (WHERE crashed) AS crashed_users,
                   count(DISTINCT user_id) FILTER (WHERE crashed OR unhandled) AS unhandled_users,
                   min(started) AS first_ts
            FROM beacon_sessions_in GROUP BY project_id, release),
        sdk_sessions AS (
            SELECT project_id, project, coalesce(release, '') AS release, distinct_id, status = 'crashed' AS crashed,
                   status IN ('crashed', 'unhandled') AS unhandled, status = 'abnormal' AS abnormal, quantity, started
            FROM sentry_sessions
            WHERE started >= $since AND started < $until AND {sdk}
            QUALIFY session_id IS NULL
                 OR row_number() OVER (PARTITION BY project_id, session_id ORDER BY received_at DESC, "row" DESC) = 1),
        sdk AS (
            SELECT project_id, any_value(project) AS project, release, sum(quantity) AS sessions,
                   coalesce(sum(quantity) FILTER (WHERE crashed), 0) AS crashed_sessions,
                   coalesce(sum(quantity) FILTER (WHERE unhandled), 0) AS unhandled_sessions,
                   coalesce(sum(quantity) FILTER (WHERE abnormal), 0) AS abnormal_sessions,
                   count(DISTINCT nullif(distinct_id, '')) AS users,
                   count(DISTINCT nullif(distinct_id, '')) FILTER (WHERE crashed) AS crashed_users,
                   count(DISTINCT nullif(distinct_id, '')) FILTER (WHERE unhandled) AS unhandled_users,
                   min(started) AS first_ts
            FROM sdk_sessions GROUP BY project_id, release),
        -- The beacon's user ids are keyed hashes and the SDKs' are their own: the two never share a user.
        health AS (
            SELECT project_id, any_value(project) AS project, release, sum(sessions) AS sessions,
                   sum(crashed_sessions) AS crashed_sessions, sum(unhandled_sessions) AS unhandled_sessions,
                   sum(abnormal_sessions) AS abnormal_sessions, sum(users) AS users,
                   sum(crashed_users) AS crashed_users, sum(unhandled_users) AS unhandled_users,
                   min(first_ts) AS first_ts
            FROM (SELECT * FROM beacon UNION ALL BY NAME SELECT * FROM sdk)
            GROUP BY project_id, release)"""


#: The four rates of ``health``'s figures (``h``), 0 … 1.
RATES = """round(1 - h.crashed_sessions / h.sessions, 4) AS crash_free_sessions,
               round(1 - h.unhandled_sessions / h.sessions, 4) AS unhandled_free_sessions,
               CASE WHEN h.users > 0 THEN round(1 - h.crashed_users / h.users, 4) END AS crash_free_users,
               CASE WHEN h.users > 0 THEN round(1 - h.unhandled_users / h.users, 4) END AS unhandled_free_users"""

SQL = {
    "releases": (
        f"""WITH {health_sql(with_release=True)},
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
               h.unhandled_sessions::BIGINT AS unhandled_sessions, h.abnormal_sessions::BIGINT AS abnormal_sessions,
               h.users::BIGINT AS users, h.crashed_users::BIGINT AS crashed_users,
               h.unhandled_users::BIGINT AS unhandled_users,
               round(h.sessions / sum(h.sessions) OVER (PARTITION BY h.project_id), 4) AS adoption, {RATES},
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
