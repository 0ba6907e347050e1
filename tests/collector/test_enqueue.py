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


class BrokenOnceRedis(aioredis.Redis):
    """A real client whose first pipeline blows up with a bug-like error (not a Redis error)."""

    broken = True

    def pipeline(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if BrokenOnceRedis.broken:
            BrokenOnceRedis.broken = False
            raise RuntimeError("a bug in the writer")
        return super().pipeline(*args, **kwargs)


@pytest.mark.anyio
async def test_a_writer_that_dies_is_restarted_and_the_next_put_works(redis_url):
    client = BrokenOnceRedis.from_url(redis_url)
    async with Enqueuer(client, timeout=5.0) as enqueuer:
        with pytest.raises(EnqueueFailed, match="enqueue writer failed"):
            await enqueuer.put(b"first")
        assert await enqueuer.put(b"second")
    assert [fields[b"e"] for _, fields in await client.xrange(EVENTS_STREAM)] == [b"second"]
    await client.aclose()


@pytest.mark.anyio
async def test_a_put_gives_up_after_its_timeout_when_redis_hangs(redis_server_process):
    client = aioredis.Redis.from_url(redis_server_process.url)
    await client.ping()
    redis_server_process.freeze()
    try:
        async with Enqueuer(client, timeout=0.5) as enqueuer:
            with pytest.raises(EnqueueFailed, match="not queued within"):
                await enqueuer.put(b"stuck")
    finally:
        redis_server_process.thaw()
    await client.aclose()
