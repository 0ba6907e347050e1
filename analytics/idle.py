"""Memory given back while nothing happens: DuckDB's cached blocks dropped once the service has been idle a while.

DuckDB keeps the blocks a query or a batch read in its buffer pool, up to its memory limit,
and gives them back only when it needs room: after a load, or after someone browsed the
dashboard, the analytics process stays as large as the busiest moment made it. Once no
batch has been stored and no read answered for ``[analytics] idle_release_seconds``,
``IdleMemory``'s job lowers the limit to ``FLOOR_BYTES`` (DuckDB evicts every block it
can to fit) and sets it back at once. The next read finds its blocks in the operating
system's file cache, not in the process. It happens once per quiet spell.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

import duckdb

log = logging.getLogger("vigil.analytics")

#: The memory limit DuckDB is briefly given to make it evict: enough for what a quiet service holds pinned.
FLOOR_BYTES = 32_000_000


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
            state, at = (stored(), self.reads), self.clock()
            if state != self._seen:
                self._seen, self._since, self._done = state, at, False
                return None
            if self._done or at - self._since < self.after:
                return None
            self._done = True
            return self.release(con)

        return run

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
        self.released += 1
        log.info("idle: DuckDB gave back %d of %d bytes", before - after, before)
        return before - after
