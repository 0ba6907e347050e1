"""Named queries: the SQL behind each query the read API declares (``contracts/queries.py``).

Users' own SQL goes through ``analytics/user_sql.py`` instead.

Each module here maps query names to SQL; ``$name`` placeholders are bound from the
parameters ``contracts.queries.bind`` checked, never pasted into SQL text. Every declared
query must have its SQL and no SQL may go undeclared, or this module refuses to load.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import duckdb

from analytics.queries import (
    alerts,
    hosts,
    incidents,
    issues,
    network,
    overview,
    probes,
    releases,
    rollups,
    traffic,
    vitals,
)
from contracts.binding import bind, declared
from contracts.queries import QUERIES
from contracts.read_api import Result

_MODULES = (overview, issues, releases, rollups, vitals, traffic, network, probes, hosts, incidents, alerts)
SQL: dict[str, str] = {name: sql for module in _MODULES for name, sql in module.SQL.items()}

if len(SQL) != sum(len(module.SQL) for module in _MODULES):  # pragma: no cover (one module's SQL would hide another's)
    raise RuntimeError("a query has SQL in two modules")

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
