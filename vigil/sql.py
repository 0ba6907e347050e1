"""``vigil sql``: one read-only SELECT, through the running service or straight from the file.

While the analytics service runs it holds the DuckDB file (DuckDB lets one process write
and refuses readers from other processes), so the query goes through its read API with
the token from its run file. When it is stopped, the file is opened read-only here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import duckdb

from analytics import user_sql
from analytics.settings import AnalyticsSettings
from analytics.store import attach
from contracts.read_api import Result, live_client
from contracts.settings import ConfigError, load
from vigil.table import dumps, render_table


def query(data_dir: Path, statement: str) -> Result:
    client = live_client(data_dir)
    if client is not None:
        with client:
            return client.sql(statement)
    settings = load(AnalyticsSettings, "analytics", data_dir)
    con = open_read_only(settings)
    try:
        user_sql.lock_down(con, settings.location)
        return user_sql.run(con, statement, user_sql.Limits.of(settings))
    finally:
        con.close()


def open_read_only(settings: AnalyticsSettings) -> duckdb.DuckDBPyConnection:
    """The store opened read-only here, while the analytics service is stopped (a one-line error if it cannot be)."""
    store = settings.location
    if not store.lake and not store.path.exists():
        raise ConfigError(f"no database at {store} yet: start Vigil (vigil up) and send some events first")
    try:
        return attach(store, read_only=True, resources=settings.resources)  # the catalog name of the read API
    except duckdb.Error as e:
        raise ConfigError(f"cannot open {store}: {str(e).splitlines()[0][:300]}") from None


def print_result(result: Result, fmt: str, echo: Callable[[str], None], warn: Callable[[str], None]) -> None:
    if fmt == "json":
        echo(dumps([dict(zip(result.columns, row, strict=True)) for row in result.rows]))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(result.rows)
        echo(out.getvalue().rstrip("\n"))
    else:
        echo(render_table(result.columns, result.rows))
        echo(
            f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''}{', truncated' if result.truncated else ''})"
        )
    if result.truncated and fmt != "table":
        warn(f"vigil: result truncated to {len(result.rows)} rows: add a LIMIT")
