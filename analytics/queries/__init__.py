"""Named queries: the only reads the network may ask for (besides the token-guarded ``vigil sql``).

A query declares its parameters with types and bounds; a request's parameters are checked
against them and bound as SQL parameters, never pasted into SQL text.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from analytics.queries import issues, overview, probes, rollups
from analytics.queries.spec import NamedQuery

INTEGER = re.compile(r"-?[0-9]{1,12}")


class QueryError(ValueError):
    """Unknown query or bad parameter; the message is one line for a 400."""


@dataclasses.dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False


REGISTRY: dict[str, NamedQuery] = {q.name: q for module in (overview, issues, rollups, probes) for q in module.QUERIES}


def _parse_time(name: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise QueryError(f"{name}: expected an ISO-8601 time, got {raw[:40]!r}") from None
    return value


def bind(query: NamedQuery, raw: Mapping[str, str], now: datetime | None = None) -> dict[str, Any]:
    """Check ``raw`` request parameters against the query's declaration; returns SQL parameters."""
    unknown = set(raw) - {p.name for p in query.params}
    if unknown:
        raise QueryError(f"{query.name}: unknown parameter {sorted(unknown)[0]!r}")
    now = now or datetime.now(UTC).replace(tzinfo=None)
    values: dict[str, Any] = {}
    for p in query.params:
        text = raw.get(p.name)
        if text is None or text == "":
            if p.kind == "time":
                values[p.name] = now - timedelta(hours=1) if p.name == "since" else now
            else:
                values[p.name] = p.default
            continue
        if len(text) > 200:
            raise QueryError(f"{p.name}: longer than 200 characters")
        if p.kind == "time":
            values[p.name] = _parse_time(p.name, text)
        elif p.kind == "int":
            if not INTEGER.fullmatch(text):
                raise QueryError(f"{p.name}: expected an integer, got {text[:40]!r}")
            number = int(text)
            if not p.minimum <= number <= p.maximum:
                raise QueryError(f"{p.name}: must be between {p.minimum} and {p.maximum}")
            values[p.name] = number
        else:
            values[p.name] = text
    return values


def run_query(con: duckdb.DuckDBPyConnection, name: str, raw: Mapping[str, str], now: datetime | None = None) -> Result:
    """Run the named query with checked parameters on ``con`` (a cursor of the caller's thread)."""
    query = REGISTRY.get(name)
    if query is None:
        raise QueryError(f"unknown query {name[:60]!r}")
    relation = con.execute(query.sql, bind(query, raw, now))
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
