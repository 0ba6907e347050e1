"""Grouping step of the commit: each new error row gets its issue, and the issues their counts.

Runs in the consumer's thread, as the batch is stored: rows of events already stored
(a retry, a replay) are dropped first, so an issue counts each event once; the rest are
assigned issues by ``IssueIndex.plan`` (``analytics/issue_index.py``) and ``issues.apply``
writes the issues in the same transaction as the rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from analytics.issue_index import IssueIndex
from analytics.issues import Event, Plan
from analytics.store import registered
from analytics.tables import BUILT

_COLUMNS = {name: i for i, name in enumerate(BUILT["errors"].names)}
_ISSUE = _COLUMNS["issue_id"]
assert len(_COLUMNS) - 1 == _ISSUE, "issue_id is the last column of an errors row as built"


def issue_event(row: tuple[Any, ...]) -> Event:
    c = _COLUMNS
    return Event(
        project_id=row[c["project_id"]],
        project=row[c["project"]],
        ts=row[c["ts"]],
        app_hash=row[c["app_hash"]],
        full_hash=row[c["full_hash"]],
        error_type=row[c["error_type"]] or "",
        title=row[c["title"]] or "",
        culprit=row[c["culprit"]] or "",
        level=row[c["level"]] or "error",
        release=row[c["release"]] or "",
        grouping=row[c["grouping"]] or "",
    )


def new_rows(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows whose (project, event id) is neither stored yet nor earlier in the batch."""
    c = _COLUMNS
    keys = [(row[c["project_id"]], row[c["event_id"]]) for row in rows]
    times = [row[c["ts"]] for row in rows]
    batch = pa.table({"project_id": [k[0] for k in keys], "event_id": [k[1] for k in keys]})
    with registered(con, "_vigil_keys", batch):
        stored = set(
            con.execute(
                "SELECT e.project_id, e.event_id FROM errors e JOIN _vigil_keys k USING (project_id, event_id) "
                "WHERE e.ts BETWEEN $low AND $high",
                {"low": min(times), "high": max(times)},
            ).fetchall()
        )
    seen: set[tuple[int, str]] = set()
    fresh = []
    for key, row in zip(keys, rows, strict=True):
        if key not in stored and key not in seen:
            seen.add(key)
            fresh.append(row)
    return fresh


def assign(
    con: duckdb.DuckDBPyConnection, index: IssueIndex, rows: list[tuple[Any, ...]], now: datetime
) -> tuple[list[tuple[Any, ...]], Plan, list[Event]]:
    """The rows with their issue ids filled in, the plan, and the events it was made from."""
    rows = new_rows(con, rows)
    events = [issue_event(row) for row in rows]
    plan = index.plan(con, events, now)
    return [(*row[:_ISSUE], issue_id) for row, issue_id in zip(rows, plan.ids, strict=True)], plan, events
