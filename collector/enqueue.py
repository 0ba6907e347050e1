"""Append accepted entries to the Redis stream; spool them locally when Redis cannot take them.

Each request hands its entry to ``Enqueuer.put`` and waits. One writer task writes
everything that arrived since its last round trip in a single pipeline, so under load a
request costs a fraction of a round trip, and when idle it costs exactly one.

When Redis fails or has not taken an entry within ``spool_after`` seconds, the entry goes
to the local spool (``contracts/spool.py``: SQLite, synced to disk) and the request is
answered as accepted; from then on new entries go to the spool too, keeping their order,
until a replay task has moved everything spooled into Redis. Only when the spool is full,
its disk fails, or there is none, does a request fail, and the caller answers 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from collector import metrics
from collector.cluster import REDIS_ERRORS, ReplicatedWriter
from contracts.spool import Spool, SpoolError
from contracts.stream import ENTRY_FIELD, EVENTS_STREAM, GROUP_FIELD, ONE_REDIS, Streams

log = logging.getLogger("vigil.collector")

#: Most entries in one pipeline; more wait for the next round trip.
MAX_PIPELINE = 512
#: Round trips to Redis under way at once: while one is answered, the next is already sent.
MAX_IN_FLIGHT = 2
SPOOL_AFTER_SECONDS = 1.0
REPLAY_EVERY_SECONDS = 0.5
SPOOLED = b"spooled"

# (stream, entry, the request waiting for it)
Item = tuple[str, bytes, "asyncio.Future[bytes]"]


class EnqueueFailed(Exception):
    """Neither Redis nor the spool took the entry; the request must not be acknowledged."""


class Enqueuer:
    def __init__(
        self,
        client: aioredis.Redis | aioredis.RedisCluster,
        spool: Spool | None = None,
        *,
        spool_after: float = SPOOL_AFTER_SECONDS,
        streams: Streams = ONE_REDIS,
        writer: ReplicatedWriter | None = None,
    ) -> None:
        self._client = client
        #: Which stream (which shard) a project's entry goes to.
        self.streams = streams
        #: On a Redis Cluster: XADDs that wait for the replicas (collector/cluster.py).
        self._writer = writer
        self._spool = spool
        self._spool_after = spool_after
        self._pending: list[Item] = []
        # Round trips under way: token → (their entries, when they were sent).
        self._inflight: dict[int, tuple[list[Item], float]] = {}
        self._round_trips = 0
        self._writes: set[asyncio.Task[None]] = set()
        self._to_spool: list[Item] = []
        self._routed: set[asyncio.Future[bytes]] = set()  # on their way to the spool
        self._wake = asyncio.Event()
        self._wake_spool = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        #: Entries in the spool (of every process sharing it) not replayed yet, as last counted or added.
        self._in_spool = 0
        #: The last spool record this process put into Redis; records up to it are deleted as soon as the disk lets us.
        self._replayed_seq = 0
        self.replayed = 0

    async def __aenter__(self) -> Enqueuer:
        self._start("writer", self._write_loop)
        self._start("watcher", self._watch_loop)
        if self._spool is not None:
            self._start("spooler", self._spool_loop)
            self._start("replayer", self._replay_loop)
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Let entries already handed over reach Redis or the spool before stopping.
        deadline = asyncio.get_running_loop().time() + self._spool_after + 1
        while (self._pending or self._to_spool) and asyncio.get_running_loop().time() < deadline:
            self._wake.set()
            self._wake_spool.set()
            await asyncio.sleep(0.01)
        self._closing = True
        for task in [*self._tasks.values(), *self._writes]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail(self._pending + self._to_spool, "collector is stopping")

    def _start(self, name: str, loop: object) -> None:
        task = asyncio.create_task(loop(), name=f"vigil-{name}")  # type: ignore[operator]
        task.add_done_callback(lambda t: self._ended(name, loop, t))
        self._tasks[name] = task

    def _ended(self, name: str, loop: object, task: asyncio.Task[None]) -> None:
        """A loop that dies of a bug is restarted; what it held is failed rather than left waiting."""
        if self._closing or task.cancelled():
            return
        log.error("enqueue %s died (%r); restarting it", name, task.exception())
        self._start(name, loop)
        self._wake.set()
        self._wake_spool.set()

    @property
    def spooled(self) -> int:
        """Entries in the spool or on their way to it, not yet in Redis; while any, new ones follow them."""
        return len(self._routed) + self._in_spool

    async def put(self, data: bytes, kind: str = EVENTS_STREAM, project_id: int = 0) -> bytes:
        """Queue one entry on the project's stream of ``kind``; returns its stream id (or ``SPOOLED``), or raises
        ``EnqueueFailed``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        item = (self.streams.for_project(kind, project_id), data, future)
        if self.spooled:
            self._send_to_spool(item)
            return await future
        self._pending.append(item)
        self._wake.set()
        return await future

    async def _watch_loop(self) -> None:
        """Spool (or, without a spool, fail) what waits on a Redis round trip older than ``spool_after``.

        One watcher instead of a timer per request: once Redis is stuck, everything waiting
        is moved at once, and from then on new entries go straight to the spool.
        """
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(0.1, self._spool_after / 4))
            now = loop.time()
            late = [batch for batch, started in self._inflight.values() if now - started >= self._spool_after]
            if not late:
                continue
            # Already sent: spooled anyway; if Redis takes them after all, analytics keeps
            # one copy of each event (by event id). Not yet sent: taken back.
            stuck, self._pending = [item for batch in late for item in batch] + self._pending, []
            stuck = [item for item in stuck if not item[2].done() and item[2] not in self._routed]
            if self._spool is None:
                self._fail(stuck, f"not queued within {self._spool_after:.0f}s")
            else:
                for item in stuck:
                    self._send_to_spool(item)

    def _send_to_spool(self, item: Item) -> None:
        self._routed.add(item[2])
        self._to_spool.append(item)
        self._wake_spool.set()

    async def _write_loop(self) -> None:
        """Send what waits, keeping up to ``MAX_IN_FLIGHT`` round trips under way (each on its own connection)."""
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending and len(self._inflight) < MAX_IN_FLIGHT:
                batch, self._pending = self._pending[:MAX_PIPELINE], self._pending[MAX_PIPELINE:]
                self._round_trips += 1
                self._inflight[self._round_trips] = (batch, loop.time())
                task = asyncio.create_task(self._write_one(self._round_trips, batch))
                self._writes.add(task)
                task.add_done_callback(self._writes.discard)

    async def _write_one(self, token: int, batch: list[Item]) -> None:
        try:
            await self._write(batch)
        except Exception:
            # A bug, not Redis: fail what it held (503) rather than leave it waiting.
            log.exception("enqueue write failed")
            self._fail(batch, "enqueue writer failed")
        finally:
            self._inflight.pop(token, None)
            self._wake.set()  # a slot is free: send what arrived meanwhile

    async def _write(self, batch: list[Item]) -> None:
        try:
            ids = await self._xadd([(stream, data) for stream, data, _ in batch])
        except REDIS_ERRORS as e:
            log.warning("enqueue of %d entries failed: %s", len(batch), e)
            if self._spool is None:
                self._fail(batch, str(e))
            else:
                for item in batch:
                    if not item[2].done():
                        self._send_to_spool(item)
            return
        for (_, _, future), entry_id in zip(batch, ids, strict=True):
            if not future.done():
                future.set_result(entry_id)

    async def _xadd(self, entries: list[tuple[str, bytes]]) -> list[bytes]:
        """One stream entry per stream for everything that arrived together; returns each entry's stream id.

        Requests that arrive while a round trip is under way share one XADD (field ``g``, a
        JSON array of their entries): one command instead of many, in Redis and here.
        """
        by_stream: dict[str, list[int]] = {}
        for n, (stream, _) in enumerate(entries):
            by_stream.setdefault(stream, []).append(n)
        commands: list[tuple[str, dict[FieldT, EncodableT]]] = []
        for stream, positions in by_stream.items():
            if len(positions) == 1:
                commands.append((stream, {ENTRY_FIELD: entries[positions[0]][1]}))
            else:
                parts = [entries[n][1] for n in positions]
                parts[0], parts[-1] = b"[" + parts[0], parts[-1] + b"]"  # brackets without copying the whole
                commands.append((stream, {GROUP_FIELD: b",".join(parts)}))
        started = time.perf_counter()
        if self._writer is not None:
            stream_ids = await self._writer.xadd(commands)
        else:
            pipe = self._client.pipeline(transaction=False)
            for stream, fields in commands:
                pipe.xadd(stream, fields)
            stream_ids = await pipe.execute()
        metrics.REDIS_SECONDS.observe(time.perf_counter() - started)
        ids: list[bytes] = [b""] * len(entries)
        for positions, entry_id in zip(by_stream.values(), stream_ids, strict=True):
            for n in positions:
                ids[n] = entry_id
        return ids

    async def _spool_loop(self) -> None:
        """Write what must be spooled in groups: one transaction (one sync to disk) for every request waiting then."""
        assert self._spool is not None
        while True:
            await self._wake_spool.wait()
            self._wake_spool.clear()
            while self._to_spool:
                batch, self._to_spool = self._to_spool, []
                try:
                    await asyncio.to_thread(self._spool.put, [(stream, data, 1) for stream, data, _ in batch])
                except SpoolError as e:  # full, or its disk failed: nothing of the batch was kept
                    log.warning("spooling %d entries failed: %s", len(batch), e)
                    self._fail(batch, str(e))
                else:
                    self._in_spool += len(batch)
                    for _, _, future in batch:
                        if not future.done():
                            future.set_result(SPOOLED)
                finally:
                    self._routed.difference_update(future for _, _, future in batch)

    async def _replay_loop(self) -> None:
        """Move spooled entries into Redis, oldest first, whichever process wrote them."""
        assert self._spool is not None
        backoff = REPLAY_EVERY_SECONDS
        while True:
            await asyncio.sleep(backoff)
            try:
                await self._replay(self._spool)
                backoff = REPLAY_EVERY_SECONDS
            except (*REDIS_ERRORS, SpoolError) as e:
                backoff = min(5.0, backoff * 2)
                log.info("spool replay waits: %s", e)
                # Count again even so: a stale count would keep sending new entries to a spool that fails.
                with contextlib.suppress(SpoolError, OSError):
                    self._in_spool = await asyncio.to_thread(self._spool.count, self._replayed_seq)

    async def _replay(self, spool: Spool) -> None:
        """Drain the spool into Redis unless another process sharing it is doing so; then count what is left.

        A record leaves the spool only after Redis took it: a crash between the two sends it
        again, and analytics keeps one copy (by event id). A delete the disk refuses (full)
        does not hold the replay up: the records replayed are remembered and deleted later.
        """
        with spool.replaying() as mine:
            while mine:
                records = await asyncio.to_thread(spool.oldest, MAX_PIPELINE, self._replayed_seq)
                if not records:
                    break
                await self._xadd([(r.topic, r.data) for r in records])
                self._replayed_seq = records[-1].seq
                self.replayed += len(records)
                log.info("replayed %d spooled entries", len(records))
                await self._forget_replayed(spool)
            if mine:
                await self._forget_replayed(spool)
        self._in_spool = await asyncio.to_thread(spool.count, self._replayed_seq)

    async def _forget_replayed(self, spool: Spool) -> None:
        try:
            await asyncio.to_thread(spool.remove_through, self._replayed_seq)
        except SpoolError as e:
            log.warning("replayed spool records are deleted later: %s", e)

    @staticmethod
    def _fail(batch: list[Item], reason: str) -> None:
        for _, _, future in batch:
            if not future.done():
                future.set_exception(EnqueueFailed(reason))
