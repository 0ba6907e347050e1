"""Processor worker processes in front of the DuckDB writer: real spawned processes, real pipes.

The pool's answers must be what the consumer's own thread would have produced, entry for
entry (bad entries included); a worker's source-map questions are answered by the parent;
a replaced map is forgotten by every worker; a worker killed mid-batch costs nothing; and
workers never outlive the end of their pipe.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import duckdb
import msgspec
import pyarrow as pa
import pytest
import redis

from analytics.consume import DEAD_LETTER_STREAM, Consumer
from analytics.enrich.maps import MapFiles
from analytics.pipeline import PROCESSORS, merge, to_tables
from analytics.tables import TABLES
from analytics.workers import Processed, ProcessorPool, Result, Work, WorkerSetup, process_entries
from contracts.beacon import Batch, ErrorEvent
from contracts.stream import EVENTS_STREAM, OUTCOMES_STREAM, StreamEntry, encode_entry
from tests.analytics.test_consume import CHROME, entry, pending
from tests.analytics.test_symbolicate import URL, raw_map, shop  # noqa: F401 (shop is a fixture)
from tests.helpers import wait_until

FRAMES = TABLES["errors"].names.index("frames")


class Maps:
    """The parent's side of source maps: what the workers may ask for, and what they asked."""

    def __init__(self) -> None:
        self.maps: dict[tuple[str, str], bytes] = {}
        self.asked: list[tuple[str, str]] = []

    def __call__(self, release_key: str, url: str) -> MapFiles | None:
        self.asked.append((release_key, url))
        found = self.maps.get((release_key, url))
        return None if found is None else MapFiles(found)


def make_pool(tmp_path: Path, maps: Maps, count: int = 2) -> ProcessorPool:
    return ProcessorPool(count, WorkerSetup(tmp_path, 10_000_000), load_map=maps, inline=lambda: PROCESSORS)


@pytest.fixture
def maps() -> Maps:
    return Maps()


@pytest.fixture
def pool(tmp_path: Path, maps: Maps) -> Iterator[ProcessorPool]:
    started = make_pool(tmp_path, maps)
    yield started
    started.close()


def thrown(n: int, stack: str, release: str = "shop@1.4.0") -> bytes:
    """An entry with one error thrown through the test bundle (``stack`` from Node)."""
    batch = Batch(
        v=1,
        batch_id=f"t{n}",
        sent_at=1_764_072_000_000,
        release=release,
        events=[
            ErrorEvent(
                event_id=f"t{n}",
                ts=1_764_072_000_000,
                page_url="https://shop.example/cart",
                error_type="RangeError",
                message="negative tax rate: -1",
                stack=stack,
            )
        ],
    )
    return encode_entry(
        StreamEntry(project_id=1, project="demo", received_at=1_764_072_001_000, user_agent=CHROME, batch=batch)
    )


def mixed(n: int) -> bytes:
    """An entry with an error, a page view and a web vital."""
    base = {"ts": 1_764_072_000_000, "page_url": "https://shop.example/cart"}
    body = {
        "v": 1, "batch_id": f"m{n}", "sent_at": 1_764_072_000_000, "release": "shop@1.0",
        "events": [
            {**base, "type": "error", "event_id": f"m{n}-e", "error_type": "TypeError", "message": f"boom {n}"},
            {**base, "type": "pageview", "event_id": f"m{n}-p", "navigation": "navigate", "ttfb": 180.5 + n},
            {**base, "type": "vital", "event_id": f"m{n}-v", "name": "LCP", "value": 1200.0 + n, "rating": "good",
             "metric_id": f"v4-{n}"},
        ],
    }  # fmt: skip
    raw = json.dumps(body).encode()
    return encode_entry(StreamEntry(1, "demo", 1_764_072_001_000, CHROME, msgspec.json.decode(raw, type=Batch)))


def stored(results: list[Result], columns: dict[str, list[pa.Table]] | None = None) -> dict[str, pa.Table]:
    """What the consumer would insert, table by table."""
    tables = to_tables([merge([rows for _, _, rows, _ in results if rows is not None])])
    for name, parts in (columns or {}).items():
        tables[name] = pa.concat_tables([tables[name], *parts] if name in tables else parts)
    return tables


def assert_as_in_thread(processed: Processed, work: list[Work]) -> None:
    """Entry for entry the same answers, and the same rows to store, as the consumer's own thread gives."""
    expected = process_entries(PROCESSORS, work)
    assert [(n, j, reason) for n, j, _, reason in processed.results] == [(n, j, r) for n, j, _, r in expected]
    assert stored(processed.results, processed.columns) == stored(expected)


def pooled_consumer(client: redis.Redis, con: duckdb.DuckDBPyConnection, pool: ProcessorPool) -> Consumer:
    return Consumer(client, con, name="c1", batch_entries=4, block_ms=50, pool=pool)


def first_frame_sources(processed: Processed) -> set[str]:
    """The source of each error's innermost frame, from the errors the workers handed over as Arrow tables."""
    return {
        str(json.loads(frames)[0]["source"])
        for table in processed.columns["errors"]
        for frames in table.column("frames").to_pylist()
    }


def test_workers_answer_what_the_consumer_would_entry_for_entry(pool: ProcessorPool) -> None:
    work: list[Work] = [(EVENTS_STREAM, {b"e": entry(n, events=3) if n % 2 else mixed(n)}) for n in range(9)]
    work.insert(4, (EVENTS_STREAM, {b"e": b"not json"}))  # a payload that does not decode
    work.insert(7, (EVENTS_STREAM, {b"x": b""}))  # an entry with no payload at all
    work.append((OUTCOMES_STREAM, {b"e": b"{}"}))  # decodes as JSON, not as outcomes

    processed = pool.collect(pool.submit(work))

    assert_as_in_thread(processed, work)
    # Handed over as Arrow tables, one per slice: errors too (the consumer groups them from their columns).
    assert sorted(processed.columns) == ["errors", "page_views", "web_vitals"]
    results = processed.results
    assert {table for _, _, rows, _ in results if rows for table in rows} == set()
    assert [n for n, _, _, _ in results] == list(range(len(work)))  # in entry order, across both slices
    failed = {n: reason for n, _, rows, reason in results if rows is None}
    assert sorted(failed) == [4, 7, 11]
    assert failed[4].startswith("undecodable entry")
    assert failed[7] == "entry has neither an 'e' nor a valid 'g' field"


def test_a_batch_smaller_than_the_pool_is_processed(pool: ProcessorPool) -> None:
    results = pool.collect(pool.submit([(EVENTS_STREAM, {b"e": entry(1)})])).results
    assert [(n, j, reason) for n, j, _, reason in results] == [(0, 0, "")]


def test_workers_ask_the_parent_for_maps_and_forget_replaced_ones(
    shop: tuple[str, bytes, str],  # noqa: F811
    pool: ProcessorPool,
    maps: Maps,
) -> None:
    _, map_bytes, stack = shop
    key = ("1\x00shop@1.4.0", URL)
    maps.maps[key] = map_bytes
    work = [(EVENTS_STREAM, {b"e": thrown(n, stack)}) for n in range(4)]  # two per worker

    assert first_frame_sources(pool.collect(pool.submit(work))) == {"src/tax.js"}
    asked_first = maps.asked.count(key)
    assert 1 <= asked_first <= len(pool.workers)  # once per worker at most, then from its own cache

    pool.collect(pool.submit(work))
    assert maps.asked.count(key) == asked_first  # cached in the workers

    maps.maps[key] = raw_map(map_bytes, sourceRoot="/build/")  # a new upload replaced the map
    pool.forget([key])
    assert first_frame_sources(pool.collect(pool.submit(work))) == {"/build/src/tax.js"}


def test_a_batch_given_up_before_it_was_collected_never_answers_for_the_next(pool: ProcessorPool) -> None:
    given_up = [(EVENTS_STREAM, {b"e": entry(n, events=2)}) for n in range(10)]
    pool.submit(given_up)  # the consumer hit a Redis error and will read these entries again
    work = [(EVENTS_STREAM, {b"e": entry(n, events=1)}) for n in range(100, 103)]

    assert_as_in_thread(pool.collect(pool.submit(work)), work)


def test_a_worker_killed_mid_batch_costs_nothing(pool: ProcessorPool) -> None:
    work: list[Work] = [(EVENTS_STREAM, {b"e": entry(n, events=20) if n % 2 else mixed(n)}) for n in range(40)]
    victim = pool.workers[0].process
    assert victim.pid is not None

    pending_batch = pool.submit(work)
    os.kill(victim.pid, signal.SIGKILL)
    processed = pool.collect(pending_batch)

    assert_as_in_thread(processed, work)  # its slice was processed by the parent instead
    assert pool.restarts == 1
    assert not victim.is_alive()
    assert pool.workers[0].process.pid != victim.pid
    assert_as_in_thread(pool.collect(pool.submit(work)), work)  # the new worker takes its share


def test_a_stopped_worker_is_given_up_on_killed_and_its_slice_processed_here(tmp_path: Path, maps: Maps) -> None:
    """A SIGSTOPped worker once froze ingest: nothing bounded the wait on its pipe."""
    pool = ProcessorPool(2, WorkerSetup(tmp_path, 10_000_000), load_map=maps, inline=lambda: PROCESSORS, timeout=1.0)
    try:
        work: list[Work] = [(EVENTS_STREAM, {b"e": entry(n, events=5) if n % 2 else mixed(n)}) for n in range(20)]
        victim = pool.workers[0].process
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGSTOP)
        processed = pool.collect(pool.submit(work))

        assert_as_in_thread(processed, work)  # its slice was processed by the parent instead
        assert pool.restarts == 1
        victim.join(5)
        assert not victim.is_alive()  # killed, not left stopped
        assert pool.workers[0].process.pid != victim.pid
        assert_as_in_thread(pool.collect(pool.submit(work)), work)  # the new worker takes its share
    finally:
        pool.close()


def test_a_failing_map_lookup_restarts_the_workers_and_raises(
    shop: tuple[str, bytes, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    def unwell(release_key: str, url: str) -> MapFiles | None:
        raise duckdb.IOException("disk unreadable")

    _, map_bytes, stack = shop
    pool = ProcessorPool(2, WorkerSetup(tmp_path, 10_000_000), load_map=unwell, inline=lambda: PROCESSORS)
    try:
        before = [worker.process.pid for worker in pool.workers]
        work = [(EVENTS_STREAM, {b"e": thrown(n, stack)}) for n in range(2)]
        with pytest.raises(duckdb.IOException):
            pool.collect(pool.submit(work))
        assert not {worker.process.pid for worker in pool.workers} & set(before)  # none left waiting for an answer

        pool.load_map = lambda release_key, url: MapFiles(map_bytes)
        assert first_frame_sources(pool.collect(pool.submit(work))) == {"src/tax.js"}
    finally:
        pool.close()


def test_a_worker_exits_when_its_pipe_closes(tmp_path: Path, maps: Maps) -> None:
    pool = make_pool(tmp_path, maps, count=1)
    process = pool.workers[0].process
    pool.workers[0].conn.close()  # as when the service is killed: its end of the pipe goes away
    process.join(10)
    assert process.exitcode == 0
    pool.close()


def test_the_consumer_stores_through_its_workers(
    redis_client: redis.Redis,
    con: duckdb.DuckDBPyConnection,
    pool: ProcessorPool,
) -> None:
    for n in range(30):
        redis_client.xadd(EVENTS_STREAM, {b"e": entry(n, events=5)})
    redis_client.xadd(EVENTS_STREAM, {b"e": b"\xff broken"})
    consumer = pooled_consumer(redis_client, con, pool)

    consumer.run(burst=True)

    assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM errors").fetchone() == (150, 150)
    assert con.execute("SELECT sum(events)::INTEGER FROM issues").fetchone() == (150,)
    assert pending(redis_client) == 0
    assert redis_client.xlen(EVENTS_STREAM) == 0
    assert redis_client.xlen(DEAD_LETTER_STREAM) == 1
    assert consumer.committed_entries == 31


def test_the_consumer_stores_the_batch_in_hand_when_stopped(
    redis_client: redis.Redis,
    con: duckdb.DuckDBPyConnection,
    pool: ProcessorPool,
) -> None:
    for n in range(12):
        redis_client.xadd(EVENTS_STREAM, {b"e": entry(n, events=2)})
    consumer = pooled_consumer(redis_client, con, pool)
    stored = []

    def stop_after_the_first_new_batch(rows: dict[str, list[tuple[object, ...]]]) -> None:
        [(errors,)] = con.execute("SELECT count(*) FROM errors").fetchall()  # the consumer's thread, just committed
        stored.append(errors)
        if len(stored) == 1:
            consumer.stopping.set()  # the next batch is already read and being processed

    consumer.after_commit.append(stop_after_the_first_new_batch)
    consumer.ensure_group()
    consumer._stream(burst=False)

    assert stored == [8, 16]  # the batch in hand was stored, nothing more was read
    wait_until(lambda: pending(redis_client) == 0, timeout=5, what="both batches acknowledged")
    assert redis_client.xlen(EVENTS_STREAM) == 4


def test_an_entry_the_database_refuses_is_dead_lettered_alone_when_workers_sent_arrow_tables(
    redis_client: redis.Redis,
    con: duckdb.DuckDBPyConnection,
    pool: ProcessorPool,
) -> None:
    for n in range(3):
        redis_client.xadd(EVENTS_STREAM, {b"e": mixed(n)})
    # A rule the middle entry's page view breaks: its row reaches the consumer inside a worker's Arrow table.
    con.execute("CREATE UNIQUE INDEX one_view ON page_views (batch_id)")
    con.execute(
        "INSERT INTO page_views (event_id, batch_id, ts, received_at, project, project_id) "
        "VALUES ('old', 'm1', now()::TIMESTAMP, now()::TIMESTAMP, 'demo', 1)"
    )
    consumer = pooled_consumer(redis_client, con, pool)

    consumer.run(burst=True)

    assert con.execute("SELECT event_id FROM errors ORDER BY 1").fetchall() == [("m0-e",), ("m2-e",)]
    assert con.execute("SELECT event_id FROM page_views ORDER BY 1").fetchall() == [("m0-p",), ("m2-p",), ("old",)]
    ((_, dead),) = redis_client.xrange(DEAD_LETTER_STREAM)
    assert dead[b"reason"].startswith(b"refused by the database: ")
    assert (consumer.dead_entries, pending(redis_client), redis_client.xlen(EVENTS_STREAM)) == (1, 0, 0)


def test_a_worker_gives_memory_back_when_idle_and_works_on_after(tmp_path: Path, maps: Maps) -> None:
    import time

    pool = ProcessorPool(2, WorkerSetup(tmp_path, 10_000_000, idle_release_seconds=0.2), load_map=maps,
                         inline=lambda: PROCESSORS)  # fmt: skip
    try:
        work: list[Work] = [(EVENTS_STREAM, {b"e": entry(n, events=3)}) for n in range(6)]
        first = pool.collect(pool.submit(work))
        time.sleep(0.6)  # each worker's quiet spell: pyarrow's pool and the C heap trimmed
        assert_as_in_thread(pool.collect(pool.submit(work)), work)
        assert [worker.process.is_alive() for worker in pool.workers] == [True, True]
        assert_as_in_thread(first, work)
    finally:
        pool.close()
