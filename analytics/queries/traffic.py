"""The SQL of the traffic queries: page views, sessions and users, the denominators of every rate.

An entry is a session's first page view in the range. Users are distinct user ids; a page
view without one is counted in views and sessions only.
"""

from __future__ import annotations

from analytics.anomalies import netloc_sql
from analytics.queries.audience import narrowed
from analytics.queries.fragments import BUCKET

_VIEWS = narrowed("page_views", "ts, session_id, user_id")
#: The referring host, "(direct)" when none, "(same site)" when it is the page's own host.
_REFERRER = f"""CASE WHEN coalesce(referrer, '') = '' THEN '(direct)'
    WHEN {netloc_sql("referrer")} = {netloc_sql("page_url")} THEN '(same site)' ELSE {netloc_sql("referrer")} END"""

SQL = {
    "audience_facets": (
        """WITH pv AS (SELECT route, release, browser, device_type, country FROM page_views
            WHERE ts >= $since AND ts < $until AND ($project IS NULL OR project = $project)),
        facets AS (
            SELECT 'route' AS facet, route AS value, count(*) AS views FROM pv GROUP BY ALL
            UNION ALL SELECT 'release', release, count(*) FROM pv GROUP BY ALL
            UNION ALL SELECT 'browser', browser, count(*) FROM pv GROUP BY ALL
            UNION ALL SELECT 'device', device_type, count(*) FROM pv GROUP BY ALL
            UNION ALL SELECT 'country', country, count(*) FROM pv GROUP BY ALL)
        SELECT facet, value, views FROM facets WHERE coalesce(value, '') <> ''
        QUALIFY row_number() OVER (PARTITION BY facet ORDER BY views DESC, value) <= $limit
        ORDER BY facet, views DESC, value"""
    ),
    "traffic_totals": (
        f"""WITH pv AS {_VIEWS}, e AS {narrowed("errors", "ts")},
        counted AS (SELECT (SELECT count(*) FROM pv) AS page_views,
                           (SELECT count(DISTINCT session_id) FROM pv) AS sessions,
                           (SELECT count(DISTINCT user_id) FROM pv) AS users,
                           (SELECT count(*) FROM e) AS errors)
        SELECT *, round(errors * 1000 / nullif(page_views, 0), 2) AS errors_per_1000_views FROM counted"""
    ),
    "traffic_trend": (
        f"""SELECT {BUCKET}, count(*) AS page_views,
               count(DISTINCT session_id) AS sessions, count(DISTINCT user_id) AS users
        FROM {_VIEWS} GROUP BY ALL ORDER BY 1"""
    ),
    "traffic_pages": (
        # A session's entry page by one aggregate per session (its first view's route, NULL included), not a window.
        f"""WITH pv AS {narrowed("page_views", "ts, session_id, user_id", by_route=False)},
        firsts AS (SELECT arg_min_null(route, ts) AS route FROM pv WHERE session_id IS NOT NULL GROUP BY session_id),
        entries AS (SELECT route, count(*) AS entries FROM firsts GROUP BY route),
        e AS (SELECT route, count(*) AS errors FROM {narrowed("errors", "ts")} GROUP BY route),
        views AS (
            SELECT route, count(*) AS views, count(DISTINCT session_id) AS sessions, count(DISTINCT user_id) AS users
            FROM pv WHERE ($route IS NULL OR route = $route) GROUP BY route)
        SELECT views.route, views.views, coalesce(entries.entries, 0) AS entries, views.sessions, views.users,
               coalesce(e.errors, 0) AS errors,
               round(coalesce(e.errors, 0) * 1000 / views.views, 2) AS errors_per_1000_views
        FROM views LEFT JOIN entries USING (route) LEFT JOIN e USING (route)
        ORDER BY views DESC, route LIMIT $limit"""
    ),
    "traffic_by": (
        f"""SELECT coalesce(nullif(CASE $by WHEN 'country' THEN country WHEN 'browser' THEN browser
                                         WHEN 'device' THEN device_type WHEN 'os' THEN os
                                         ELSE {_REFERRER} END, ''), '(unknown)') AS value,
               count(*) AS page_views, count(DISTINCT session_id) AS sessions, count(DISTINCT user_id) AS users,
               round(count(*) / sum(count(*)) OVER (), 4) AS share
        FROM {narrowed("page_views", "ts, session_id, user_id, country, browser, device_type, os, referrer, page_url")}
        GROUP BY ALL ORDER BY page_views DESC, value LIMIT $limit"""
    ),
}
