"""Every event ends in exactly one counted outcome: accepted, or refused and why.

Counts go two ways: to Prometheus counters (``GET /metrics``), and every few seconds, as
one entry on the ``vigil:outcomes`` stream, to analytics, which keeps them in the
``outcomes`` table so what was dropped stays visible next to what was stored.

Refusals decided before a body is read (an unknown key, a rate-limited address, a
malformed body) are counted per request, since their events are not known; the rest
per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter

import redis.asyncio as aioredis

from collector import metrics
from collector.cluster import REDIS_ERRORS
from contracts.stream import ENTRY_FIELD, ONE_REDIS, OUTCOMES_STREAM, OutcomeBatch, OutcomeRow, Streams, encode_record

log = logging.getLogger("vigil.collector")

FLUSH_EVERY_SECONDS = 10.0


class Outcomes:
    def __init__(
        self,
        client: aioredis.Redis | aioredis.RedisCluster,
        every: float = FLUSH_EVERY_SECONDS,
        streams: Streams = ONE_REDIS,
    ) -> None:
        self.client = client
        self.every = every
        self.streams = streams
        self.collector = f"collector-{secrets.token_hex(4)}"
        self._counts: Counter[tuple[int, str, str, str, str]] = Counter()
        self._since = time.time_ns() // 1_000_000
        self._seq = 0
        self._unsent: OutcomeBatch | None = None

    def count(self, project_id: int, project: str, outcome: str, reason: str, n: int = 1, unit: str = "event") -> None:
        if n <= 0:
            return
        self._counts[(project_id, project, outcome, reason, unit)] += n
        metrics.add(metrics.OUTCOMES, (project or "-", outcome, reason, unit), n)

    async def flush(self) -> None:
        """Send what was counted since the last flush; a batch that failed is sent again first, unchanged.

        A failed XADD may still have reached Redis (the answer was lost): the batch is retried
        with the same id and window, and analytics keeps one copy of it (by id and window), so
        no count is added twice. What is counted meanwhile goes into the next batch.
        """
        if self._unsent is not None:
            if not await self._send(self._unsent):
                return
            self._unsent = None
        if not self._counts:
            return
        now = time.time_ns() // 1_000_000
        counts, self._counts = self._counts, Counter()
        self._seq += 1
        rows = [OutcomeRow(p, name, o, r, u, c) for (p, name, o, r, u), c in counts.items()]
        batch = OutcomeBatch(f"{self.collector}-{self._seq}", self.collector, self._since, now, rows)
        self._since = now
        if not await self._send(batch):
            self._unsent = batch

    async def _send(self, batch: OutcomeBatch) -> bool:
        try:
            # Counts of many projects: the batches take the shards in turn.
            stream = self.streams.name(OUTCOMES_STREAM, self._seq % self.streams.shards)
            await self.client.xadd(stream, {ENTRY_FIELD: encode_record(batch)})
        except REDIS_ERRORS as e:
            log.info("outcomes batch %s is sent again next time: %s", batch.id, e)
            return False
        return True

    async def run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.every)
                await self.flush()
        finally:
            with contextlib.suppress(*REDIS_ERRORS):
                await self.flush()
