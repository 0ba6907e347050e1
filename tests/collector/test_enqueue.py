"""The enqueuer pipelines concurrent requests into few round trips, against a real Redis."""

from __future__ import annotations

import asyncio
import zlib

import pytest
import redis.asyncio as aioredis

from collector.enqueue import SPOOLED, EnqueueFailed, Enqueuer
from collector.spool import HEADER, import_segments
from contracts.spool import Spool
from contracts.stream import EVENTS_STREAM, payloads
from tests.helpers import mounted_tmpfs


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
        ids = await asyncio.gather(*(enqueuer.put(f'"entry-{n}"'.encode()) for n in range(200)))
    entries = await client.xrange(EVENTS_STREAM)
    await client.aclose()

    # Requests that arrived together share a stream entry; their order holds throughout.
    assert [p for _, fields in entries for p in payloads(fields)] == [f'"entry-{n}"'.encode() for n in range(200)]
    assert ids == [entry_id for entry_id, fields in entries for _ in payloads(fields)]
    assert CountingRedis.round_trips <= 3
    assert len(entries) <= 3


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
    async with Enqueuer(client, spool_after=5.0) as enqueuer:
        with pytest.raises(EnqueueFailed, match="enqueue writer failed"):
            await enqueuer.put(b'"first"')
        assert await enqueuer.put(b'"second"')
    assert [p for _, fields in await client.xrange(EVENTS_STREAM) for p in payloads(fields)] == [b'"second"']
    await client.aclose()


@pytest.mark.anyio
async def test_without_a_spool_a_put_gives_up_when_redis_hangs(redis_server_process):
    client = aioredis.Redis.from_url(redis_server_process.url)
    await client.ping()
    redis_server_process.freeze()
    try:
        async with Enqueuer(client, spool_after=0.5) as enqueuer:
            with pytest.raises(EnqueueFailed, match="not queued within"):
                await enqueuer.put(b'"stuck"')
    finally:
        redis_server_process.thaw()
    await client.aclose()


@pytest.mark.anyio
async def test_entries_redis_cannot_take_are_spooled_then_replayed_in_order(redis_server_process, tmp_path):
    client = aioredis.Redis.from_url(redis_server_process.url, socket_timeout=0.3)
    spool = Spool(tmp_path / "spool", max_bytes=1_000_000)
    redis_server_process.freeze()
    try:
        async with Enqueuer(client, spool, spool_after=0.2) as enqueuer:
            first = await asyncio.gather(*(enqueuer.put(f'"frozen-{n}"'.encode()) for n in range(5)))
            later = await asyncio.gather(*(enqueuer.put(f'"still-{n}"'.encode()) for n in range(3)))
            assert first == [SPOOLED] * 5
            assert later == [SPOOLED] * 3  # while anything is spooled, new entries queue behind it
            redis_server_process.thaw()
            await wait_for(lambda: enqueuer.spooled == 0, timeout=10)
            after = await enqueuer.put(b'"direct"')
    finally:
        redis_server_process.thaw()
        spool.close()
    entries = [p for _, fields in await client.xrange(EVENTS_STREAM) for p in payloads(fields)]
    await client.aclose()
    expected = [f'"frozen-{n}"'.encode() for n in range(5)] + [f'"still-{n}"'.encode() for n in range(3)]
    expected.append(b'"direct"')
    # The frozen ones were already written to Redis's socket when they were spooled: Redis
    # takes those copies when it wakes, then the replay brings the spooled ones. Nothing is
    # lost, order holds, and analytics keeps one copy of each event (by event id).
    assert list(dict.fromkeys(entries)) == expected
    assert len(entries) - len(expected) <= 5
    assert after != SPOOLED
    assert len(Spool(tmp_path / "spool", max_bytes=1_000_000)) == 0  # every record replayed and removed


@pytest.mark.anyio
async def test_a_full_spool_refuses(redis_server_process, tmp_path):
    client = aioredis.Redis.from_url(redis_server_process.url, socket_timeout=0.3)
    spool = Spool(tmp_path / "spool", max_bytes=80)
    redis_server_process.freeze()
    try:
        async with Enqueuer(client, spool, spool_after=0.2) as enqueuer:
            assert await enqueuer.put(b'"' + b"x" * 48 + b'"') == SPOOLED
            with pytest.raises(EnqueueFailed, match="the spool is full"):
                await enqueuer.put(b'"' + b"y" * 48 + b'"')
            assert enqueuer.spooled == 1
    finally:
        redis_server_process.thaw()
        spool.close()
    await client.aclose()


@pytest.mark.anyio
async def test_a_full_disk_refuses_with_a_reason_keeps_what_was_spooled_and_recovers(redis_server_process, tmp_path):
    client = aioredis.Redis.from_url(redis_server_process.url, socket_timeout=0.3)
    accepted: list[bytes] = []
    with mounted_tmpfs(tmp_path / "disk", 2 * 1024 * 1024) as disk:
        spool = Spool(disk / "spool", max_bytes=100_000_000)
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (1024 * 1024))
        redis_server_process.freeze()
        try:
            async with Enqueuer(client, spool, spool_after=0.2) as enqueuer:
                failure = None
                for n in range(5000):  # bounded: the disk is full long before
                    data = f'"{n:05d}{"x" * 2000}"'.encode()
                    try:
                        assert await enqueuer.put(data) == SPOOLED
                    except EnqueueFailed as e:
                        failure = e
                        break
                    accepted.append(data)
                assert failure is not None
                assert "disk is full" in str(failure)
                assert enqueuer.spooled == len(accepted)  # the refused entry is not counted as spooled
                filler.unlink()
                redis_server_process.thaw()
                await wait_for(lambda: enqueuer.spooled == 0, timeout=30)
                assert await enqueuer.put(b'"after"') != SPOOLED
        finally:
            redis_server_process.thaw()
            spool.close()
    entries = {p for _, fields in await client.xrange(EVENTS_STREAM) for p in payloads(fields)}
    await client.aclose()
    assert set(accepted) | {b'"after"'} <= entries  # nothing acknowledged is lost


@pytest.mark.anyio
async def test_the_spool_of_a_process_that_died_is_replayed_by_the_next(redis_url, tmp_path):
    directory = tmp_path / "spool"
    crashed = Spool(directory, max_bytes=1_000_000)
    crashed.put([(EVENTS_STREAM, b'"one"', 1), (EVENTS_STREAM, b'"two"', 1)])
    crashed.close()

    client = aioredis.Redis.from_url(redis_url)
    spool = Spool(directory, max_bytes=1_000_000)
    try:
        async with Enqueuer(client, spool):
            await wait_for(lambda: len(spool) == 0, timeout=10)
    finally:
        spool.close()
    entries = [p for _, fields in await client.xrange(EVENTS_STREAM) for p in payloads(fields)]
    await client.aclose()
    assert entries == [b'"one"', b'"two"']


def segment(*records: bytes) -> bytes:
    """An old collector's spool segment: ``length · crc32 · stream \\n entry`` records."""
    return b"".join(HEADER.pack(len(r), zlib.crc32(r)) + r for r in records)


def test_old_segments_move_into_the_spool_and_a_torn_record_hides_nothing_after_it(tmp_path):
    directory = tmp_path / "spool"
    directory.mkdir()
    torn = b"\x00\x00\x00\x09tor"  # a record whose write was cut short, in the middle of the file
    (directory / "0001-a.spool").write_bytes(
        segment(b'vigil:events\n"one"') + torn + segment(b'vigil:events\n"two"', b'vigil:sourcemaps\n"map"')
    )
    (directory / "0002-b.spool").write_bytes(segment(b'vigil:events\n"three"'))
    spool = Spool(directory, max_bytes=1_000_000)
    assert import_segments(directory, spool) == 4
    assert [(r.topic, r.data) for r in spool.oldest(10)] == [
        (EVENTS_STREAM, b'"one"'),
        (EVENTS_STREAM, b'"two"'),
        ("vigil:sourcemaps", b'"map"'),
        (EVENTS_STREAM, b'"three"'),
    ]
    assert list(directory.glob("*.spool")) == []
    spool.close()


async def wait_for(check, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
