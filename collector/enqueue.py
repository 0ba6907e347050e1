"""Append accepted batches to the Redis stream, pipelining concurrent requests together.

Each request hands its entry to ``Enqueuer.put`` and waits. One task writes everything
that arrived since its last round trip in a single pipeline, so under load a request
costs a fraction of a round trip, and when idle it costs exactly one.
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


class EnqueueFailed(Exception):
    """Redis did not take the entry; the request must not be acknowledged."""


class Enqueuer:
    def __init__(self, client: aioredis.Redis, stream: str = EVENTS_STREAM) -> None:
        self._client = client
        self._stream = stream
        self._pending: list[tuple[bytes, asyncio.Future[bytes]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Enqueuer:
        self._task = asyncio.create_task(self._run(), name="vigil-enqueue")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        # Let entries already handed over be written before the writer stops.
        while self._pending:
            self._wake.set()
            await asyncio.sleep(0.01)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def put(self, data: bytes) -> bytes:
        """Queue one entry; returns its stream id once Redis has it, or raises ``EnqueueFailed``."""
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending.append((data, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_PIPELINE], self._pending[MAX_PIPELINE:]
                await self._write(batch)

    async def _write(self, batch: list[tuple[bytes, asyncio.Future[bytes]]]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for data, _ in batch:
            pipe.xadd(self._stream, {ENTRY_FIELD: data})
        try:
            ids = await pipe.execute()
        except (RedisError, OSError) as e:
            log.warning("enqueue of %d entries failed: %s", len(batch), e)
            for _, future in batch:
                if not future.done():
                    future.set_exception(EnqueueFailed(str(e)))
            return
        for (_, future), entry_id in zip(batch, ids, strict=True):
            if not future.done():
                future.set_result(entry_id)
