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

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
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
    """Counts activity (each read, through ``reading``; the stored rows are the consumer's) and releases when quiet.

    DuckDB's memory limit is the whole database's: it is lowered only while no read is running
    (``active``), and a read that starts meanwhile waits the few milliseconds until it is back.
    """

    def __init__(
        self, after_seconds: float, limit_bytes: int | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.after, self.limit_bytes, self.clock = after_seconds, limit_bytes, clock
        self.reads = 0
        self.active = 0  # reads running now
        self.released = 0  # how many times memory was given back (for /healthz and tests)
        self._gate = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._since = clock()
        self._done = False
        self._restore: str | None = None  # the limit to set back, as read before it was first lowered
        self._lowered = False  # lowered, and not yet set back (a failed restore is tried again at the next look)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Around each read of the read API: it counts as activity, and the limit is never low while it runs."""
        with self._gate:
            self.reads += 1
            self.active += 1
        try:
            yield
        finally:
            with self._gate:
                self.active -= 1

    def job(self, stored: Callable[[], int]) -> Callable[[duckdb.DuckDBPyConnection, datetime], object]:
        """The consumer's job (``analytics/consume.py`` Job): ``stored`` counts the rows it has stored so far."""

        def run(con: duckdb.DuckDBPyConnection, now: datetime) -> object:
            if self._lowered:
                self._set_back(con)
            rows, at = stored(), self.clock()
            if self._seen is None or self.reads != self._seen[1] or self._busy(rows - self._seen[0], at - self._since):
                self._seen, self._since, self._done = (rows, self.reads), at, False  # a quiet spell may start here
                return None
            if self._done or at - self._since < self.after:
                return None
            freed = self.release(con)
            self._done = freed is not None  # a read was running: look again next time
            return freed

        return run

    @staticmethod
    def _busy(rows: int, seconds: float) -> bool:
        """More stored than a trickle: the probe agents' results and host metrics do not end a quiet spell."""
        return rows > QUIET_ROWS_PER_SECOND * (seconds + 1)

    def _set_back(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"SET memory_limit = '{self._restore}'")
        self._lowered = False

    def release(self, con: duckdb.DuckDBPyConnection) -> int | None:
        """Drop DuckDB's unpinned blocks, then what the process holds unused; the bytes DuckDB held before and after
        are logged. Returns the bytes DuckDB freed, or ``None`` when a read was running (nothing done)."""
        with self._gate:
            if self.active:
                return None
            if self._restore is None:
                if self.limit_bytes:
                    self._restore = f"{self.limit_bytes}B"
                else:  # DuckDB's own default, as DuckDB writes it, read before it was ever lowered
                    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
                    self._restore = str(row[0]) if row else "80%"
            before = _usage(con)
            try:
                con.execute(f"SET memory_limit = '{FLOOR_BYTES}B'")
            except duckdb.Error as e:  # more than the floor pinned (a batch's buffers): the next quiet spell
                log.info("idle: DuckDB could not give memory back now: %s", str(e)[:200])
                return 0
            self._lowered = True
            self._set_back(con)  # raises if DuckDB refuses: logged by the consumer, tried again at the next look
            after = _usage(con)
        release_process_memory()
        self.released += 1
        log.info("idle: DuckDB gave back %d of %d bytes", before - after, before)
        return before - after
