"""DuckLake: the store several analytics writers share (``[analytics] store = "ducklake"``, docs/scaling.md).

DuckLake keeps a dataset's catalog in PostgreSQL and its rows in Parquet files under a data
path every writer reaches; several DuckDB processes, on several machines, then read and write
the same tables with transactions. DuckDB speaks it through two extensions, ``ducklake`` and
``postgres_scanner``. Vigil loads both from the files that the ``duckdb-extension-ducklake`` and
``duckdb-extension-postgres`` packages install, built for the DuckDB in ``requirements.lock``:
nothing is downloaded while Vigil runs.

What a DuckLake table lacks, and what Vigil does instead:

- No PRIMARY KEY or UNIQUE constraint: tables are created without them (``keyless``), and a row
  kept unique by one is replaced by a DELETE and an INSERT in one transaction.
- No RETURNING on INSERT or UPDATE: the rows to insert are selected first, then inserted
  (``analytics/store.py``).
- Transactions conflict by table: two that both append to a table commit side by side, but
  one that deletes or updates rows of a table another committed to since it began fails at
  commit (DuckDB's TransactionException, ``conflicted``).

Several writers store exactly once because their batches commit one at a time: every batch's
transaction also moves the lake's turn (``TURN``, one row in ``vigil_meta``), so of two
batches committed at once the second conflicts, whatever tables they touch. Its writer stores
the batch again at once (``analytics/consume.py``), in a new transaction that sees what the
first committed: the events it stored are then duplicates and left out, the issues it opened
are found, and the counts add up. The store transaction (grouping into issues included) is
serial across writers; decoding, enrichment, symbolication and fingerprinting, in each
writer's processor workers, run side by side.
"""

from __future__ import annotations

import importlib.util
import re
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import duckdb

from contracts.settings import ConfigError

#: Each extension Vigil loads: (its name in DuckDB, the package that ships it, the file's stem in that package).
EXTENSIONS = (
    ("postgres_scanner", "duckdb_extension_postgres", "postgres"),
    ("ducklake", "duckdb_extension_ducklake", "ducklake"),
)
#: ``PRIMARY KEY`` after a column's type, or a table's ``PRIMARY KEY (…)`` constraint.
_KEYS = re.compile(r",\s*PRIMARY KEY\s*\([^)]*\)|\s+PRIMARY KEY\b", re.IGNORECASE)
#: How often a writer tries to attach a lake whose catalog another writer is creating at that moment.
ATTACH_ATTEMPTS = 5
#: Moves the lake's turn: in every batch's transaction, so that batches of several writers commit one at a time.
TURN = "UPDATE vigil_meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'turn'"
#: Snapshots older than this are expired by the maintenance job, and their files deleted after as long again.
KEEP_SNAPSHOTS = "1 hour"


def extension_file(package: str, stem: str) -> Path:
    """The extension file ``package`` installed for this DuckDB (a one-line error when there is none)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f'store = "ducklake" needs the {package.replace("_", "-")} package (make setup installs it)')
    path = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
    path /= f"{stem}.duckdb_extension"
    if not path.is_file():
        raise ConfigError(f"{package.replace('_', '-')} has no extension for DuckDB {duckdb.__version__}: {path}")
    return path


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckLake's two extensions into ``con`` from their packages' files.

    DuckDB finds an extension's entry point by its file's name, and the postgres package names its
    file ``postgres``, not ``postgres_scanner``: each file is loaded through a link of the right name.
    """
    with tempfile.TemporaryDirectory(prefix="vigil-extensions-") as folder:
        for name, package, stem in EXTENSIONS:
            link = Path(folder) / f"{name}.duckdb_extension"
            link.symlink_to(extension_file(package, stem))
            con.execute(f"LOAD {quote(str(link))}")


def quote(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def attach_sql(catalog: str, data_path: Path, name: str, *, read_only: bool = False) -> str:
    """The ATTACH statement of the DuckLake with PostgreSQL ``catalog`` and Parquet files under ``data_path``.

    Without data inlining: DuckLake 0.4 (the DuckDB 1.5 extension) can keep small inserts as rows of the catalog
    rather than in files, but a writer scanning those rows while another writer changes them fails with an internal
    error that invalidates its database (seen with two writers updating ``issues``). Every change goes to Parquet
    files instead, and the maintenance job merges the small ones.
    """
    options = f"DATA_PATH {quote(str(data_path).rstrip('/') + '/')}, DATA_INLINING_ROW_LIMIT 0"
    options += ", READ_ONLY" if read_only else ""
    return f"ATTACH {quote('ducklake:postgres:' + catalog)} AS {name} ({options})"


def attach(con: duckdb.DuckDBPyConnection, catalog: str, data_path: Path, name: str, *, read_only: bool) -> None:
    """Attach the DuckLake as ``name``; writers that create a new lake at once race to make its catalog's tables:
    the ones that lose find them made on a next attempt."""
    for attempt in range(ATTACH_ATTEMPTS):
        try:
            con.execute(attach_sql(catalog, data_path, name, read_only=read_only))
            return
        except duckdb.Error as e:
            if "Failed to initialize DuckLake" not in str(e) or attempt == ATTACH_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con``'s current catalog is a DuckLake."""
    row = con.execute("SELECT type FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return row is not None and row[0] == "ducklake"


def take_turn(con: duckdb.DuckDBPyConnection) -> int:
    """Move the lake's turn in ``con``'s transaction; the turn taken (one more than the last commit's)."""
    con.execute(TURN)
    row = con.execute("SELECT CAST(value AS BIGINT) FROM vigil_meta WHERE key = 'turn'").fetchone()
    assert row is not None, "the lake has no turn: it was not opened by analytics.store.open_database"
    return int(row[0])


def conflicted(error: BaseException) -> bool:
    """Whether ``error`` is a DuckLake commit that lost to another writer's (then storing again succeeds)."""
    return isinstance(error, duckdb.TransactionException) and "conflict" in str(error).lower()


def keyless(statement: str) -> str:
    """``statement`` (a CREATE TABLE) without its PRIMARY KEY, which a DuckLake table cannot have."""
    return _KEYS.sub("", statement)


def create(con: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    """Run DDL ``statements``, without their keys when ``con`` works on a DuckLake."""
    lake = is_lake(con)
    for statement in statements:
        con.execute(keyless(statement) if lake else statement)


def redacted(catalog: str) -> str:
    """The catalog's connection string without its password, for logs and errors."""
    if "://" in catalog:
        parts = urlsplit(catalog)
        if parts.password is not None:
            host = parts.netloc.rsplit("@", 1)[1]
            return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
        return catalog
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", catalog, flags=re.IGNORECASE)


def maintain(con: duckdb.DuckDBPyConnection) -> None:
    """Fold small Parquet files together, expire old snapshots and delete the files no snapshot needs.

    Every batch a writer commits adds a file per table it touches; DuckLake's CHECKPOINT merges
    them, flushes the rows it kept inline in the catalog, and cleans up.
    """
    con.execute(f"CALL {current(con)}.set_option('expire_older_than', {quote(KEEP_SNAPSHOTS)})")
    con.execute(f"CALL {current(con)}.set_option('delete_older_than', {quote(KEEP_SNAPSHOTS)})")
    con.execute("CHECKPOINT")


def current(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT current_database()").fetchone()
    assert row is not None
    return str(row[0])
