"""How far analytics is behind: the stream's length, checked in the background.

Analytics deletes what it has stored, so the stream's length is the backlog. When it is
over ``max_backlog`` the collector refuses new requests with 503 and ``Retry-After``
rather than let Redis memory grow without bound; it checks once a second, never per
request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("vigil.collector")

CHECK_EVERY_SECONDS = 1.0


class Backlog:
    def __init__(self, client: aioredis.Redis, stream: str, limit: int) -> None:
        self.client, self.stream, self.limit = client, stream, limit
        self.length = 0

    @property
    def over(self) -> bool:
        return self.length > self.limit

    async def check(self) -> None:
        was_over = self.over
        self.length = int(await self.client.xlen(self.stream))
        if self.over != was_over:
            log.warning(
                "stream backlog %d is %s its bound %d", self.length, "over" if self.over else "back under", self.limit
            )

    async def watch(self) -> None:
        while True:
            # Redis away: the spool takes over, and the length stays as last seen.
            with contextlib.suppress(RedisError, OSError):
                await self.check()
            await asyncio.sleep(CHECK_EVERY_SECONDS)
