"""Per-entry processing in worker processes, in front of the one DuckDB writer.

DuckDB lets one process write, so storing stays in the consumer's thread; what comes
before it (decoding, user agent, filters, scrubbing, stack parsing, symbolication,
fingerprint, rows) is pure CPU work per entry and spreads over processes:

    consumer thread:  read k+1 → hand k+1 to the workers → commit k, ack k → collect k+1 → …
    workers:                      process their share of k+1 ─────────────→

Each worker holds a pipe to the consumer. A batch is cut into one slice per worker; a
worker answers its slice with one result per entry (rows, or the reason it cannot be
processed), so the consumer dead-letters exactly as it does when it processes alone.

A worker has no database: when its source-map cache misses, it asks the consumer over
the same pipe, and the consumer answers from its connection while it collects. When a
batch brings new source maps, the consumer tells every worker which cached maps to forget
before it hands out the next batch.

A worker that dies (killed, out of memory), or does not answer within ``timeout`` seconds
(stopped, stuck), is killed and started again, and its slice is processed in the
consumer's thread instead: nothing is lost and ingest never waits on it for longer. Workers exit
on their own when the consumer's end of the pipe closes, so they never outlive the
service, even when it is killed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import multiprocessing.connection
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa

from analytics.enrich.maps import MapFiles
from analytics.enrich.symbolicate import MapLoader, SourceMapCache
from analytics.events import EventPipeline, Rows
from analytics.idle import release_process_memory
from analytics.pipeline import Processor, processors, to_tables
from analytics.project_settings import ProjectSettingsRegistry
from contracts.stream import payloads

log = logging.getLogger("vigil.analytics")

# What the consumer needs of one read entry: its stream and its fields.
Work = tuple[str, dict[bytes, bytes] | None]
# One result per payload of an entry: (entry index, payload index, rows or None, reason or "").
# Payload index -1 means the entry's fields did not decode at all.
Result = tuple[int, int, Rows | None, str]

START_TIMEOUT_SECONDS = 30.0
#: Tables the consumer needs as Python rows when it stores them: a stored source map makes
#: caches forget the one it replaces. A worker hands the rows of every other table over as
#: one Arrow table per slice: cheaper to send than rows, and the conversion is then done
#: beside the writer, not by it. Errors too: the consumer groups them from their columns.
ROW_TABLES = frozenset({"source_maps"})


@dataclasses.dataclass
class Processed:
    """A batch's results, entry by entry, and the rows the workers already turned into Arrow tables."""

    results: list[Result]
    columns: dict[str, list[pa.Table]] = dataclasses.field(default_factory=dict)  # not in ``results``


def columnar(results: list[Result]) -> tuple[list[Result], dict[str, pa.Table]]:
    """The results without the rows of tables outside ``ROW_TABLES``, and those rows as one Arrow table per table.

    If a value does not convert, everything stays as rows: the consumer then finds the
    entry at fault as it does when the database refuses a batch.
    """
    moved: dict[str, list[tuple[Any, ...]]] = {}
    kept: list[Result] = []
    for n, j, rows, reason in results:
        if rows is not None:
            for table, table_rows in rows.items():
                if table not in ROW_TABLES:
                    moved.setdefault(table, []).extend(table_rows)
            rows = {table: table_rows for table, table_rows in rows.items() if table in ROW_TABLES}
        kept.append((n, j, rows, reason))
    try:
        return kept, to_tables([moved])
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return results, {}


def process_entries(procs: dict[str, Processor], work: Sequence[Work], first: int = 0) -> list[Result]:
    """Each entry's payloads through its stream's processor; a failure is that payload's reason, never a raise."""
    results: list[Result] = []
    for n, (stream, fields) in enumerate(work, start=first):
        try:
            datas = payloads(fields)
        except (KeyError, msgspec.DecodeError):
            results.append((n, -1, None, "entry has neither an 'e' nor a valid 'g' field"))
            continue
        for j, data in enumerate(datas):
            try:
                results.append((n, j, procs[stream](data), ""))
            except msgspec.DecodeError as e:
                results.append((n, j, None, f"undecodable entry: {e}"[:1000]))
            except Exception as e:  # a bad entry must not stop the others
                results.append((n, j, None, f"processing failed: {type(e).__name__}: {e}"[:1000]))
    return results


@dataclasses.dataclass(frozen=True)
class WorkerSetup:
    """What a worker process builds its processors from (sent to it at start; must pickle)."""

    data_dir: Path
    source_map_cache_bytes: int
    #: With no work for this long, a worker gives back the memory it holds unused (0: never).
    idle_release_seconds: float = 0.0


def _worker(conn: multiprocessing.connection.Connection, setup: WorkerSetup) -> None:
    """A worker's loop: slices in, results out, until the consumer closes its end."""
    # Ctrl-C reaches the whole process group; the service stops its workers itself, in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def ask_for_map(release_key: str, url: str) -> MapFiles | None:
        conn.send(("map", release_key, url))
        answer: MapFiles | None = conn.recv()
        return answer

    projects = ProjectSettingsRegistry(setup.data_dir)
    cache = SourceMapCache(ask_for_map, max_bytes=setup.source_map_cache_bytes)
    procs = processors(EventPipeline(projects.get, cache))
    conn.send(("ready",))
    worked = False  # since memory was last given back
    while True:
        try:
            if worked and setup.idle_release_seconds and not conn.poll(setup.idle_release_seconds):
                release_process_memory()  # a quiet spell: what the last batches' Arrow tables and rows left
                worked = False
                continue
            message = conn.recv()
        except (EOFError, OSError):
            return  # the consumer is gone
        worked = True
        if message[0] == "work":
            projects.reload()
            conn.send(("done", *columnar(process_entries(procs, message[2], message[1]))))
        elif message[0] == "forget":
            for release_key, url in message[1]:
                cache.invalidate(release_key, url)
        else:
            return


class _Worker:
    def __init__(self, context: Any, setup: WorkerSetup, number: int) -> None:
        self.conn, child = multiprocessing.Pipe(duplex=True)
        self.process = context.Process(
            target=_worker, args=(child, setup), name=f"vigil-processor-{number}", daemon=True
        )
        self.process.start()
        child.close()  # only the worker holds that end: when the worker dies, recv here raises EOFError

    def wait_ready(self) -> None:
        if not self.conn.poll(START_TIMEOUT_SECONDS) or self.conn.recv() != ("ready",):
            raise RuntimeError(f"processor worker {self.process.name} did not start")

    def stop(self, *, kill: bool = False) -> None:
        """Ask it to stop and wait a little; ``kill`` ends it at once (it does not answer)."""
        if not kill:
            with contextlib.suppress(OSError):
                self.conn.send(("stop",))
        self.conn.close()
        if not kill:
            self.process.join(5.0)
        if self.process.is_alive():
            self.process.kill()  # SIGKILL ends a stopped (SIGSTOP) process too
            self.process.join(5.0)


@dataclasses.dataclass
class Pending:
    """A batch handed to the workers: which slice each one holds."""

    work: list[Work]
    slices: list[tuple[_Worker, int, int]]  # (worker, first entry index, end)


class ProcessorPool:
    """``count`` worker processes processing slices of a batch; used from one thread (the consumer's)."""

    def __init__(
        self,
        count: int,
        setup: WorkerSetup,
        *,
        load_map: MapLoader,
        inline: Callable[[], dict[str, Processor]],
        timeout: float = 30.0,
    ) -> None:
        if count < 1:
            raise ValueError("a processor pool needs at least one worker")
        # Spawned, not forked: the service has threads (the read API, the consumer) that a fork would copy mid-step.
        self._context = multiprocessing.get_context("spawn")
        self.setup, self.load_map = setup, load_map
        self._inline = inline  # the consumer's own processors, for a slice whose worker died
        self.timeout = timeout  # the longest a worker may take over its slice before it is given up on
        self.restarts = 0
        self._outstanding: Pending | None = None  # handed out, not collected yet
        self.workers = [_Worker(self._context, setup, n) for n in range(count)]
        for worker in self.workers:
            worker.wait_ready()

    def submit(self, work: list[Work]) -> Pending:
        """Hand out one slice per worker (fewer when the batch is small); returns at once.

        A batch handed out before and never collected (the consumer gave it up on a Redis
        error; its entries stay pending and are read again) is collected first and its
        results dropped, so they can never be taken for this batch's.
        """
        if self._outstanding is not None:
            self.collect(self._outstanding)
        size = -(-len(work) // len(self.workers)) or 1
        slices = []
        for worker, first in zip(self.workers, range(0, len(work), size), strict=False):
            end = min(first + size, len(work))
            with contextlib.suppress(OSError):  # a dead worker: collect finds out and processes the slice here
                worker.conn.send(("work", first, work[first:end]))
            slices.append((worker, first, end))
        self._outstanding = Pending(work, slices)
        return self._outstanding

    def collect(self, pending: Pending) -> Processed:
        """Every slice's results in entry order, answering the workers' source-map questions meanwhile.

        If answering a question fails (the database is unwell), the workers are started
        afresh, so none is left waiting for its answer, and the error propagates: the
        consumer retries the batch, which is not acknowledged.
        """
        self._outstanding = None
        processed = Processed([])
        try:
            for worker, first, end in pending.slices:
                results, columns = self._collect_slice(worker, pending.work, first, end)
                processed.results += results
                for table, part in columns.items():
                    processed.columns.setdefault(table, []).append(part)
        except BaseException:
            for worker in list(self.workers):
                self._restart(worker)
            raise
        return processed

    def forget(self, maps: Iterable[tuple[str, str]]) -> None:
        """Drop these (release key, URL) maps from every worker's cache, before the next batch."""
        keys = list(maps)
        if keys:
            for worker in self.workers:
                with contextlib.suppress(OSError):  # a dead worker starts again with an empty cache
                    worker.conn.send(("forget", keys))

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()

    def _collect_slice(
        self, worker: _Worker, work: list[Work], first: int, end: int
    ) -> tuple[list[Result], dict[str, pa.Table]]:
        deadline = time.monotonic() + self.timeout
        stuck = False
        try:
            while True:
                if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                    stuck = True
                    break
                message = worker.conn.recv()
                if message[0] == "map":
                    worker.conn.send(self.load_map(message[1], message[2]))
                elif message[0] == "done":
                    done: tuple[list[Result], dict[str, pa.Table]] = message[1], message[2]
                    return done
        except (EOFError, OSError):
            pass
        name, code = worker.process.name, worker.process.exitcode
        if stuck:
            log.error("processor worker %s gave no answer in %.0f s; killing and restarting it, its slice processed "
                      "here", name, self.timeout)  # fmt: skip
        else:
            log.error("processor worker %s died (exit code %s); restarting it, its slice processed here", name, code)
        self._restart(worker, kill=stuck)
        return process_entries(self._inline(), work[first:end], first), {}

    def _restart(self, worker: _Worker, *, kill: bool = False) -> None:
        worker.stop(kill=kill)
        number = self.workers.index(worker)
        self.workers[number] = _Worker(self._context, self.setup, number)
        self.workers[number].wait_ready()
        self.restarts += 1
