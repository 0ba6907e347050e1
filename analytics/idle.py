"""Memory given back while nothing happens: DuckDB's cached blocks dropped once the service has been idle a while.

DuckDB keeps the blocks a query or a batch read in its buffer pool, up to its memory limit,
and gives them back only when it needs room: after a load, or after someone browsed the
dashboard, the analytics process stays as large as the busiest moment made it. Once no
read has been answered and no more than a trickle stored (``QUIET_ROWS_PER_SECOND``: a
probe agent's results go on arriving) for ``[analytics] idle_release_seconds``,
``IdleMemory``'s job lowers the limit to ``FLOOR_BYTES`` (DuckDB evicts every block it
can to fit) and sets it back at once. The next read finds its blocks in the operating
system's file cache, not in the process. It happens once per quiet spell. The process
then gives back what pyarrow's pool and the C heap hold unused (``release_process_memory``),
as each processor worker does once it has had no work for as long.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import time
from collections.abc import Callable
from datetime import datetime

import duckdb
import pyarrow as pa

log = logging.getLogger("vigil.analytics")

#: The memory limit DuckDB is briefly given to make it evict: enough for what a quiet service holds pinned.
FLOOR_BYTES = 32_000_000
#: Rows a second stored that still count as quiet: what probe agents send (results, host metrics), not a site's
#: traffic.
QUIET_ROWS_PER_SECOND = 100


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, which hands the C heap's free pages back; ``None`` on a C library without it."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    return trim


def release_process_memory() -> None:
    """Give back what this process holds unused: pyarrow's pool (mimalloc keeps freed pages) and the C heap's."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _usage(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()").fetchone()
    return int(row[0]) if row else 0


class IdleMemory:
    """Counts activity (``touch`` for each read; the stored rows are the consumer's) and releases when quiet."""

    def __init__(
        self, after_seconds: float, limit_bytes: int | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.after, self.limit_bytes, self.clock = after_seconds, limit_bytes, clock
        self.reads = 0
        self.released = 0  # how many times memory was given back (for /healthz and tests)
        self._seen: tuple[int, int] | None = None
        self._since = clock()
        self._done = False

    def touch(self) -> None:
        """A read was answered (the read API calls this for each query)."""
        self.reads += 1

    def job(self, stored: Callable[[], int]) -> Callable[[duckdb.DuckDBPyConnection, datetime], object]:
        """The consumer's job (``analytics/consume.py`` Job): ``stored`` counts the rows it has stored so far."""

        def run(con: duckdb.DuckDBPyConnection, now: datetime) -> object:
            rows, at = stored(), self.clock()
            if self._seen is None or self.reads != self._seen[1] or self._busy(rows - self._seen[0], at - self._since):
                self._seen, self._since, self._done = (rows, self.reads), at, False  # a quiet spell may start here
                return None
            if self._done or at - self._since < self.after:
                return None
            self._done = True
            return self.release(con)

        return run

    @staticmethod
    def _busy(rows: int, seconds: float) -> bool:
        """More stored than a trickle: the probe agents' results and host metrics do not end a quiet spell."""
        return rows > QUIET_ROWS_PER_SECOND * (seconds + 1)

    def release(self, con: duckdb.DuckDBPyConnection) -> int:
        """Drop DuckDB's unpinned blocks; the bytes it held before and after are logged. Returns the bytes freed."""
        before = _usage(con)
        limit = self.limit_bytes
        if limit:
            restore = f"{limit}B"
        else:  # DuckDB's own default: as DuckDB writes it
            row = con.execute("SELECT current_setting('memory_limit')").fetchone()
            restore = str(row[0]) if row else ""
        try:
            con.execute(f"SET memory_limit = '{FLOOR_BYTES}B'")
        except duckdb.Error as e:  # a read holds more than the floor pinned: next quiet spell
            log.info("idle: DuckDB could not give memory back now: %s", str(e)[:200])
            return 0
        finally:
            con.execute(f"SET memory_limit = '{restore}'")
        after = _usage(con)
        release_process_memory()
        self.released += 1
        log.info("idle: DuckDB gave back %d of %d bytes", before - after, before)
        return before - after
