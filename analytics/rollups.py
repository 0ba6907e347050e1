"""Per-minute rollups, kept up to date as batches are stored, so long ranges never scan raw rows.

- ``event_counts_1m``: events per minute by project, kind (the raw table they are in),
  environment, release, browser and, for errors, issue.
- ``vitals_1m``: web-vital values per minute by project, environment, release and metric,
  as a histogram with logarithmic buckets: any percentile read from it is within
  ``RELATIVE_ERROR`` of the true value (the DDSketch mapping).
- ``beacon_sessions``: the beacon's sessions, one row per session (``analytics/sessions.py``).

Each stored batch appends its own partial counts in the batch's transaction, computed from
the rows really inserted, so a duplicate event adds nothing and a crash before the commit
adds nothing either. ``compact`` later folds the partial rows of each finished minute into
one row per key.

A web vital with a metric id (CLS and INP are reported again as they change) counts only
with its latest value: when a newer value arrives, the histogram takes one away from the
bucket of the value it replaces and adds one to the new value's bucket. The value it
replaces is looked up before the batch is inserted (``earlier_vitals``), by the metric id's
number (``web_vitals.metric_key``) rather than its text: the lookup scans the stored vitals
of the look-back window, and with numbers it and ``apply`` took 51 ms rather than 177 for a
batch of 9,000 vitals with 5 million stored (bench/README.md).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from analytics import sessions
from analytics.store import registered, time_range, transaction
from analytics.tables import ROLLUPS, TIMESTAMP

#: Percentiles read from ``vitals_1m`` are within 2 % of the true value.
RELATIVE_ERROR = 0.02
GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
#: The bucket of zero and negative values (a CLS of 0 is common).
ZERO_BUCKET = -(2**31) + 1
#: How far back an update of a web vital looks for the value it replaces.
VITAL_LOOKBACK = timedelta(days=1)

#: Raw tables counted in ``event_counts_1m``, and the columns the count needs from them.
COUNTED = ("errors", "network_failures", "resource_failures", "web_vitals", "page_views", "reports")
COUNT_COLUMNS = ("ts", "project_id", "project", "environment", "release", "browser")
VITAL_COLUMNS = ("ts", "project_id", "project", "environment", "release", "name", "value", "metric_key")
#: What ``earlier_vitals`` finds: per metric, its latest stored report.
EARLIER = pa.schema(
    [("project_id", pa.int32()), ("metric_key", pa.uint64()), ("ts", TIMESTAMP), ("value", pa.float64())]
)


def returning(table: str) -> tuple[str, ...]:
    """The columns ``apply`` needs back from the rows of ``table`` that were inserted."""
    if table == "errors":
        return tuple(dict.fromkeys((*COUNT_COLUMNS, "issue_id", *sessions.COLUMNS[table])))
    if table == "page_views":
        return tuple(dict.fromkeys((*COUNT_COLUMNS, *sessions.COLUMNS[table])))
    if table == "web_vitals":
        return tuple(dict.fromkeys((*COUNT_COLUMNS, *VITAL_COLUMNS)))
    return COUNT_COLUMNS if table in COUNTED else ()


def bucket_sql(value: str) -> str:
    """SQL for the histogram bucket of ``value``."""
    return f"CASE WHEN {value} > 0 THEN ceil(ln({value}) / {math.log(GAMMA)!r})::INTEGER ELSE {ZERO_BUCKET} END"


def value_sql(bucket: str) -> str:
    """SQL for the value a bucket stands for (within ``RELATIVE_ERROR`` of every value in it)."""
    return f"CASE WHEN {bucket} = {ZERO_BUCKET} THEN 0.0 ELSE 2 * pow({GAMMA!r}, {bucket}) / {GAMMA + 1!r} END"


def bucket_of(value: float) -> int:
    return math.ceil(math.log(value) / math.log(GAMMA)) if value > 0 else ZERO_BUCKET


def value_of(bucket: int) -> float:
    return 0.0 if bucket == ZERO_BUCKET else 2 * GAMMA**bucket / (GAMMA + 1)


def earlier_vitals(con: duckdb.DuckDBPyConnection, vitals: pa.Table | None) -> pa.Table | None:
    """The latest stored report of each metric in ``vitals`` (a batch's rows, before they are inserted).

    Columns ``project_id``, ``metric_key``, ``ts``, ``value``; ``apply`` takes these values
    away from the histogram where the batch brings a newer one. Only reports within
    ``VITAL_LOOKBACK`` of the batch are looked at.
    """
    if vitals is None or vitals.num_rows == 0:
        return None
    keyed = vitals.filter(pc.is_valid(vitals["metric_key"])).select(["project_id", "metric_key"])
    if keyed.num_rows == 0:
        return None
    low, high = time_range(vitals)
    window = {"low": low - VITAL_LOOKBACK, "high": high + VITAL_LOOKBACK}
    with registered(con, "_vigil_keys", keyed):
        return con.sql(
            """SELECT s.project_id, s.metric_key, s.ts, s.value FROM web_vitals s
               SEMI JOIN _vigil_keys k USING (project_id, metric_key)
               WHERE s.ts BETWEEN $low AND $high
               QUALIFY row_number() OVER (
                   PARTITION BY s.project_id, s.metric_key ORDER BY s.ts DESC, s.value DESC
               ) = 1""",
            params=window,
        ).to_arrow_table()


def apply(con: duckdb.DuckDBPyConnection, inserted: dict[str, pa.Table], earlier: pa.Table | None = None) -> None:
    """Append the partial rollups of a batch's inserted rows, in the caller's transaction.

    ``earlier`` is what ``earlier_vitals`` found for the batch's web vitals before they were inserted.
    """
    for table, rows in inserted.items():
        if table not in COUNTED or rows.num_rows == 0:
            continue
        issue = "issue_id" if table == "errors" else "NULL::BIGINT"
        _with_view(
            con,
            rows,
            f"""INSERT INTO event_counts_1m BY NAME
                SELECT time_bucket(INTERVAL 1 MINUTE, ts) AS minute, project_id, project, environment, release,
                       '{table}' AS kind, browser, {issue} AS issue_id, count(*) AS count, false AS compacted
                FROM _vigil_inserted GROUP BY ALL""",
        )
        if table == "web_vitals":
            with registered(con, "_vigil_earlier", EARLIER.empty_table() if earlier is None else earlier):
                _with_view(con, rows, _VITALS_SQL)
    sessions.apply(con, inserted)


# Rows without a metric id count once each. For a metric id, the latest value counts: the
# latest stored before this batch (``_vigil_earlier``, if any) is taken away, the new latest
# added, unless the stored one is still the latest (the batch held older updates). The key
# holds the metric's name, and every report of a metric comes from one page load, so the
# one taken away is counted under the release and environment of the one that replaces it.
# Reports at the same millisecond are ordered by value, then the stored report first.
# ``earlier`` is materialized so that no join pushes a filter into the Arrow scan of
# ``_vigil_earlier``: DuckDB 1.5 turns a join's IN filter on ``metric_key`` into a pyarrow
# value set without its type, which fails for keys of 2**63 and above.
_VITALS_SQL = f"""
WITH batch AS (SELECT {", ".join(VITAL_COLUMNS)} FROM _vigil_inserted),
earlier AS MATERIALIZED (SELECT project_id, metric_key, ts, value FROM _vigil_earlier),
latest AS (
    SELECT * FROM (
        SELECT project_id, metric_key, ts, value, true AS stored,
               NULL AS project, NULL AS environment, NULL AS release, NULL AS name
        FROM earlier
        UNION ALL
        SELECT project_id, metric_key, ts, value, false, project, environment, release, name
        FROM batch WHERE metric_key IS NOT NULL
    )
    QUALIFY row_number() OVER (PARTITION BY project_id, metric_key ORDER BY ts DESC, value DESC, stored DESC) = 1
),
changes AS (
    SELECT ts, project_id, project, environment, release, name, value, 1 AS n FROM batch WHERE metric_key IS NULL
    UNION ALL
    SELECT ts, project_id, project, environment, release, name, value, 1 FROM latest WHERE NOT stored
    UNION ALL
    SELECT e.ts, e.project_id, l.project, l.environment, l.release, l.name, e.value, -1
    FROM earlier e JOIN latest l USING (project_id, metric_key) WHERE NOT l.stored
)
INSERT INTO vitals_1m BY NAME
SELECT time_bucket(INTERVAL 1 MINUTE, ts) AS minute, project_id, project, environment, release, name,
       {bucket_sql("value")} AS bucket, sum(n)::BIGINT AS count, false AS compacted
FROM changes WHERE value IS NOT NULL AND name IS NOT NULL
GROUP BY ALL HAVING sum(n) <> 0
"""


def compact(con: duckdb.DuckDBPyConnection, before: datetime) -> int:
    """Fold the partial rows of every minute before ``before`` into one row per key, and every session's rows
    into one (``sessions.compact``); returns the minutes folded.

    Late events (an offline queue sent on the next page load) add partial rows to old
    minutes; those minutes are folded again on the next pass.
    """
    folded = 0
    for table, schema in ROLLUPS.items():
        keys = ", ".join(f'"{n}"' for n in schema.names if n not in {"count", "compacted"})
        with transaction(con):
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _vigil_minutes AS
                    SELECT DISTINCT minute FROM {table} WHERE NOT compacted AND minute < $before""",
                {"before": before},
            )
            row = con.execute("SELECT count(*) FROM _vigil_minutes").fetchone()
            minutes = int(row[0]) if row else 0
            if minutes:
                con.execute(
                    f"""CREATE OR REPLACE TEMP TABLE _vigil_folded AS
                        SELECT {keys}, sum(count)::BIGINT AS count, true AS compacted FROM {table}
                        WHERE minute IN (SELECT minute FROM _vigil_minutes) GROUP BY ALL HAVING sum(count) <> 0"""
                )
                con.execute(f"DELETE FROM {table} WHERE minute IN (SELECT minute FROM _vigil_minutes)")
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _vigil_folded")
            con.execute("DROP TABLE IF EXISTS _vigil_minutes")
            con.execute("DROP TABLE IF EXISTS _vigil_folded")
        folded += minutes
    sessions.compact(con)
    return folded


def _with_view(con: duckdb.DuckDBPyConnection, rows: pa.Table, sql: str) -> None:
    with registered(con, "_vigil_inserted", rows):
        con.execute(sql)
