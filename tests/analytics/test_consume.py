"""The consumer against a real redis-server and a real DuckDB file."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest
import redis

from analytics import consume
from analytics.consume import DEAD_LETTER_STREAM, Consumer
from contracts.beacon import Batch, ErrorEvent
from contracts.stream import CONSUMER_GROUP, EVENTS_STREAM, StreamEntry, encode_entry

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def entry(n: int, events: int = 1, user_agent: str = CHROME) -> bytes:
    batch = Batch(
        v=1,
        batch_id=f"b{n}",
        sent_at=1_764_072_000_000,
        release="shop@1.0",
        environment="prod",
        session_id="s1",
        events=[
            ErrorEvent(
                event_id=f"e{n}-{i}",
                ts=1_764_072_000_000 + i,
                page_url="https://shop.example/cart",
                error_type="TypeError",
                message=f"boom {n}",
                stack="TypeError: boom",
                file="https://shop.example/app.js",
                line=1,
                column=20,
            )
            for i in range(events)
        ],
    )
    return encode_entry(
        StreamEntry(project_id=1, project="demo", received_at=1_764_072_001_000, user_agent=user_agent, batch=batch)
    )


def consumer(client: redis.Redis, con: duckdb.DuckDBPyConnection, name: str = "c1") -> Consumer:
    return Consumer(client, con, name=name, batch_entries=10, block_ms=50)


def pending(client: redis.Redis) -> int:
    return int(client.xpending(EVENTS_STREAM, CONSUMER_GROUP)["pending"])


def test_entries_become_rows_and_are_acknowledged(redis_client, con):
    for n in range(25):
        redis_client.xadd(EVENTS_STREAM, {"e": entry(n, events=2)})

    c = consumer(redis_client, con)
    c.run(burst=True)

    assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM errors").fetchone() == (50, 50)
    assert (c.committed_entries, c.committed_rows, pending(redis_client)) == (25, 50, 0)
    row = con.execute(
        "SELECT project, project_id, release, environment, session_id, page_url, error_type, message, "
        "browser, os, device_type, is_bot, ts, received_at, source_line, source_column "
        "FROM errors WHERE event_id = 'e3-1'"
    ).fetchone()
    assert row == (
        "demo", 1, "shop@1.0", "prod", "s1", "https://shop.example/cart", "TypeError", "boom 3",
        "Chrome", "Windows", "desktop", False,
        datetime(2025, 11, 25, 12, 0, 0, 1000), datetime(2025, 11, 25, 12, 0, 1), 1, 20,
    )  # fmt: skip


def test_entries_queued_before_the_group_existed_are_read(redis_client, con):
    redis_client.xadd(EVENTS_STREAM, {"e": entry(1)})
    consumer(redis_client, con).run(burst=True)
    assert con.execute("SELECT count(*) FROM errors").fetchone() == (1,)


def test_an_undecodable_entry_goes_to_the_dead_letter_stream_and_the_rest_are_stored(redis_client, con):
    redis_client.xadd(EVENTS_STREAM, {"e": entry(1)})
    bad_id = redis_client.xadd(EVENTS_STREAM, {"e": b"{not a stream entry"})
    redis_client.xadd(EVENTS_STREAM, {"e": entry(2)})

    c = consumer(redis_client, con)
    c.run(burst=True)

    assert con.execute("SELECT count(*) FROM errors").fetchone() == (2,)
    ((_, dead),) = redis_client.xrange(DEAD_LETTER_STREAM)
    assert dead[b"id"] == bad_id
    assert dead[b"reason"].startswith(b"undecodable entry")
    assert dead[b"e"] == b"{not a stream entry"
    assert (c.dead_entries, pending(redis_client)) == (1, 0)


def test_the_dead_letter_stream_keeps_only_the_newest(redis_client, con, monkeypatch):
    monkeypatch.setattr(consume, "DEAD_LETTER_MAXLEN", 5)
    redis_client.config_set("stream-node-max-entries", 2)  # Redis trims "~" in whole nodes
    for n in range(40):
        redis_client.xadd(EVENTS_STREAM, {"e": f"{{bad {n}".encode()})
    c = consumer(redis_client, con)
    c.run(burst=True)
    dead = redis_client.xrange(DEAD_LETTER_STREAM)
    assert c.dead_entries == 40
    assert 5 <= len(dead) <= 7
    assert dead[-1][1][b"e"] == b"{bad 39"


def test_a_restarted_consumer_finishes_its_own_pending_entries_first(redis_client, con):
    consumer(redis_client, con).ensure_group()
    for n in range(3):
        redis_client.xadd(EVENTS_STREAM, {"e": entry(n)})
    # The first incarnation read the entries, then died before committing.
    redis_client.xreadgroup(CONSUMER_GROUP, "c1", {EVENTS_STREAM: ">"}, count=10)
    assert pending(redis_client) == 3

    consumer(redis_client, con, name="c1").run(burst=True)

    assert con.execute("SELECT count(*) FROM errors").fetchone() == (3,)
    assert pending(redis_client) == 0


def test_nothing_is_acknowledged_when_the_database_fails(redis_client, con):
    redis_client.xadd(EVENTS_STREAM, {"e": entry(1)})
    con.execute("DROP TABLE errors")  # the database is broken, not the data
    c = consumer(redis_client, con)
    c.ensure_group()

    entries = c._read(own_pending=False)
    with pytest.raises(duckdb.CatalogException):
        c.handle(entries)

    assert pending(redis_client) == 1
    assert redis_client.xlen(EVENTS_STREAM) == 1


def test_an_entry_the_database_refuses_is_dead_lettered_alone(redis_client, con):
    for n in range(3):
        redis_client.xadd(EVENTS_STREAM, {"e": entry(n)})
    # A rule the middle entry breaks (as a too-large id or a bad value would).
    con.execute("CREATE UNIQUE INDEX one_message ON errors (message)")
    con.execute(
        "INSERT INTO errors (event_id, ts, received_at, project, project_id, message) "
        "VALUES ('old', now()::TIMESTAMP, now()::TIMESTAMP, 'demo', 1, 'boom 1')"
    )

    c = consumer(redis_client, con)
    c.run(burst=True)

    assert con.execute("SELECT message FROM errors ORDER BY message").fetchall() == [
        ("boom 0",),
        ("boom 1",),
        ("boom 2",),
    ]
    ((_, dead),) = redis_client.xrange(DEAD_LETTER_STREAM)
    assert dead[b"reason"].startswith(b"refused by the database: ")
    assert (c.dead_entries, pending(redis_client), redis_client.xlen(EVENTS_STREAM)) == (1, 0, 0)


def test_entries_another_consumer_left_pending_are_claimed(redis_client, con):
    c = consumer(redis_client, con, name="c2")
    c.claim_idle_ms = 0
    c.ensure_group()
    redis_client.xadd(EVENTS_STREAM, {"e": entry(1)})
    redis_client.xreadgroup(CONSUMER_GROUP, "crashed-elsewhere", {EVENTS_STREAM: ">"}, count=10)

    c.run(burst=True)

    assert con.execute("SELECT count(*) FROM errors").fetchone() == (1,)
    assert (c.claimed_entries, pending(redis_client)) == (1, 0)


def test_acknowledged_entries_are_deleted_from_the_stream(redis_client, con):
    for n in range(5):
        redis_client.xadd(EVENTS_STREAM, {"e": entry(n)})
    consumer(redis_client, con).run(burst=True)
    assert redis_client.xlen(EVENTS_STREAM) == 0


def test_an_event_sent_twice_is_stored_once(redis_client, con):
    redis_client.xadd(EVENTS_STREAM, {"e": entry(1, events=3)})
    redis_client.xadd(EVENTS_STREAM, {"e": entry(1, events=3)})  # a client retry of the same batch
    c = consumer(redis_client, con)
    c.run(burst=True)
    redis_client.xadd(EVENTS_STREAM, {"e": entry(1, events=4)})  # later: three old events and one new
    c.run(burst=True)

    assert con.execute("SELECT event_id FROM errors ORDER BY event_id").fetchall() == [
        ("e1-0",), ("e1-1",), ("e1-2",), ("e1-3",),
    ]  # fmt: skip
    assert c.committed_rows == 4
