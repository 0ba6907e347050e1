"""Queries over the per-minute rollups (analytics/rollups.py): cheap for any range, days or months."""

from __future__ import annotations

from analytics.queries.overview import RANGE
from analytics.queries.spec import NamedQuery, Param
from analytics.rollups import value_sql

WHERE = (
    "minute >= time_bucket(INTERVAL 1 MINUTE, $since) AND minute < $until AND ($project IS NULL OR project = $project)"
)
BUCKET = Param("bucket_seconds", "int", "Bucket width in seconds.", 60, 60, 86_400)
KIND = Param(
    "kind", "str", "Only this kind (errors, network_failures, resource_failures, web_vitals, page_views, reports)."
)


def _percentile(p: float) -> str:
    return value_sql(f"min(bucket) FILTER (WHERE below + count >= {p} * total)")


QUERIES = [
    NamedQuery(
        "events_per_minute",
        "Error events per time bucket (a minute by default), from the per-minute rollups.",
        f"""SELECT time_bucket(to_seconds($bucket_seconds), minute) AS minute, sum(count)::BIGINT AS errors
            FROM event_counts_1m WHERE {WHERE} AND kind = 'errors' GROUP BY 1 ORDER BY 1""",
        (*RANGE, BUCKET),
    ),
    NamedQuery(
        "event_counts",
        "Events per time bucket and kind, from the per-minute rollups.",
        f"""SELECT time_bucket(to_seconds($bucket_seconds), minute) AS minute, kind, sum(count)::BIGINT AS events
            FROM event_counts_1m WHERE {WHERE} AND ($kind IS NULL OR kind = $kind)
            GROUP BY ALL ORDER BY 1, 2""",
        (*RANGE, BUCKET, KIND),
    ),
    NamedQuery(
        "event_counts_by",
        "Events in the range per release and browser for one kind (errors by default), from the rollups.",
        f"""SELECT release, browser, sum(count)::BIGINT AS events FROM event_counts_1m
            WHERE {WHERE} AND kind = coalesce($kind, 'errors')
            GROUP BY ALL HAVING sum(count) > 0 ORDER BY events DESC, release, browser LIMIT $limit""",
        (*RANGE, KIND, Param("limit", "int", "Most rows returned.", 50, 1, 1000)),
    ),
    NamedQuery(
        "issue_events_per_minute",
        "Events of one issue per time bucket, from the rollups.",
        f"""SELECT time_bucket(to_seconds($bucket_seconds), minute) AS minute, sum(count)::BIGINT AS events
            FROM event_counts_1m WHERE {WHERE} AND kind = 'errors' AND issue_id = $issue_id
            GROUP BY ALL ORDER BY 1""",
        (*RANGE, BUCKET, Param("issue_id", "int", "The issue.", None, 1, 2**53)),
    ),
    NamedQuery(
        "vitals_percentiles",
        "p50, p75 and p95 of each Core Web Vital in the range (within 2 %), the last value of each page's metric.",
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
            SELECT name, total::BIGINT AS samples, {_percentile(0.5)} AS p50, {_percentile(0.75)} AS p75,
                   {_percentile(0.95)} AS p95
            FROM ranked GROUP BY name, total ORDER BY name""",
        RANGE,
    ),
]
