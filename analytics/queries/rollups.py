"""The SQL of the queries over the per-minute rollups (analytics/rollups.py): cheap for any range."""

from __future__ import annotations

from analytics.rollups import value_sql

WHERE = (
    "minute >= time_bucket(INTERVAL 1 MINUTE, $since) AND minute < $until AND ($project IS NULL OR project = $project)"
)


def percentile_sql(p: float) -> str:
    return value_sql(f"min(bucket) FILTER (WHERE below + count >= {p} * total)")


SQL = {
    "events_per_minute": (
        f"""SELECT time_bucket(to_seconds($bucket_seconds), minute) AS minute, sum(count)::BIGINT AS errors
        FROM event_counts_1m WHERE {WHERE} AND kind = 'errors' GROUP BY 1 ORDER BY 1"""
    ),
    "event_counts": (
        f"""SELECT time_bucket(to_seconds($bucket_seconds), minute) AS minute, kind, sum(count)::BIGINT AS events
        FROM event_counts_1m WHERE {WHERE} AND ($kind IS NULL OR kind = $kind)
        GROUP BY ALL ORDER BY 1, 2"""
    ),
    "event_counts_by": (
        f"""SELECT release, browser, sum(count)::BIGINT AS events FROM event_counts_1m
        WHERE {WHERE} AND kind = coalesce($kind, 'errors')
        GROUP BY ALL HAVING sum(count) > 0 ORDER BY events DESC, release, browser LIMIT $limit"""
    ),
    "error_facets": (
        f"""WITH counted AS (
            SELECT release, environment, browser, sum(count) AS events FROM event_counts_1m
            WHERE {WHERE} AND kind = 'errors' GROUP BY ALL),
        facets AS (
            SELECT 'release' AS facet, release AS value, sum(events) AS events FROM counted GROUP BY ALL
            UNION ALL SELECT 'environment', environment, sum(events) FROM counted GROUP BY ALL
            UNION ALL SELECT 'browser', browser, sum(events) FROM counted GROUP BY ALL)
        SELECT facet, value, events::BIGINT AS events FROM facets
        WHERE coalesce(value, '') <> '' AND events > 0
        QUALIFY row_number() OVER (PARTITION BY facet ORDER BY events DESC, value) <= $limit
        ORDER BY facet, events DESC, value"""
    ),
    "issue_events_per_minute": (
        f"""SELECT time_bucket(to_seconds($bucket_seconds), minute) AS minute, sum(count)::BIGINT AS events
        FROM event_counts_1m WHERE {WHERE} AND kind = 'errors' AND issue_id = $issue_id
        GROUP BY ALL ORDER BY 1"""
    ),
    "vitals_percentiles": (
        f"""WITH histogram AS (
            SELECT name, bucket, sum(count) AS count FROM vitals_1m WHERE {WHERE}
            GROUP BY ALL HAVING sum(count) > 0
        ),
        ranked AS (
            SELECT name, bucket, count,
                   sum(count) OVER (PARTITION BY name ORDER BY bucket) - count AS below,
                   sum(count) OVER (PARTITION BY name) AS total
            FROM histogram
        )
        SELECT name, total::BIGINT AS samples, {percentile_sql(0.5)} AS p50, {percentile_sql(0.75)} AS p75,
               {percentile_sql(0.95)} AS p95
        FROM ranked GROUP BY name, total ORDER BY name"""
    ),
}
