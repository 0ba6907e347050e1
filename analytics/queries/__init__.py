"""Named queries: the SQL behind each query the read API declares (``contracts/queries.py``).

Each module here maps query names to SQL; ``$name`` placeholders are bound from the
parameters ``contracts.queries.bind`` checked, never pasted into SQL text. Every declared
query must have its SQL and no SQL may go undeclared, or this module refuses to load.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import duckdb

from analytics.queries import issues, overview, probes, rollups
from contracts.queries import QUERIES, QueryError, bind, declared
from contracts.read_api import Result

SQL: dict[str, str] = {**overview.SQL, **issues.SQL, **rollups.SQL, **probes.SQL}

if SQL.keys() != QUERIES.keys():  # pragma: no cover (a developer's mistake, caught by any test run)
    raise RuntimeError(
        f"queries declared without SQL or SQL without a declaration: {sorted(SQL.keys() ^ QUERIES.keys())}"
    )


def run_query(con: duckdb.DuckDBPyConnection, name: str, raw: Mapping[str, str], now: datetime | None = None) -> Result:
    """Run the named query with checked parameters on ``con`` (a cursor of the caller's thread)."""
    query = declared(name)
    relation = con.execute(SQL[name], bind(query, raw, now))
    columns = [d[0] for d in relation.description or []]
    return Result(columns, [list(r) for r in relation.fetchall()])


class NotReadOnly(QueryError):
    """Ad-hoc SQL that is not a single SELECT."""


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int = 10_000) -> Result:
    """One read-only ``SELECT`` (``vigil sql``); anything else is refused before it runs."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryError(f"SQL error: {str(e).splitlines()[0]}") from None
    if len(statements) != 1:
        raise NotReadOnly("exactly one statement, please")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise NotReadOnly(f"only SELECT is allowed here, not {statements[0].type.name}")
    try:
        relation = con.execute(sql)
        rows = relation.fetchmany(max_rows + 1)
    except duckdb.Error as e:
        raise QueryError(f"SQL error: {str(e).splitlines()[0]}") from None
    columns = [d[0] for d in relation.description or []]
    return Result(columns, [list(r) for r in rows[:max_rows]], truncated=len(rows) > max_rows)
