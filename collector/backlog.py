"""How far analytics is behind, in entries and in bytes, checked in the background.

Analytics deletes what it has stored, so the stream's length is the backlog, and the
memory Redis uses is mostly the streams waiting for it. When either is over its bound
(``max_backlog`` entries, ``max_backlog_bytes``) the collector refuses new requests with
503 and ``Retry-After`` rather than let Redis memory grow without bound; it checks once a
second, never per request. ``vigil up`` gives its redis-server a ``maxmemory`` above the
byte bound (``redis_maxmemory``), so Redis itself never has to refuse a write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis

from collector.cluster import REDIS_ERRORS

log = logging.getLogger("vigil.collector")

CHECK_EVERY_SECONDS = 1.0


#: Redis memory beyond the backlog's byte bound: what arrives within one check, and Redis's own.
REDIS_HEADROOM_BYTES = 256_000_000


def redis_maxmemory(max_backlog_bytes: int) -> int:
    """The ``maxmemory`` for a Redis whose collectors refuse new entries past ``max_backlog_bytes``."""
    return max_backlog_bytes + REDIS_HEADROOM_BYTES


class Backlog:
    """The entries waiting in ``streams`` (every shard's events), and the memory of the fullest Redis node."""

    def __init__(
        self, client: aioredis.Redis | aioredis.RedisCluster, streams: list[str], limit: int, limit_bytes: int = 0
    ) -> None:
        self.client, self.streams, self.limit, self.limit_bytes = client, streams, limit, limit_bytes
        self.length = 0
        self.bytes = 0

    @property
    def over(self) -> bool:
        return self.length > self.limit or (self.limit_bytes > 0 and self.bytes > self.limit_bytes)

    async def check(self) -> None:
        was_over = self.over
        if isinstance(self.client, aioredis.RedisCluster):
            lengths = await asyncio.gather(*(self.client.xlen(stream) for stream in self.streams))
            nodes = await self.client.info("memory", target_nodes=aioredis.RedisCluster.PRIMARIES)
            # One answer per primary, by node name; a cluster of one primary answers its INFO alone.
            infos = list(nodes.values()) if all(isinstance(v, dict) for v in nodes.values()) else [nodes]
            self.length = sum(int(n) for n in lengths)
            self.bytes = max((int(info.get("used_memory", 0)) for info in infos), default=0)
        else:
            pipe = self.client.pipeline(transaction=False)
            for stream in self.streams:
                pipe.xlen(stream)
            pipe.info("memory")
            *lengths, memory = await pipe.execute()
            self.length, self.bytes = sum(int(n) for n in lengths), int(memory.get("used_memory", 0))
        if self.over != was_over:
            log.warning(
                "backlog of %d entries, Redis using %d bytes: %s its bounds (%d entries, %d bytes)",
                self.length, self.bytes, "over" if self.over else "back under", self.limit, self.limit_bytes,
            )  # fmt: skip

    async def watch(self) -> None:
        while True:
            # Redis away: the spool takes over, and the length stays as last seen.
            with contextlib.suppress(*REDIS_ERRORS):
                await self.check()
            await asyncio.sleep(CHECK_EVERY_SECONDS)
