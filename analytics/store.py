"""The DuckDB file: its tables (docs/schema.md) and the batch insert.

The analytics service is the only process that opens the file for writing. Rows arrive as
Arrow tables and go in with one ``INSERT … SELECT`` per table per batch, never row by row.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

SCHEMA_VERSION = 1

ERRORS = pa.schema(
    [
        ("event_id", pa.string()),
        ("batch_id", pa.string()),
        ("ts", pa.timestamp("ms")),
        ("received_at", pa.timestamp("ms")),
        ("project", pa.string()),
        ("project_id", pa.int32()),
        ("environment", pa.string()),
        ("release", pa.string()),
        ("session_id", pa.string()),
        ("page_url", pa.string()),
        ("error_type", pa.string()),
        ("message", pa.string()),
        ("stack", pa.string()),
        ("source_file", pa.string()),
        ("source_line", pa.int32()),
        ("source_column", pa.int32()),
        ("mechanism", pa.string()),
        ("user_agent", pa.string()),
        ("browser", pa.string()),
        ("browser_version", pa.string()),
        ("os", pa.string()),
        ("os_version", pa.string()),
        ("device_type", pa.string()),
        ("is_bot", pa.bool_()),
    ]
)

DDL = [
    "CREATE TABLE IF NOT EXISTS vigil_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS errors (
        event_id VARCHAR NOT NULL,
        batch_id VARCHAR,
        ts TIMESTAMP NOT NULL,
        received_at TIMESTAMP NOT NULL,
        project VARCHAR NOT NULL,
        project_id INTEGER NOT NULL,
        environment VARCHAR,
        release VARCHAR,
        session_id VARCHAR,
        page_url VARCHAR,
        error_type VARCHAR,
        message VARCHAR,
        stack VARCHAR,
        source_file VARCHAR,
        source_line INTEGER,
        source_column INTEGER,
        mechanism VARCHAR,
        user_agent VARCHAR,
        browser VARCHAR,
        browser_version VARCHAR,
        os VARCHAR,
        os_version VARCHAR,
        device_type VARCHAR,
        is_bot BOOLEAN
    )""",
]


class SchemaTooNew(Exception):
    """The file was written by a newer Vigil; refuse rather than corrupt it."""


def open_database(path: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the DuckDB file for writing and bring its tables up to date."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    for statement in DDL:
        con.execute(statement)
    row = con.execute("SELECT value FROM vigil_meta WHERE key = 'schema_version'").fetchone()
    if row is not None and int(row[0]) > SCHEMA_VERSION:
        con.close()
        raise SchemaTooNew(f"{path} has schema version {row[0]}; this Vigil knows up to {SCHEMA_VERSION}")
    con.execute("INSERT OR REPLACE INTO vigil_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    return con


def insert(con: duckdb.DuckDBPyConnection, table_name: str, rows: pa.Table) -> None:
    """Append an Arrow table to ``table_name`` in the caller's transaction, matching columns by name."""
    if rows.num_rows == 0:
        return
    con.register("_vigil_batch", rows)
    try:
        con.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM _vigil_batch")
    finally:
        con.unregister("_vigil_batch")
