"""The SQL of the queries over alerts (analytics/alerts.py, analytics/notify.py): what fired and how each
channel was told, the messages sent, what fires now, the silences; and the daily reports stored."""

from __future__ import annotations

_PROJECT_RULE = "($project IS NULL OR a.project = $project) AND ($rule IS NULL OR a.rule = $rule)"

SQL = {
    "alerts": (
        f"""SELECT a.alert_id, a.ts, a.project, a.rule, a.kind, a.action, a.subject, a.title, a.detail, a.silence_id,
               CAST(to_json(list({{'channel': n.channel,
                                   'status': CASE WHEN n.channel IS NULL THEN NULL
                                                  WHEN n.message_id IS NULL THEN 'waiting' ELSE m.status END,
                                   'message_id': n.message_id, 'attempts': m.attempts, 'error': m.last_error,
                                   'sent_at': m.sent_at}} ORDER BY n.channel)
                                FILTER (WHERE n.channel IS NOT NULL)) AS VARCHAR) AS deliveries
        FROM alerts a LEFT JOIN alert_notifications n USING (alert_id) LEFT JOIN alert_messages m USING (message_id)
        WHERE a.ts >= $since AND a.ts < $until AND {_PROJECT_RULE}
        GROUP BY ALL ORDER BY a.alert_id DESC LIMIT $limit"""
    ),
    "alert_messages": (
        """SELECT message_id, project, rule, channel, alerts, created_at, status, attempts, next_attempt_at,
               last_error, sent_at
        FROM alert_messages a WHERE created_at >= $since AND created_at < $until
          AND ($project IS NULL OR project = $project) AND ($rule IS NULL OR rule = $rule)
        ORDER BY message_id DESC LIMIT $limit"""
    ),
    "alerts_firing": (
        f"""SELECT a.project, s.rule, a.kind, s.subject, s.since, a.title, s.notified, a.alert_id
        FROM alert_states s JOIN alerts a USING (alert_id)
        WHERE s.status = 'firing' AND {_PROJECT_RULE} ORDER BY s.since DESC, a.alert_id DESC"""
    ),
    "silences": (
        """SELECT silence_id, project, rule, subject, starts_at, ends_at, created_by, reason, ended_by,
               ends_at > $until AND ended_by IS NULL AS active,
               (SELECT count(*) FROM alerts WHERE alerts.silence_id = s.silence_id) AS alerts_kept_quiet
        FROM silences s WHERE ends_at >= $since AND ($project IS NULL OR project = $project)
        ORDER BY active DESC, silence_id DESC LIMIT $limit"""
    ),
}

SQL[
    "daily_reports"
] = """SELECT project, day, timezone, made_at, mail_status, mail_attempts, mail_error, mailed_at, recipients,
           CAST(json_extract(report_json, '$.headline.errors') AS BIGINT) AS errors,
           CAST(json_extract(report_json, '$.headline.errors_per_1000_page_views') AS DOUBLE)
           AS errors_per_1000_page_views,
           CAST(json_extract(report_json, '$.headline.crash_free_sessions') AS DOUBLE) AS crash_free_sessions,
           CAST(json_extract(report_json, '$.headline.unhandled_free_sessions') AS DOUBLE) AS unhandled_free_sessions,
           CAST(json_extract(report_json, '$.new_issues_total') AS BIGINT) AS new_issues,
           json_array_length(json_extract(report_json, '$.incidents')) AS incidents
    FROM daily_reports WHERE $project IS NULL OR project = $project ORDER BY day DESC, project LIMIT $limit"""
SQL["daily_report"] = """SELECT project, day, timezone, made_at, report_json, report_html FROM daily_reports
    WHERE ($project IS NULL OR project = $project) AND day = TRY_CAST($day AS DATE) ORDER BY project LIMIT 1"""
