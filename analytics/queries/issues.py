"""The SQL of the issues queries: issues with their counts and people affected, and one issue's latest events."""

from __future__ import annotations

SQL = {
    "issue_breakdown": (
        """WITH ev AS (
            SELECT CASE $by WHEN 'browser' THEN browser WHEN 'os' THEN os WHEN 'device' THEN device_type
                            WHEN 'release' THEN release WHEN 'environment' THEN environment
                            WHEN 'country' THEN country WHEN 'page' THEN route END AS value
            FROM errors WHERE issue_id = $issue_id AND ts >= $since AND ts < $until)
        SELECT coalesce(nullif(value, ''), '(none)') AS value, count(*) AS events,
               round(count(*) / sum(count(*)) OVER (), 4) AS share
        FROM ev GROUP BY ALL ORDER BY events DESC, value LIMIT $limit"""
    ),
    "issue_event": (
        """WITH chosen AS (
            SELECT * FROM errors WHERE issue_id = $issue_id AND ($event_id IS NULL OR event_id = $event_id)
            ORDER BY ts DESC, event_id DESC LIMIT 1)
        SELECT c.event_id, c.ts, c.received_at, c.project, c.release, c.environment, c.page_url, c.browser,
               c.browser_version, c.os, c.os_version, c.device_type, c.country, c.user_id, c.session_id,
               c.user_agent, c.error_type, c.message, c.level, c.mechanism, c.stack, c.frames, c.causes,
               c.breadcrumbs, c.tags, c.fingerprint, c.title, c.grouping, c.sdk, c.extra, c.contexts, c.request,
               (SELECT e.event_id FROM errors e WHERE e.issue_id = $issue_id
                  AND (e.ts > c.ts OR (e.ts = c.ts AND e.event_id > c.event_id))
                ORDER BY e.ts, e.event_id LIMIT 1) AS newer,
               (SELECT e.event_id FROM errors e WHERE e.issue_id = $issue_id
                  AND (e.ts < c.ts OR (e.ts = c.ts AND e.event_id < c.event_id))
                ORDER BY e.ts DESC, e.event_id DESC LIMIT 1) AS older
        FROM chosen c"""
    ),
    "issues": (
        """WITH recent AS (
            SELECT issue_id, count(*) AS events_in_range,
                   count(DISTINCT nullif(user_id, '')) AS users, count(DISTINCT nullif(session_id, '')) AS sessions,
                   bool_or(contains(lower(message), lower($search))) AS message_matches
            FROM errors
            WHERE ts >= $since AND ts < $until AND ($project IS NULL OR project = $project)
              AND ($release IS NULL OR release = $release)
              AND ($environment IS NULL OR environment = $environment)
              AND ($browser IS NULL OR browser = $browser)
              AND ($tag IS NULL OR (
                  -- A key that starts like a JSON path ($, /) would be read as one: keys are plain names.
                  regexp_full_match(split_part($tag, ':', 1), '[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}')
                  AND json_extract_string(tags, split_part($tag, ':', 1)) = substr($tag, strpos($tag, ':') + 1)))
            GROUP BY issue_id)
        SELECT i.issue_id, i.project, i.title, i.culprit, i.error_type, i.level, i.status, i.resolved_in_release,
               r.events_in_range, r.users, r.sessions, i.events, i.first_seen, i.last_seen,
               i.first_release, i.last_release
        FROM issues i JOIN recent r USING (issue_id)
        WHERE ($status IS NULL OR i.status = $status)
          AND ($search IS NULL OR r.message_matches OR contains(lower(i.title), lower($search))
               OR contains(lower(coalesce(i.culprit, '')), lower($search))
               OR contains(lower(coalesce(i.error_type, '')), lower($search)))
        ORDER BY CASE $sort WHEN 'events' THEN r.events_in_range WHEN 'users' THEN r.users END DESC NULLS LAST,
                 CASE WHEN $sort = 'first_seen' THEN i.first_seen END DESC NULLS LAST,
                 i.last_seen DESC, i.issue_id DESC
        LIMIT $limit"""
    ),
    "issue": (
        """SELECT i.*, (SELECT count(DISTINCT nullif(user_id, '')) FROM errors WHERE issue_id = $issue_id) AS users,
               (SELECT count(DISTINCT nullif(session_id, '')) FROM errors WHERE issue_id = $issue_id) AS sessions
        FROM issues i WHERE i.issue_id = $issue_id"""
    ),
    "issue_activity": (
        """SELECT ts, actor, action, detail FROM issue_activity WHERE issue_id = $issue_id
        ORDER BY ts DESC, rowid DESC LIMIT $limit"""
    ),
    "issue_events": (
        """SELECT event_id, ts, release, environment, page_url, browser, browser_version, os, message, frames,
               breadcrumbs, causes, tags
        FROM errors WHERE issue_id = $issue_id AND ($project IS NULL OR project = $project)
        ORDER BY ts DESC LIMIT $limit"""
    ),
}
