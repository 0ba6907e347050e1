"""User SQL (``vigil sql``, ``POST /v1/sql``): one SELECT over Vigil's tables, and nothing else.

Three fences, each enough alone for what it guards:

1. **The statement.** DuckDB's own parser gives its whole tree (``json_serialize_sql``), and
   every node is checked: only SELECT query nodes (a ``DELETE … RETURNING`` inside a CTE is
   refused), tables only from Vigil's catalog and ``information_schema`` (or CTEs of the
   statement), table functions only from ``TABLE_FUNCTIONS``, no function with an effect
   (``nextval``, ``checkpoint``, ``query`` …).
2. **The database.** ``lock_down`` turns off every file, URL and extension access of the
   DuckDB instance once its file is attached, and locks its configuration: even a
   statement the first fence let through by mistake cannot read ``vigil.toml``. Two
   settings stay changeable, for the service's own use: ``operator_memory_limit`` (the
   third fence) and ``memory_limit`` (lowered a moment when idle, ``analytics/idle.py``);
   for those the first fence stands alone (no SELECT can set anything).
3. **The run.** On a cursor of its own, with ``operator_memory_limit`` (sorts and hash
   tables past it spill to disk instead of taking the writer's memory), interrupted after
   ``timeout`` seconds, and the answer cut at ``max_rows`` rows and ``max_bytes`` bytes.

A refusal raises ``QueryError`` (``NotReadOnly`` for the first fence) with one line: the
read API answers 400, ``vigil sql`` exits 2.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import duckdb
import msgspec

from analytics.store import CATALOG, Store
from contracts.queries import QueryError
from contracts.read_api import Result

if TYPE_CHECKING:
    from analytics.settings import AnalyticsSettings

#: Table functions a SELECT may call: they compute, they read nothing.
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
#: Scalar functions with an effect on the database or the session.
EFFECTFUL = frozenset({"nextval", "currval", "setseed", "checkpoint", "force_checkpoint", "query", "query_table"})
#: Query nodes that only read.
READING_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
SCHEMAS = frozenset({"", "main", "information_schema"})
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Rows fetched at a time while the answer is checked against its bounds.
FETCH_ROWS = 500
#: Settings changed per cursor even once the configuration is locked.
CURSOR_SETTINGS = ("operator_memory_limit",)
#: Settings the service itself changes once the configuration is locked: the memory limit, lowered for a moment to
#: give cached blocks back when idle (``analytics/idle.py``). User SQL cannot: it may only read (``READING_NODES``).
SERVICE_SETTINGS = ("memory_limit",)


class NotReadOnly(QueryError):
    """User SQL that does more than read Vigil's tables."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """How far one user query may go (``[analytics] sql_*`` settings)."""

    timeout: float = 30.0
    max_rows: int = 10_000
    max_bytes: int = 10_000_000
    memory_bytes: int = 256_000_000

    @classmethod
    def of(cls, settings: AnalyticsSettings) -> Limits:
        return cls(
            settings.sql_timeout_seconds, settings.sql_max_rows, settings.sql_max_bytes, settings.sql_memory_bytes
        )


DEFAULT_LIMITS = Limits()


def _settings(names: tuple[str, ...]) -> list[str]:
    """The ones of ``names`` this DuckDB has: ``operator_memory_limit`` is new in DuckDB 2.0, and the 1.5 series
    Vigil runs on (for DuckLake's extensions) bounds a query only by the instance's ``memory_limit``."""
    return [name for name in names if name in _known_settings()]


@functools.cache
def _known_settings() -> frozenset[str]:
    """The settings of this DuckDB, asked once of an empty in-memory database (not per query)."""
    with duckdb.connect() as con:
        return frozenset(name for (name,) in con.execute("SELECT name FROM duckdb_settings()").fetchall())


def lock_down(con: duckdb.DuckDBPyConnection, store: Store | None = None) -> None:
    """No file, URL or extension access for this DuckDB instance from now on, and no changing that.

    Call it once the store is attached: DuckDB refuses to turn external access back on. A DuckLake's
    Parquet files stay reachable (the folder is allowed before the rest is closed), and its catalog
    connection, opened at attach, stays open.
    """
    if store is not None and store.lake:
        con.execute("SET allowed_directories = $folders", {"folders": [str(store.path).rstrip("/") + "/"]})
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute(f"SET allowed_configs = {_settings((*CURSOR_SETTINGS, *SERVICE_SETTINGS))!r}")
    con.execute("SET lock_configuration = true")


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        """SELECT table_name FROM duckdb_tables() WHERE database_name = $db AND schema_name = 'main'
           UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = $db AND NOT internal""",
        {"db": CATALOG},
    ).fetchall()
    return {name.lower() for (name,) in rows}


def check(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse ``sql`` unless it is one SELECT that only reads Vigil's tables (raises ``NotReadOnly``)."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as e:
        raise QueryError(f"SQL error: {_line(e)}") from None
    if len(statements) != 1:
        raise NotReadOnly("exactly one statement, please")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise NotReadOnly(f"only SELECT is allowed here, not {statements[0].type.name}")
    (serialized,) = con.execute("SELECT json_serialize_sql($sql)", {"sql": sql}).fetchone() or ("",)
    tree = json.loads(serialized)
    if tree.get("error"):
        raise NotReadOnly(f"only a plain SELECT is allowed here: {tree.get('error_message', 'not serializable')}")
    nodes = list(_nodes(tree["statements"]))
    ctes = {
        str(entry.get("key", "")).lower()
        for node in nodes
        for entry in (node.get("cte_map") or {}).get("map", [])
        if IDENTIFIER.fullmatch(str(entry.get("key", "")))
    }
    tables: set[str] | None = None
    for node in nodes:
        kind = node.get("type")
        if isinstance(kind, str) and kind.endswith("_NODE") and kind not in READING_NODES:
            raise NotReadOnly(f"only reading is allowed here, not {kind.removesuffix('_NODE').replace('_', ' ')}")
        if kind == "BASE_TABLE":
            catalog, schema = node.get("catalog_name", ""), node.get("schema_name", "")
            name = str(node.get("table_name", ""))
            if catalog not in ("", CATALOG) or schema not in SCHEMAS:
                raise NotReadOnly(
                    f"only Vigil's tables can be read, not {'.'.join(filter(None, (catalog, schema, name)))}"
                )
            if schema == "information_schema" or (not catalog and not schema and name.lower() in ctes):
                continue
            tables = _tables(con) if tables is None else tables
            if name.lower() not in tables:
                raise NotReadOnly(f"no table {name[:80]!r}: vigil sql reads Vigil's tables (docs/schema.md)")
        elif kind == "TABLE_FUNCTION":
            function = str((node.get("function") or {}).get("function_name", "")).lower()
            if function not in TABLE_FUNCTIONS:
                raise NotReadOnly(f"the table function {function[:60]}() is not allowed here")
        elif node.get("class") == "FUNCTION" and str(node.get("function_name", "")).lower() in EFFECTFUL:
            raise NotReadOnly(f"the function {node['function_name']}() is not allowed here")


def run(con: duckdb.DuckDBPyConnection, sql: str, limits: Limits = DEFAULT_LIMITS) -> Result:
    """Check ``sql`` and run it on ``con`` (a cursor of the caller's own) within ``limits``."""
    check(con, sql)
    if _settings(CURSOR_SETTINGS):
        con.execute(f"SET operator_memory_limit = '{int(limits.memory_bytes)}B'")
    timer = threading.Timer(limits.timeout, con.interrupt)
    timer.start()
    kept: list[list[Any]] = []
    size, truncated = 0, False
    try:
        relation = con.execute(sql)
        # In small chunks, counting bytes as they come: never more than a chunk past the bounds in memory.
        while not truncated:
            chunk = relation.fetchmany(FETCH_ROWS)
            if not chunk:
                break
            for row in chunk:
                size += len(msgspec.json.encode(row, enc_hook=str))
                if len(kept) == limits.max_rows or size > limits.max_bytes:
                    truncated = True
                    break
                kept.append(list(row))
    except duckdb.InterruptException:
        raise QueryError(f"the query ran longer than {limits.timeout:g} s; narrow it (WHERE, LIMIT)") from None
    except duckdb.Error as e:
        raise QueryError(f"SQL error: {_line(e)}") from None
    finally:
        timer.cancel()
    columns = [d[0] for d in relation.description or []]
    return Result(columns, kept, truncated=truncated)


def _line(error: Exception) -> str:
    return str(error).splitlines()[0][:300]
