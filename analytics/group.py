"""Grouping step of the commit: each new error row gets its issue, and the issues their counts.

Runs in the consumer's thread, as the batch is stored: rows of events already stored
(a retry, a replay) are dropped first, so an issue counts each event once; the rest are
assigned issues by ``IssueIndex.plan`` (``analytics/issue_index.py``) and ``issues.apply``
writes the issues in the same transaction as the rows.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from analytics.issue_index import IssueIndex
from analytics.issues import Event, Plan
from analytics.store import registered

#: What grouping reads of each error (``issues.Event``), by column.
_EVENT_COLUMNS = ("project_id", "project", "ts", "app_hash", "full_hash", "error_type", "title", "culprit", "level",
                  "release", "grouping")  # fmt: skip


def new_rows(con: duckdb.DuckDBPyConnection, table: pa.Table) -> pa.Table:
    """The rows whose (project, event id) is neither stored yet nor earlier in the batch."""
    projects, event_ids = table.column("project_id").to_pylist(), table.column("event_id").to_pylist()
    times = pc.min_max(table.column("ts")).as_py()
    keys = pa.table({"project_id": table.column("project_id"), "event_id": table.column("event_id")})
    with registered(con, "_vigil_keys", keys):
        stored = set(
            con.execute(
                "SELECT e.project_id, e.event_id FROM errors e JOIN _vigil_keys k USING (project_id, event_id) "
                "WHERE e.ts BETWEEN $low AND $high",
                {"low": times["min"], "high": times["max"]},
            ).fetchall()
        )
    seen: set[tuple[int, str]] = set()
    keep = []
    for key in zip(projects, event_ids, strict=True):
        fresh = key not in stored and key not in seen
        seen.add(key)
        keep.append(fresh)
    return table if all(keep) else table.filter(pa.array(keep, pa.bool_()))


def issue_events(table: pa.Table) -> list[Event]:
    """What grouping needs of each row, read column by column."""
    columns = [table.column(name).to_pylist() for name in _EVENT_COLUMNS]
    return [
        Event(project_id, project, ts, app_hash, full_hash, error_type or "", title or "", culprit or "",
              level or "error", release or "", grouping or "")
        for project_id, project, ts, app_hash, full_hash, error_type, title, culprit, level, release, grouping
        in zip(*columns, strict=True)
    ]  # fmt: skip


def assign(
    con: duckdb.DuckDBPyConnection, index: IssueIndex, table: pa.Table, now: datetime
) -> tuple[pa.Table, Plan, list[Event]]:
    """The errors (an Arrow table, as the workers built it) with their issue ids filled in, the plan, and the
    events it was made from. No Python object per row but what grouping reads."""
    table = new_rows(con, table)
    events = issue_events(table)
    plan = index.plan(con, events, now)
    column = table.schema.get_field_index("issue_id")
    return table.set_column(column, table.schema.field(column), pa.array(plan.ids, pa.int64())), plan, events
