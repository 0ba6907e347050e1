"""The enqueuer pipelines concurrent requests into few round trips, against a real Redis."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from collector.enqueue import EnqueueFailed, Enqueuer
from collector.stream import EVENTS_STREAM


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class CountingRedis(aioredis.Redis):
    """A real client that counts pipeline round trips (the edge we observe, not a mock)."""

    round_trips = 0

    def pipeline(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        CountingRedis.round_trips += 1
        return super().pipeline(*args, **kwargs)


@pytest.mark.anyio
async def test_concurrent_puts_share_round_trips_and_keep_order(redis_url):
    CountingRedis.round_trips = 0
    client = CountingRedis.from_url(redis_url)
    async with Enqueuer(client) as enqueuer:
        ids = await asyncio.gather(*(enqueuer.put(f"entry-{n}".encode()) for n in range(200)))
    entries = await client.xrange(EVENTS_STREAM)
    await client.aclose()

    assert [fields[b"e"] for _, fields in entries] == [f"entry-{n}".encode() for n in range(200)]
    assert ids == [entry_id for entry_id, _ in entries]
    assert CountingRedis.round_trips <= 3


@pytest.mark.anyio
async def test_a_put_fails_when_redis_is_unreachable(tmp_path):
    client = aioredis.Redis.from_url(f"unix://{tmp_path}/none.sock", socket_connect_timeout=0.2)
    async with Enqueuer(client) as enqueuer:
        with pytest.raises(EnqueueFailed):
            await enqueuer.put(b"lost?")
    await client.aclose()
