"""The store: creating and upgrading its tables, and the batch insert.

The store is a DuckDB file (the default), or a DuckLake that several analytics writers share
(``analytics/lake.py``); either is attached as the catalog ``vigil``, and everything above this
module reads and writes it the same way. Only the analytics service opens a DuckDB file for
writing. Rows arrive as Arrow tables and go in with one ``INSERT … SELECT`` per table per
batch, never row by row. Upgrades are additive: a table or column a newer Vigil declares is
created when the store is opened; nothing is dropped or rewritten.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from analytics import lake
from analytics.conclusions import CONCLUSIONS
from analytics.routes import ROUTE
from analytics.settings import Resources
from analytics.tables import DERIVED, SQL_TYPES, TABLES, create_sql

SCHEMA_VERSION = 12
#: The name the file is attached under; every connection and cursor on it works there.
CATALOG = "vigil"
#: Rows per row group (DuckDB's default is 122,880). Each checkpoint rewrites every table's
#: last, still-filling row group, so the pause grows with its size; the file grows as it
#: shrinks. Measured in bench/README.md. DuckDB does not keep it in the file: it applies to
#: row groups written after each open.
ROW_GROUP_SIZE = 32_768

#: How often opening the store tries to bring its tables up to date while other writers do the same.
MIGRATE_ATTEMPTS = 5

PROBE_TABLES = ("probe_results", "host_metrics", "agent_heartbeats")
#: What makes a row the same row again: (key columns, time column the duplicate shares).
DEDUPE_KEYS: dict[str, tuple[tuple[str, ...], str | None]] = {
    **{name: (("project_id", "event_id"), "ts") for name in TABLES if "event_id" in TABLES[name].names},
    # A retried batch arrives at another time, so look through all of these small tables.
    "client_drops": (("project_id", "batch_id", "reason", "category"), None),
    "sentry_sessions": (("project_id", "entry_id", "row"), "received_at"),
    "sentry_releases": (("project_id", "entry_id", "row"), "received_at"),
    "outcomes": (("batch_id", "project_id", "outcome", "reason", "unit"), "window_start"),
    # A probe agent retries a batch with the same record ids.
    **{name: (("project_id", "id"), "ts") for name in PROBE_TABLES},
}
#: How far around a batch's time range a duplicate is looked for. A probe batch retried after a
#: delivery that hung may have had its clock corrected differently (analytics/probes.py): its
#: records are looked for a day either side.
DEDUPE_MARGIN: dict[str, timedelta] = {name: timedelta(days=1) for name in PROBE_TABLES}
#: Tables where a new row replaces the stored one with the same key (the latest wins; NULLs match NULLs). A map
#: keeps its debug id in the key: two builds uploaded without a release under one URL (a bundle with no content hash
#: in its name) are both kept, each found by its own debug id.
REPLACE_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "source_maps": (("project_id", "release", "url", "debug_id"), "uploaded_at"),
}


@dataclasses.dataclass(frozen=True)
class Store:
    """Where the tables are: the DuckDB file at ``path``; or, with a PostgreSQL ``catalog``, the DuckLake whose
    Parquet files are under ``path`` (``spill`` is then the local folder DuckDB spills to past its memory bound)."""

    path: Path
    catalog: str = ""
    spill: Path | None = None

    @property
    def lake(self) -> bool:
        return bool(self.catalog)

    @property
    def temp_directory(self) -> Path:
        return self.spill or Path(f"{self.path}.tmp")

    def __str__(self) -> str:
        return f"DuckLake {self.path} (catalog {lake.redacted(self.catalog)})" if self.lake else str(self.path)


class SchemaTooNew(Exception):
    """The file was written by a newer Vigil; refuse rather than corrupt it."""


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables and columns; refuse a file from a newer schema."""
    lake.create(con, ["CREATE TABLE IF NOT EXISTS vigil_meta (key VARCHAR PRIMARY KEY, value VARCHAR)"])
    row = con.execute("SELECT value FROM vigil_meta WHERE key = 'schema_version'").fetchone()
    if row is not None and int(row[0]) > SCHEMA_VERSION:
        raise SchemaTooNew(f"the database has schema version {row[0]}; this Vigil knows up to {SCHEMA_VERSION}")
    for name, schema in {**TABLES, **DERIVED, **CONCLUSIONS}.items():
        con.execute(create_sql(name, schema))
        for field in schema:
            con.execute(f'ALTER TABLE {name} ADD COLUMN IF NOT EXISTS "{field.name}" {SQL_TYPES[field.type]}')
    # The issues' and probe states' tables (they build on this module: imported when needed, not at load), in the
    # one transaction that writers starting together on a DuckLake retry.
    from analytics import issues, probes

    lake.create(con, [*issues.DDL, *probes.DDL])
    if row is not None and int(row[0]) < 9:
        # Version 9 added web_vitals.metric_key; the rows stored before get it once (analytics.rows.metric_key).
        con.execute(
            "UPDATE web_vitals SET metric_key = md5_number_upper(coalesce(name, '') || chr(31) || metric_id) "
            "WHERE metric_key IS NULL AND metric_id IS NOT NULL AND metric_id <> ''"
        )
    if row is not None and int(row[0]) < 10:
        # Version 10 added beacon_sessions; the sessions stored before are counted into it once.
        from analytics import sessions  # sessions builds on this module: imported when needed, not at load

        con.execute(sessions.rows_sql({t: t for t in sessions.SOURCES}, compacted=True))
    if row is not None and int(row[0]) < 11:
        # Version 11 added each event table's route; the rows stored before get it once (analytics/routes.py).
        for name, schema in TABLES.items():
            if "route" in schema.names:
                con.execute(f"UPDATE {name} SET route = {ROUTE} WHERE route IS NULL AND coalesce(page_url, '') <> ''")
    if row is not None and int(row[0]) < 12:
        # Version 12 tells a page's unhandled error from a crash (Sentry's release health): what beacon sessions
        # counted as crashed was an unhandled error.
        con.execute("UPDATE beacon_sessions SET unhandled = crashed, crashed = false WHERE unhandled IS NULL")
        # Maps are found by debug id in lower case now; ids stored before were kept as uploaded.
        con.execute("UPDATE source_maps SET debug_id = lower(debug_id) WHERE debug_id <> lower(debug_id)")
    if row is None or row[0] != str(SCHEMA_VERSION):
        con.execute("DELETE FROM vigil_meta WHERE key = 'schema_version'")
        con.execute("INSERT INTO vigil_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    if lake.is_lake(con) and not con.execute("SELECT 1 FROM vigil_meta WHERE key = 'turn'").fetchall():
        con.execute("INSERT INTO vigil_meta VALUES ('turn', '0')")  # what writers' batches take turns on


def attach(
    store: Store | Path, *, read_only: bool = False, resources: Resources | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection to the store as catalog ``vigil``, however the file is named.

    Attached, not connected: only ATTACH takes a row group size. DuckDB's spill files go
    next to the file, as with a plain connect, not into the working directory; past its
    memory bound, DuckDB spills there rather than grow.
    """
    store = store if isinstance(store, Store) else Store(store)
    config: dict[str, str | int | bool] = {"temp_directory": str(store.temp_directory)}
    if store.lake:
        config |= {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    con = duckdb.connect(config={**config, **(resources or Resources()).config()})
    try:
        if store.lake:
            lake.load_extensions(con)
            lake.attach(con, store.catalog, store.path, CATALOG, read_only=read_only)
        else:
            options = "READ_ONLY" if read_only else f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
            con.execute(f"ATTACH {lake.quote(str(store.path))} AS {CATALOG} ({options})")
        con.execute(f"USE {CATALOG}")
    except BaseException:
        con.close()
        raise
    return con


def open_database(store: Store | Path, resources: Resources | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the store for writing and bring its tables up to date."""
    store = store if isinstance(store, Store) else Store(store)
    (store.path if store.lake else store.path.parent).mkdir(parents=True, exist_ok=True)
    con = attach(store, resources=resources)
    try:
        for attempt in range(MIGRATE_ATTEMPTS):
            try:
                with transaction(con):
                    migrate(con)
                break
            except duckdb.TransactionException:
                # Writers sharing a DuckLake that start together create the same tables: one commits, the others
                # conflict, and find them there on the next attempt.
                if attempt == MIGRATE_ATTEMPTS - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))
    except BaseException:
        con.close()
        raise
    return con


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A connection of its own (for another thread) on the database ``open_database`` opened."""
    own = con.cursor()
    own.execute(f"USE {CATALOG}")  # a cursor starts in the in-memory catalog
    return own


def time_range(rows: pa.Table, column: str = "ts") -> tuple[datetime, datetime]:
    """The earliest and latest time in a batch's ``column`` (rows to store: never empty, times never null).

    Arrow computes it in microseconds; a DuckDB query for it took half a millisecond.
    """
    window = pc.min_max(rows[column]).as_py()
    return window["min"], window["max"]


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The statements inside the block in one transaction: committed at its end, rolled back if it raises."""
    con.begin()
    try:
        yield
    except BaseException:
        rollback(con)
        raise
    con.commit()


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll the transaction back, if there still is one: a DuckLake commit that conflicted has rolled back already."""
    with contextlib.suppress(duckdb.TransactionException):
        con.rollback()


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` as the view ``name`` for the statements inside the block."""
    con.register(name, table)
    try:
        yield
    finally:
        # In a failed transaction this raises too; the next register replaces the view anyway.
        with contextlib.suppress(duckdb.Error):
            con.unregister(name)


def _replace(
    con: duckdb.DuckDBPyConnection, table_name: str, rows: pa.Table, returning: list[str], on_lake: bool
) -> pa.Table:
    """Insert ``rows``, removing stored rows with the same key first; within the batch the latest wins."""
    key, latest = REPLACE_KEYS[table_name]
    match = " AND ".join(f"s.{c} IS NOT DISTINCT FROM b.{c}" for c in key)
    partition = ", ".join(f"b.{c}" for c in key)
    with registered(con, "_vigil_batch", rows):
        con.execute(f"DELETE FROM {table_name} s WHERE EXISTS (SELECT 1 FROM _vigil_batch b WHERE {match})")
        return _insert_returning(
            con,
            table_name,
            f"""SELECT * FROM _vigil_batch b
                QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY b.{latest} DESC) = 1""",
            returning,
            on_lake=on_lake,
        )


def _insert_returning(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    select: str,
    returning: list[str],
    params: dict[str, object] | None = None,
    *,
    on_lake: bool,
) -> pa.Table:
    """Insert what ``select`` selects into ``table_name``; the ``returning`` columns of the rows inserted.

    A DuckLake table has no INSERT … RETURNING: the rows are selected into Arrow first, then inserted.
    """
    if not on_lake:
        columns = ", ".join(f'"{c}"' for c in returning)
        return con.sql(f"INSERT INTO {table_name} BY NAME {select} RETURNING {columns}", params=params).to_arrow_table()
    chosen = con.sql(select, params=params).to_arrow_table()
    if chosen.num_rows:
        with registered(con, "_vigil_chosen", chosen):
            con.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM _vigil_chosen")
    return chosen.select(returning)


def insert(
    con: duckdb.DuckDBPyConnection,
    table_name: str,
    rows: pa.Table,
    returning: Sequence[str] = (),
    *,
    on_lake: bool = False,
) -> pa.Table:
    """Append the rows not stored yet to ``table_name`` in the caller's transaction.

    Returns the ``returning`` columns of the rows really inserted (their number is the
    table's ``num_rows``), which is what the rollups count.

    A row is already stored when its table holds the same key (``DEDUPE_KEYS``): the same
    event sent twice (a client retry, a replay after a crash) is kept once. The lookup is
    limited to the batch's own time range, so DuckDB's per-row-group min/max skips the rest
    of the table. ``on_lake``: ``con`` works on a DuckLake (``lake.is_lake``, asked once by the caller).
    """
    names = list(returning) or ["project_id"]
    if rows.num_rows == 0:
        return rows.select(names)
    if table_name in REPLACE_KEYS:
        return _replace(con, table_name, rows, names, on_lake)
    key, time_column = DEDUPE_KEYS[table_name]
    match = " AND ".join(f"s.{c} = b.{c}" for c in key)
    partition = ", ".join(f"b.{c}" for c in key)
    with registered(con, "_vigil_batch", rows):
        params: dict[str, object] = {}
        if time_column is not None:
            low, high = time_range(rows, time_column)
            margin = DEDUPE_MARGIN.get(table_name, timedelta(0))
            params["low"], params["high"] = low - margin, high + margin
            match += f" AND s.{time_column} BETWEEN $low AND $high"
        return _insert_returning(
            con,
            table_name,
            f"""SELECT * FROM _vigil_batch b
                WHERE NOT EXISTS (SELECT 1 FROM {table_name} s WHERE {match})
                QUALIFY row_number() OVER (PARTITION BY {partition}) = 1""",
            names,
            params or None,
            on_lake=on_lake,
        )
