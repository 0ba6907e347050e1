"""Append accepted batches to the Redis stream, pipelining concurrent requests together.

Each request hands its entry to ``Enqueuer.put`` and waits. One writer task writes
everything that arrived since its last round trip in a single pipeline, so under load a
request costs a fraction of a round trip, and when idle it costs exactly one. A request
never waits longer than ``timeout``: it then fails (503) rather than hanging, and the
writer, should it ever die, is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from collector.stream import ENTRY_FIELD, EVENTS_STREAM

log = logging.getLogger("vigil.collector")

#: Most entries in one pipeline; more wait for the next round trip.
MAX_PIPELINE = 512
PUT_TIMEOUT_SECONDS = 5.0


class EnqueueFailed(Exception):
    """Redis did not take the entry (or not in time); the request must not be acknowledged."""


class Enqueuer:
    def __init__(
        self, client: aioredis.Redis, stream: str = EVENTS_STREAM, timeout: float = PUT_TIMEOUT_SECONDS
    ) -> None:
        self._client = client
        self._stream = stream
        self._timeout = timeout
        self._pending: list[tuple[bytes, asyncio.Future[bytes]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: list[tuple[bytes, asyncio.Future[bytes]]] = []
        self._closing = False

    async def __aenter__(self) -> Enqueuer:
        self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Let entries already handed over be written (or time out) before the writer stops.
        deadline = asyncio.get_running_loop().time() + self._timeout
        while self._pending and asyncio.get_running_loop().time() < deadline:
            self._wake.set()
            await asyncio.sleep(0.01)
        self._closing = True
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._fail(self._pending, "collector is stopping")

    def _start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="vigil-enqueue")
        self._task.add_done_callback(self._writer_ended)

    def _writer_ended(self, task: asyncio.Task[None]) -> None:
        if self._closing or task.cancelled():
            return
        log.error("enqueue writer died (%r); restarting it", task.exception())
        self._fail(self._inflight, "enqueue writer failed")
        self._start()
        self._wake.set()

    async def put(self, data: bytes) -> bytes:
        """Queue one entry; returns its stream id once Redis has it, or raises ``EnqueueFailed``."""
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        item = (data, future)
        self._pending.append(item)
        self._wake.set()
        try:
            return await asyncio.wait_for(asyncio.shield(future), self._timeout)
        except TimeoutError:
            # Not yet handed to Redis: take it back, so the 503 means "not queued".
            self._pending = [p for p in self._pending if p is not item]
            raise EnqueueFailed(f"not queued within {self._timeout:.0f}s") from None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_PIPELINE], self._pending[MAX_PIPELINE:]
                self._inflight = batch
                await self._write(batch)
                self._inflight = []

    async def _write(self, batch: list[tuple[bytes, asyncio.Future[bytes]]]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for data, _ in batch:
            pipe.xadd(self._stream, {ENTRY_FIELD: data})
        try:
            ids = await pipe.execute()
        except (RedisError, OSError) as e:
            log.warning("enqueue of %d entries failed: %s", len(batch), e)
            self._fail(batch, str(e))
            return
        for (_, future), entry_id in zip(batch, ids, strict=True):
            if not future.done():
                future.set_result(entry_id)

    @staticmethod
    def _fail(batch: list[tuple[bytes, asyncio.Future[bytes]]], reason: str) -> None:
        for _, future in batch:
            if not future.done():
                future.set_exception(EnqueueFailed(reason))
