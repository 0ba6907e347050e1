"""Named queries on a real DuckDB file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from analytics import rollups
from analytics.queries import run_query
from analytics.store import insert, open_database
from analytics.tables import ERRORS
from contracts.queries import QueryError

NOW = datetime(2026, 11, 25, 12, 30)


def rows(*specs: tuple[str, str, str, datetime, str]) -> pa.Table:
    columns: dict[str, list[object]] = {name: [] for name in ERRORS.names}
    for n, (project, error_type, message, ts, browser) in enumerate(specs):
        values = {name: None for name in ERRORS.names}
        values.update(
            event_id=f"e{n}", ts=ts, received_at=ts, project=project, project_id=1, error_type=error_type,
            message=message, browser=browser, page_url=f"https://x.example/{n % 2}", session_id=f"s{n % 3}",
        )  # fmt: skip
        for name in ERRORS.names:
            columns[name].append(values[name])
    return pa.Table.from_pydict(columns, schema=ERRORS)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = open_database(tmp_path / "vigil.duckdb")
    inserted = insert(
        connection,
        "errors",
        rows(
            ("shop", "TypeError", "a", datetime(2026, 11, 25, 12, 1, 10), "Chrome"),
            ("shop", "TypeError", "a", datetime(2026, 11, 25, 12, 1, 50), "Firefox"),
            ("shop", "ReferenceError", "b", datetime(2026, 11, 25, 12, 2, 5), "Chrome"),
            ("blog", "TypeError", "c", datetime(2026, 11, 25, 12, 2, 6), "Safari"),
            ("shop", "TypeError", "old", datetime(2026, 11, 24, 12, 0, 0), "Chrome"),
        ),
        rollups.returning("errors"),
    )
    rollups.apply(connection, {"errors": inserted})
    yield connection
    connection.close()


def test_events_per_minute_buckets_the_range(con):
    result = run_query(con, "events_per_minute", {"since": "2026-11-25T12:00:00Z", "until": "2026-11-25T13:00:00Z"})
    assert result.columns == ["minute", "errors"]
    assert result.rows == [[datetime(2026, 11, 25, 12, 1), 2], [datetime(2026, 11, 25, 12, 2), 2]]


def test_the_project_filter_and_default_range(con):
    result = run_query(con, "errors_by_type", {"project": "shop"}, now=NOW)
    assert result.rows == [["TypeError", 2], ["ReferenceError", 1]]


def test_top_messages_counts_pages_and_browsers(con):
    result = run_query(con, "top_messages", {"limit": "1"}, now=NOW)
    assert result.columns == ["error_type", "message", "errors", "pages", "browsers", "last_seen", "issue_id"]
    assert result.rows == [["TypeError", "a", 2, 2, 2, datetime(2026, 11, 25, 12, 1, 50), None]]  # not grouped here


def test_totals_and_projects(con):
    assert run_query(con, "totals", {}, now=NOW).rows == [[4, 3, 2, 3]]
    assert run_query(con, "projects", {}).rows == [
        ["blog", 1, datetime(2026, 11, 25, 12, 2, 6)],
        ["shop", 4, datetime(2026, 11, 25, 12, 2, 5)],
    ]


@pytest.mark.parametrize(
    ("name", "params", "reason"),
    [
        ("nope", {}, "unknown query 'nope'"),
        ("totals", {"sql": "1"}, "totals: unknown parameter 'sql'"),
        ("totals", {"since": "yesterday"}, "since: expected an ISO-8601 time"),
        ("top_messages", {"limit": "0"}, "limit: must be between 1 and 1000"),
        ("top_messages", {"limit": "1; drop"}, "limit: expected an integer"),
        ("totals", {"project": "x" * 300}, "project: longer than 200 characters"),
        ("top_messages", {"limit": "²"}, "limit: expected an integer"),
        ("totals", {"since": "0001-01-01T00:00:00+01:00"}, "since: expected an ISO-8601 time"),
        ("daily_report", {"day": "2026-02-30"}, "day: expected a day as YYYY-MM-DD, got '2026-02-30'"),
        ("daily_report", {"day": "20261207"}, "day: expected a day as YYYY-MM-DD"),
    ],
)
def test_bad_parameters_are_refused_with_a_reason(con, name, params, reason):
    with pytest.raises(QueryError) as caught:
        run_query(con, name, params)
    assert str(caught.value).startswith(reason)


def test_parameters_are_bound_not_pasted(con):
    result = run_query(con, "totals", {"project": "shop' OR '1'='1"}, now=NOW)
    assert result.rows == [[0, 0, 0, 0]]
