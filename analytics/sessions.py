"""The beacon's sessions, one row per session and release, kept up to date as batches are stored.

A beacon session is the ``session_id`` of page views and errors. It started at its earliest
event, belongs to its user (the hashed ``user_id``), and is ``unhandled`` when it had an
unhandled error (``mechanism`` in ``UNHANDLED``: what reached the page's global handlers). As
in Sentry's release health, that is not a crash: the page goes on running; ``crashed`` stays
false for a page. The releases page counts sessions, users and unhandled ones in
``beacon_sessions`` rather than in the raw rows: over a week of the benchmark's 10 million
events that is 560,000 rows rather than 1.9 million, and a count of rows rather than of
distinct ids (bench/README.md).

As with the per-minute rollups (``analytics/rollups.py``), each stored batch appends one
partial row per session it holds, computed from the rows really inserted and in the
batch's transaction, and ``compact`` later folds every row of a session into one. A session
ends after four hours at most (``beacon-js/src/lib/session.ts``), so every row of a session
started within ``LOOKBACK`` of the others: compaction and the releases query look that far
back for the rest of a session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import timedelta

import duckdb
import pyarrow as pa

from analytics.store import registered, transaction

#: How an unhandled error reached the beacon: the page's global handlers, not the site's own catch.
UNHANDLED = ("onerror", "onunhandledrejection")
#: How far apart the rows of one session can start (a beacon session lasts four hours at most).
LOOKBACK = timedelta(days=1)
#: The raw tables a session is seen in.
SOURCES = ("page_views", "errors")
#: The columns ``apply`` needs back from the rows of each source that were inserted.
COLUMNS = {
    "page_views": ("ts", "project_id", "project", "environment", "release", "session_id", "user_id"),
    "errors": ("ts", "project_id", "project", "environment", "release", "session_id", "user_id", "mechanism"),
}

_KEY = ("project_id", "release", "session_id")
_FOLD = """any_value(project) AS project, any_value(environment) AS environment, min(started) AS started,
           max(user_id) AS user_id, bool_or(crashed) AS crashed, bool_or(unhandled) AS unhandled"""


def rows_sql(relations: Mapping[str, str], *, compacted: bool) -> str:
    """SQL appending a row per session of the page views and errors in ``relations`` (source table → relation)."""
    unhandled = ", ".join(f"'{m}'" for m in UNHANDLED)
    selects = [
        f"""SELECT project_id, project, coalesce(release, '') AS release, session_id, environment, ts AS started,
                   nullif(user_id, '') AS user_id, false AS crashed,
                   {f"coalesce(mechanism IN ({unhandled}), false)" if table == "errors" else "false"} AS unhandled
            FROM {relation} WHERE coalesce(session_id, '') <> ''"""
        for table, relation in relations.items()
    ]
    return f"""INSERT INTO beacon_sessions BY NAME
        SELECT {", ".join(_KEY)}, {_FOLD}, {compacted} AS compacted
        FROM ({" UNION ALL ".join(selects)}) GROUP BY ALL"""


def apply(con: duckdb.DuckDBPyConnection, inserted: Mapping[str, pa.Table]) -> None:
    """Append the partial session rows of a batch's inserted page views and errors, in the caller's transaction."""
    present = {t: f"_vigil_{t}" for t in SOURCES if t in inserted and inserted[t].num_rows}
    if not present:
        return
    with contextlib.ExitStack() as views:
        for table, name in present.items():
            views.enter_context(registered(con, name, inserted[table]))
        con.execute(rows_sql(present, compacted=False))


def compact(con: duckdb.DuckDBPyConnection) -> int:
    """Fold the rows of every session with a partial row into one row per session; returns the sessions folded.

    Runs in its own transaction beside the consumer's: rows a batch appends meanwhile are
    not seen, stay partial, and are folded on the next pass.
    """
    match = " AND ".join(f"s.{c} = o.{c}" for c in _KEY)
    with transaction(con):
        ((lowest,),) = con.execute("SELECT min(started) FROM beacon_sessions WHERE NOT compacted").fetchall()
        sessions = 0
        if lowest is not None:
            params = {"low": lowest - LOOKBACK}
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _vigil_open AS
                    SELECT DISTINCT {", ".join(_KEY)} FROM beacon_sessions WHERE NOT compacted"""
            )
            ((sessions,),) = con.execute("SELECT count(*) FROM _vigil_open").fetchall()
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _vigil_folded AS
                    SELECT {", ".join(_KEY)}, {_FOLD}, true AS compacted
                    FROM beacon_sessions s SEMI JOIN _vigil_open o ON {match}
                    WHERE s.started >= $low GROUP BY ALL""",
                params,
            )
            con.execute(
                f"""DELETE FROM beacon_sessions s WHERE s.started >= $low
                    AND EXISTS (SELECT 1 FROM _vigil_open o WHERE {match})""",
                params,
            )
            con.execute("INSERT INTO beacon_sessions BY NAME SELECT * FROM _vigil_folded")
            con.execute("DROP TABLE _vigil_open")
            con.execute("DROP TABLE _vigil_folded")
    return int(sessions)
