"""User SQL on a real DuckDB file locked down as the service locks it: it reads Vigil's tables and nothing else."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from analytics import user_sql
from analytics.store import cursor, insert, open_database
from analytics.user_sql import Limits, NotReadOnly
from contracts.queries import QueryError
from tests.analytics.test_queries import rows


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = open_database(tmp_path / "vigil.duckdb")
    insert(
        connection,
        "errors",
        rows(
            ("shop", "TypeError", "a", datetime(2026, 11, 25, 12, 1, 10), "Chrome"),
            ("blog", "TypeError", "c", datetime(2026, 11, 25, 12, 2, 6), "Safari"),
        ),
    )
    connection.execute(
        """INSERT INTO issues (issue_id, project_id, project, app_hash, full_hash, title, first_seen, last_seen,
                               events, status)
           VALUES (1, 1, 'shop', 'a', 'f', 't', now(), now(), 1, 'unresolved')"""
    )
    user_sql.lock_down(connection)
    yield connection
    connection.close()


def snapshot(con: duckdb.DuckDBPyConnection) -> tuple[object, ...]:
    return (
        con.execute("SELECT list(message ORDER BY event_id) FROM errors").fetchone(),
        con.execute("SELECT list(issue_id ORDER BY issue_id) FROM issues").fetchone(),
    )


def test_one_select_over_vigils_tables_runs(con):
    result = user_sql.run(cursor(con), "SELECT project, count(*) AS n FROM errors GROUP BY ALL ORDER BY project")
    assert (result.columns, result.rows, result.truncated) == (["project", "n"], [["blog", 1], ["shop", 1]], False)
    joined = user_sql.run(
        cursor(con),
        """WITH recent AS (SELECT issue_id FROM vigil.main.errors) SELECT count(*) FROM recent, range(3)
           UNION ALL SELECT count(*) FROM information_schema.tables WHERE table_name = 'errors'""",
    )
    assert joined.rows == [[6], [1]]


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        # Writes, alone or hidden in a CTE (which DuckDB 1.5's parser refuses already; 2.0's parses, and the
        # check refuses).
        ("WITH d AS (DELETE FROM issues WHERE issue_id = 1 RETURNING issue_id) SELECT * FROM d", "DELETE|CTE"),
        ("WITH u AS (UPDATE errors SET message = 'x' WHERE true RETURNING 1) SELECT count(*) FROM u", "UPDATE|CTE"),
        ("WITH i AS (INSERT INTO issues (issue_id) VALUES (9) RETURNING 1) SELECT * FROM i", "INSERT|CTE"),
        ("DELETE FROM errors", "DELETE"),
        ("DROP TABLE errors", "DROP"),
        ("SELECT 1; DELETE FROM errors", "one statement"),
        ("CREATE TABLE x AS SELECT 1", "CREATE"),
        # Files, URLs, extensions, other databases.
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
        ("SELECT * FROM read_text('vigil.toml')", "read_text"),
        ("SELECT * FROM read_blob('/etc/hostname')", "read_blob"),
        ("SELECT * FROM glob('/root/*')", "glob"),
        ("SELECT * FROM read_csv('https://example.invalid/x.csv')", "read_csv"),
        ("SELECT * FROM '/etc/passwd'", "no table"),
        ("SELECT * FROM 'vigil.toml'", "no table"),
        ("SELECT * FROM parquet_scan('x.parquet')", "parquet_scan"),
        ("SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv"),
        ("COPY errors TO 'x.csv'", "COPY"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"),
        ("EXPORT DATABASE '/tmp/x'", "EXPORT"),
        ("ATTACH 'x.db'", "ATTACH"),
        ("INSTALL httpfs", "LOAD"),
        ("LOAD httpfs", "LOAD"),
        ("SELECT * FROM system.main.duckdb_settings()", "duckdb_settings"),
        ("SELECT * FROM duckdb_secrets()", "duckdb_secrets"),
        ("SELECT * FROM temp.main.x", "only Vigil's tables"),
        # Effects on the database or the session.
        ("SET memory_limit = '1GB'", "SET"),
        ("PRAGMA enable_profiling", "PRAGMA"),
        ("CALL checkpoint()", "CALL"),
        ("SELECT * FROM checkpoint()", "checkpoint"),
        ("SELECT * FROM force_checkpoint()", "force_checkpoint"),
        ("CHECKPOINT", "CALL"),  # DuckDB parses CHECKPOINT as a call of checkpoint()
        ("SELECT * FROM query('DELETE FROM errors')", "query"),
        ("SELECT * FROM query_table('errors')", "query_table"),
        ("SELECT nextval('s')", "nextval"),
        ("SELECT setseed(0.5)", "setseed"),
        ("BEGIN TRANSACTION", "TRANSACTION"),
        ("VACUUM errors", "VACUUM"),
    ],
)
def test_anything_but_reading_vigils_tables_is_refused_and_changes_nothing(con, statement, reason):
    before = snapshot(con)
    with pytest.raises(NotReadOnly if "|" not in reason else QueryError) as refused:
        user_sql.run(cursor(con), statement)
    message = str(refused.value)
    assert any(word.lower() in message.lower() for word in reason.split("|")), message
    assert "\n" not in message
    assert snapshot(con) == before


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "ATTACH '/tmp/other.duckdb' AS other",
        "SET enable_external_access = true",
        "INSTALL httpfs",
    ],
)
def test_the_database_itself_refuses_files_and_settings_once_locked_down(con, statement):
    """The second fence, without the first: even a statement that got past the check would fail."""
    with pytest.raises(duckdb.Error):
        cursor(con).execute(statement)


def test_errors_are_one_line_and_answers_are_cut_at_rows_and_bytes(con):
    with pytest.raises(QueryError, match=r"^SQL error: ") as caught:
        user_sql.run(cursor(con), "SELECT nope FROM errors")
    assert "\n" not in str(caught.value)
    by_rows = user_sql.run(cursor(con), "SELECT * FROM range(25)", Limits(max_rows=10))
    assert (len(by_rows.rows), by_rows.truncated) == (10, True)
    by_bytes = user_sql.run(cursor(con), "SELECT repeat('x', 1000) FROM range(100)", Limits(max_bytes=10_000))
    assert (len(by_bytes.rows), by_bytes.truncated) == (9, True)


def test_a_query_that_runs_too_long_is_interrupted_and_the_writer_goes_on(con):
    slow = "SELECT count(*) FROM range(100000000) a, range(1000) b WHERE a.range * b.range = -1"
    writer_done = threading.Event()

    def write() -> None:
        insert(con, "errors", rows(("shop", "Error", "during", datetime(2026, 11, 25, 12, 3), "Chrome")))
        writer_done.set()

    threading.Timer(0.1, write).start()
    with pytest.raises(QueryError, match=r"^the query ran longer than 0.5 s"):
        user_sql.run(cursor(con), slow, Limits(timeout=0.5))
    assert writer_done.wait(10)
    assert con.execute("SELECT count(*) FROM errors").fetchone() == (3,)


@pytest.mark.skipif(
    duckdb.__version__ < "2", reason="operator_memory_limit is new in DuckDB 2.0; the 1.5 series has memory_limit only"
)
def test_a_query_gets_its_own_memory_for_sorts_and_hash_tables(con):
    own = cursor(con)
    user_sql.run(own, "SELECT 1", Limits(memory_bytes=64_000_000))
    (limit,) = own.execute("SELECT current_setting('operator_memory_limit')").fetchone() or ("",)
    assert limit == "61.0 MiB"
    grouped = user_sql.run(
        own, "SELECT count(*) FROM (SELECT range % 2000000 AS k, count(*) FROM range(6000000) GROUP BY k)",
        Limits(memory_bytes=16_000_000),
    )  # fmt: skip
    assert grouped.rows == [[2_000_000]]
