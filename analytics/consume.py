"""The consumer loop: read Vigil's streams as group ``ingest``, commit to DuckDB, then acknowledge.

The skeleton every Vigil loop shares: a tick, an exit flag, burst mode for tests, a
heartbeat, and an ordered stop (stop reading, finish the batch in hand, commit, ack).

Delivery rules:
- An entry is acknowledged only after the transaction holding its rows has committed, so
  a crash at any point leaves it pending. A restarted consumer of the same name reads its
  own pending entries first; entries another consumer left pending for longer than
  ``claim_idle_ms`` are claimed (XAUTOCLAIM) and processed here.
- An entry that cannot be processed (undecodable, or rows the database refuses) goes to
  the dead-letter stream with the reason, alone: the rest of its batch is stored.
- Acknowledged entries are deleted from the stream, so Redis holds only what is not yet
  stored.
- An event already stored (same project and ``event_id``: a client retry, a replay after
  a crash) is not stored again.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import duckdb
import pyarrow as pa
import redis
from redis.exceptions import RedisClusterException, RedisError, ResponseError
from redis.typing import EncodableT, FieldT

from analytics import group, issues, lake, probes, rollups
from analytics.events import Rows
from analytics.issue_index import IssueIndex
from analytics.pipeline import PROCESSORS, Processor, merge, to_tables
from analytics.store import insert, rollback
from analytics.workers import Pending, Processed, ProcessorPool, Result, Work, process_entries
from contracts.stream import CONSUMER_GROUP, DEAD_LETTER_STREAM, ONE_REDIS, Streams, payloads

log = logging.getLogger("vigil.analytics")

#: The dead-letter stream keeps about this many entries, the newest (Redis trims it in whole nodes).
DEAD_LETTER_MAXLEN = 10_000
MAX_BACKOFF_SECONDS = 5.0
#: How often a batch that lost its commit to another writer's on a shared DuckLake is stored again at once.
CONFLICT_RETRIES = 50
CLAIM_EVERY_SECONDS = 10.0
#: With several shards, an idle consumer waits on one shard at a time this long, then looks at all of them again.
SHARD_BLOCK_MS = 100
#: Errors that mean "this data cannot be stored", as opposed to "the database is unwell".
DATA_ERRORS = (duckdb.DataError, duckdb.IntegrityError, duckdb.InvalidInputException, pa.ArrowException, ValueError)

# (stream, entry id, fields)
Entry = tuple[str, bytes, dict[bytes, bytes] | None]


@dataclasses.dataclass
class Job:
    """Housekeeping the consumer runs between batches, on its own connection (rollup compaction, retention)."""

    name: str
    every: float  # seconds
    run: Callable[[duckdb.DuckDBPyConnection, datetime], object]  # (connection, now as naive UTC)
    due: float = 0.0


class Consumer:
    def __init__(
        self,
        client: redis.Redis | redis.RedisCluster,
        con: duckdb.DuckDBPyConnection,
        *,
        name: str,
        batch_entries: int = 500,
        block_ms: int = 1000,
        claim_idle_ms: int = 60_000,
        processors: dict[str, Processor] | None = None,
        group: str = CONSUMER_GROUP,
        clock: Callable[[], float] = time.time,
        after_commit: Sequence[Callable[[Rows], None]] = (),
        jobs: Sequence[Job] = (),
        pool: ProcessorPool | None = None,
        new_issues_per_minute: int = 100,
        issue_cache_entries: int = 100_000,
        streams: Streams = ONE_REDIS,
    ) -> None:
        self.client, self.con = client, con
        self.name, self.batch_entries, self.block_ms, self.claim_idle_ms = name, batch_entries, block_ms, claim_idle_ms
        #: Stream → how one of its entries becomes rows.
        self.processors = processors if processors is not None else PROCESSORS
        #: The streams read, shard by shard (contracts/stream.py); each processed by its kind's processor.
        self.streams = streams
        self._shards = [streams.shard(shard, self.processors) for shard in range(streams.shards)]
        self._next_shard = 0
        self.group = group
        self.clock = clock
        #: Called with a batch's rows once they are committed (e.g. to drop replaced source maps from a cache).
        self.after_commit = list(after_commit)
        self.jobs = list(jobs)
        #: Worker processes that process entries while this thread stores; None processes here.
        self.pool = pool
        #: On a DuckLake other writers may share, every batch takes the lake's turn (analytics/lake.py).
        self.shared = lake.is_lake(con)
        self.issues = IssueIndex(
            con, cache_entries=issue_cache_entries, new_per_minute=new_issues_per_minute, shared=self.shared
        )
        self._turn: int | None = None  # the turn this writer's last commit took
        self.probes = probes.ProbeStates(con)
        self.stopping = threading.Event()
        self.last_tick = 0.0  # heartbeat: the loop turned
        self.last_ok = 0.0  # the last time Redis answered a read
        self.last_error = ""
        self.committed_entries = 0
        self.committed_rows = 0
        self.dead_entries = 0
        self.claimed_entries = 0
        self.conflicts = 0  # batches stored again after another writer's commit won
        self.commit_seconds = 0.0  # time spent in store transactions, those stored again included
        self._next_claim = 0.0

    def ensure_group(self) -> None:
        """Create the group on every stream, reading from its start, so nothing queued earlier is skipped."""
        for stream in (stream for shard in self._shards for stream in shard):
            try:
                self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
            except ResponseError as e:
                if "BUSYGROUP" not in str(e):
                    raise

    def run(self, *, burst: bool = False) -> None:
        """Consume until ``stopping`` is set; with ``burst``, return once the streams are drained."""
        own_pending = True  # after a start or a failure, re-read what this consumer holds unacked
        backoff = 0.0
        while not self.stopping.is_set():
            self.last_tick = self.clock()
            self.run_due_jobs()
            try:
                if own_pending:
                    # One batch at a time: a batch still unacknowledged would be read again.
                    self.ensure_group()
                    entries = self._claim() or self._read(own_pending=True)
                    self.last_ok = self.clock()
                    if entries:
                        self.handle(entries)
                    else:
                        own_pending = False
                elif self._stream(burst):
                    return
                backoff = 0.0
            except (duckdb.FatalException, duckdb.InternalException):
                raise  # the database is invalidated: only a new process can use it again (analytics/service.py)
            except (RedisError, RedisClusterException, OSError, duckdb.Error) as e:
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2 or 0.1)
                self.last_error = f"{type(e).__name__}: {e}"
                log.warning("consumer: %s; retrying in %.1fs", e, backoff)
                own_pending = True  # the batch in hand was not acknowledged: it is read again
                self.stopping.wait(backoff)

    def _stream(self, burst: bool) -> bool:
        """New entries, each batch processed while the one before it is stored; True once drained in burst mode.

        Returns (False) when stopping, after storing the batch in hand. A batch that brought
        source maps is stored before the next one is processed, so that one sees them.
        """
        held: tuple[list[Entry], Processed] | None = None  # processed, not yet stored
        while True:
            self.last_tick = self.clock()
            self.run_due_jobs()
            # While a batch waits to be stored, only take what is already there: never delay it by a blocking read.
            entries = [] if self.stopping.is_set() else self._claim() or self._read(False, wait=held is None)
            self.last_ok = self.clock()
            pending = self._submit(entries) if entries and not (held and _brings_maps(held[1])) else None
            if held is not None:
                self._store(*held)
            if entries and pending is None:
                pending = self._submit(entries)
            held = (entries, self._collect(pending)) if pending is not None else None
            if held is None and (burst or self.stopping.is_set()):
                return burst and not self.stopping.is_set()

    def run_due_jobs(self) -> None:
        """Run the jobs whose time has come; a failing job is logged and tried again at its next turn."""
        for job in self.jobs:
            now = self.clock()
            if now < job.due:
                continue
            job.due = now + job.every
            try:
                job.run(self.con, datetime.fromtimestamp(now, UTC).replace(tzinfo=None))
            except duckdb.Error as e:
                self.last_error = f"{job.name}: {type(e).__name__}: {e}"
                log.warning("consumer: job %s failed: %s", job.name, e)

    def _read(self, own_pending: bool, *, wait: bool = True) -> list[Entry]:
        """The next entries of one shard: each shard in turn, without waiting, then a wait on the next one."""
        if len(self._shards) == 1:
            return self._read_shard(self._shards[0], own_pending, self.block_ms if wait and not own_pending else None)
        for _ in range(len(self._shards)):
            streams, self._next_shard = self._shards[self._next_shard], (self._next_shard + 1) % len(self._shards)
            entries = self._read_shard(streams, own_pending, None)
            if entries:
                return entries
        if not wait or own_pending:
            return []
        return self._read_shard(self._shards[self._next_shard], False, min(self.block_ms, SHARD_BLOCK_MS))

    def _read_shard(self, streams: list[str], own_pending: bool, block: int | None) -> list[Entry]:
        response = self.client.xreadgroup(
            self.group,
            self.name,
            {stream: "0" if own_pending else ">" for stream in streams},
            count=self.batch_entries,
            block=block,
        )
        if not response:
            return []
        # redis-py answers a list of [stream, entries] for RESP2 and a dict for RESP3.
        pairs = [(k, v[0]) for k, v in response.items()] if isinstance(response, dict) else response
        return [
            (stream.decode() if isinstance(stream, bytes) else stream, entry_id, fields)
            for stream, items in cast(list[tuple[bytes | str, list[tuple[bytes, dict[bytes, bytes] | None]]]], pairs)
            for entry_id, fields in items
        ]

    def _claim(self) -> list[Entry]:
        """Every ``CLAIM_EVERY_SECONDS``: take over entries another consumer left pending too long."""
        now = self.clock()
        if now < self._next_claim:
            return []
        self._next_claim = now + CLAIM_EVERY_SECONDS
        claimed: list[Entry] = []
        for stream in (stream for shard in self._shards for stream in shard):
            response: Any = self.client.xautoclaim(
                stream,
                self.group,
                self.name,
                min_idle_time=self.claim_idle_ms,
                start_id="0-0",
                count=self.batch_entries,
            )
            claimed += [(stream, entry_id, fields) for entry_id, fields in response[1]]
        if claimed:
            log.info("consumer: claimed %d entries left pending by another consumer", len(claimed))
            self.claimed_entries += len(claimed)
        return claimed

    def handle(self, entries: list[Entry]) -> None:
        """Process, commit, dead-letter the unprocessable, then acknowledge and delete all of them."""
        self._store(entries, self._collect(self._submit(entries)))

    def _submit(self, entries: list[Entry]) -> Pending | list[Work]:
        """Hand the entries to the worker processes (they start at once), or keep them for this thread."""
        work = self._work(entries)
        return work if self.pool is None else self.pool.submit(work)

    def _work(self, entries: list[Entry]) -> list[Work]:
        """Each entry with the kind of its stream, which says how it is processed."""
        return [(self.streams.kind(stream), fields) for stream, _, fields in entries]

    def _collect(self, pending: Pending | list[Work]) -> Processed:
        if isinstance(pending, Pending):
            assert self.pool is not None
            return self.pool.collect(pending)
        return Processed(process_entries(self.processors, pending))

    def _store(self, entries: list[Entry], batch: Processed) -> None:
        """Commit what was processed, dead-letter the rest, then acknowledge and delete all of the entries."""
        processed, dead = _split(entries, batch.results)
        try:
            rows = self._commit_in_turn([r for _, _, r in processed], batch.columns)
        except DATA_ERRORS as e:
            # One entry's rows spoil the batch: store them one by one to find it.
            log.warning("consumer: batch refused (%s); storing its %d entries one by one", e, len(processed))
            if batch.columns:  # the workers' Arrow tables do not say which entry a row is from: process again here
                processed, dead = _split(entries, process_entries(self.processors, self._work(entries)))
            rows = 0
            for entry, j, entry_rows in processed:
                try:
                    rows += self._commit_in_turn([entry_rows])
                except DATA_ERRORS as entry_error:
                    dead.append((entry, _payload(entry, j), f"refused by the database: {entry_error}"[:1000]))
        self._acknowledge(entries, dead)
        if dead:
            log.error("consumer: %d entries moved to the dead-letter stream (%s)", len(dead), DEAD_LETTER_STREAM)
        self.committed_entries += len(entries)
        self.committed_rows += rows
        self.dead_entries += len(dead)

    def _commit_in_turn(self, processed: list[Rows], columns: dict[str, list[pa.Table]] | None = None) -> int:
        """``_commit``, stored again while another writer's commit wins (a shared DuckLake: analytics/lake.py)."""
        for attempt in range(CONFLICT_RETRIES):
            started = time.perf_counter()
            try:
                return self._commit(processed, columns)
            except duckdb.TransactionException as e:
                if not lake.conflicted(e) or attempt == CONFLICT_RETRIES - 1:
                    raise
                self.conflicts += 1
                self.stopping.wait(random.uniform(0, 0.01 * (attempt + 1)))  # the writers spread apart
            finally:
                self.commit_seconds += time.perf_counter() - started
        raise AssertionError("unreachable")

    def _commit(self, processed: list[Rows], columns: dict[str, list[pa.Table]] | None = None) -> int:
        """Group, then insert every table's rows and update the issues in one transaction; returns the rows stored.

        ``columns`` are rows already in Arrow tables (from the processor workers), added to the rows of their table.
        """
        merged = merge(processed)
        plan = None
        now = datetime.fromtimestamp(self.clock(), UTC).replace(tzinfo=None)
        # Grouping reads issues in the batch's transaction: a merge or status change made meanwhile by
        # the read API is either seen or conflicts with this batch's update (analytics/triage.py).
        self.con.begin()
        try:
            turn = self._take_turn() if self.shared else None
            tables = to_tables([merged])
            for name, parts in (columns or {}).items():
                tables[name] = pa.concat_tables([tables[name], *parts] if name in tables else parts)
            if tables.get("errors") is not None and tables["errors"].num_rows:
                tables["errors"], plan, events = group.assign(self.con, self.issues, tables["errors"], now)
            earlier = rollups.earlier_vitals(self.con, tables.get("web_vitals"))  # before the batch is in the table
            inserted = {
                name: insert(
                    self.con, name, table, rollups.returning(name) or probes.returning(name), on_lake=self.shared
                )
                for name, table in tables.items()
            }
            rollups.apply(self.con, inserted, earlier)
            self.probes.apply(self.con, inserted)
            if plan is not None:
                issues.apply(self.con, self.issues, plan, events, now)
            self.con.commit()
        except BaseException:
            rollback(self.con)
            self.probes.reload(self.con)  # its states moved ahead with the rows that were not stored
            raise
        if turn is not None:
            self._turn = turn
        if plan is not None:
            self.issues.commit(plan)
        for hook in self.after_commit:
            hook(merged)
        return sum(table.num_rows for table in inserted.values())

    def lost_agents(self, con: duckdb.DuckDBPyConnection, now: datetime) -> int:
        """The "agents lost" job; on a shared DuckLake in a turn of its own, from the states as stored."""
        if not self.shared:
            return self.probes.lost_agents(con, now)

        def refresh() -> None:
            lake.take_turn(con)
            self.probes.reload(con)
            self._turn = None  # this turn may yet be rolled back: the next batch reads everything back anyway

        return self.probes.lost_agents(con, now, refresh)

    def _take_turn(self) -> int:
        """Move the lake's turn in this transaction; when another writer committed since this one did, read back
        what it may have changed that this one keeps in memory: probe states, merges, overflow issues."""
        turn = lake.take_turn(self.con)
        if self._turn is None or turn != self._turn + 1:
            self.probes.reload(self.con)
            self.issues.others_stored(self.con)
        return turn

    def _acknowledge(self, entries: list[Entry], dead: list[tuple[Entry, bytes, str]]) -> None:
        """Dead-letter, acknowledge and delete, in one transaction per shard (a shard's keys share a cluster node)."""
        by_shard: dict[int, tuple[list[tuple[Entry, bytes, str]], dict[str, list[bytes]]]] = {}
        for item in dead:
            by_shard.setdefault(self.streams.shard_of(item[0][0]), ([], {}))[0].append(item)
        for stream, entry_id, _ in entries:
            by_shard.setdefault(self.streams.shard_of(stream), ([], {}))[1].setdefault(stream, []).append(entry_id)
        for shard, (shard_dead, by_stream) in by_shard.items():
            pipe = self.client.pipeline(transaction=True)
            for (stream, entry_id, _), data, reason in shard_dead:
                fields: dict[FieldT, EncodableT] = {b"id": entry_id, b"stream": stream, b"reason": reason, b"e": data}
                pipe.xadd(
                    self.streams.name(DEAD_LETTER_STREAM, shard), fields, maxlen=DEAD_LETTER_MAXLEN, approximate=True
                )
            for stream, ids in by_stream.items():
                pipe.xack(stream, self.group, *ids)
                pipe.xdel(stream, *ids)
            pipe.execute()


def _split(
    entries: list[Entry], results: list[Result]
) -> tuple[list[tuple[Entry, int, Rows]], list[tuple[Entry, bytes, str]]]:
    """The processed entries (entry, payload index, rows), and the dead ones with their payload and reason."""
    processed: list[tuple[Entry, int, Rows]] = []
    dead: list[tuple[Entry, bytes, str]] = []
    for n, j, entry_rows, reason in results:
        if entry_rows is None:
            dead.append((entries[n], _payload(entries[n], j), reason))
        else:
            processed.append((entries[n], j, entry_rows))
    return processed, dead


def _payload(entry: Entry, j: int) -> bytes:
    """The ``j``-th payload of an entry, for the dead-letter stream (empty when the entry did not decode)."""
    return b"" if j < 0 else payloads(entry[2])[j]


def _brings_maps(batch: Processed) -> bool:
    return any(rows and rows.get("source_maps") for _, _, rows, _ in batch.results)
