"""The SQL of the queries over incidents (analytics/incidents.py): the list, one incident whole, its history,
and the series its timeline aligns: failed requests by host, vitals, checks per region, host metrics."""

from __future__ import annotations

from analytics.anomalies import netloc_sql
from analytics.queries.fragments import BUCKET, HOST_FIGURES, WHERE
from analytics.queries.rollups import percentile_sql

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
    "failures_per_minute": (
        f"""WITH failures AS (
            SELECT {BUCKET}, {netloc_sql("url")} AS host,
                   CASE WHEN api = 'nel' THEN 'nel' ELSE 'request' END AS kind FROM network_failures
            WHERE {WHERE} AND coalesce(failure, '') <> 'abort'
            UNION ALL
            SELECT {BUCKET}, {netloc_sql("url")}, 'resource' FROM resource_failures WHERE {WHERE}),
        top AS (SELECT host FROM failures GROUP BY host ORDER BY count(*) DESC, host LIMIT $limit)
        SELECT minute, host, kind, count(*) AS failures FROM failures SEMI JOIN top USING (host)
        GROUP BY ALL ORDER BY minute, host, kind"""
    ),
    "vitals_per_minute": (
        f"""WITH histogram AS (
            SELECT time_bucket(to_seconds($bucket_seconds), minute) AS minute, name, bucket, sum(count) AS count
            FROM vitals_1m
            WHERE minute >= time_bucket(INTERVAL 1 MINUTE, $since) AND minute < $until
              AND ($project IS NULL OR project = $project)
            GROUP BY ALL HAVING sum(count) > 0),
        ranked AS (
            SELECT minute, name, bucket, count,
                   sum(count) OVER (PARTITION BY minute, name ORDER BY bucket) - count AS below,
                   sum(count) OVER (PARTITION BY minute, name) AS total
            FROM histogram)
        SELECT minute, name, total::BIGINT AS samples, {percentile_sql(0.75)} AS p75
        FROM ranked GROUP BY minute, name, total ORDER BY minute, name"""
    ),
    "check_results_per_minute": (
        f"""SELECT {BUCKET}, "check", region, count(*) FILTER (WHERE status = 'up') AS up,
               count(*) FILTER (WHERE status = 'down') AS down, round(median(duration_ms), 1) AS median_ms
        FROM probe_results WHERE {WHERE} GROUP BY ALL ORDER BY minute, "check", region"""
    ),
    "host_metrics_per_minute": (
        f"""SELECT {BUCKET}, host, {HOST_FIGURES}
        FROM host_metrics WHERE {WHERE} GROUP BY ALL ORDER BY minute, host"""
    ),
}
