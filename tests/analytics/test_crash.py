"""kill -9 of the analytics service while it holds a batch loses nothing and stores nothing twice.

Real parts only: events go through a real collector into a real redis-server, and a real
analytics service (a subprocess) is killed with SIGKILL and started again on the same data
directory. Where the kill lands is made certain, not left to timing: the test pauses Redis
writes (``CLIENT PAUSE WRITE``) at a moment the consumer holds a batch (read, not yet
acknowledged), so the batch cannot be acknowledged before the kill. Redis drops a
postponed command of a client that has gone, so the batch stays pending.

- First kill: at once, while the consumer processes (or commits) the batch it holds.
- Second kill: after the read API shows that batch committed to DuckDB, its
  acknowledgement still waiting: the restarted consumer must not store it again.

The consumer may hold two batches at once: the one it stores and the next one, read and
handed to its processor workers meanwhile. The second kill waits for such a moment: the
older batch is then committed or committing (DuckDB is not paused), its acknowledgement
held back; with one batch held, the consumer may instead be waiting to read before it
stores, and nothing would commit while Redis is paused.

Then every event id is in the DuckDB file exactly once, counted once by its issue, and
nothing is left pending or dead-lettered.
"""

from __future__ import annotations

import collections
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
import redis

from analytics.consume import DEAD_LETTER_STREAM
from contracts import runfiles
from contracts.projects import Project
from contracts.read_api import ReadClient
from contracts.stream import (
    CONSUMER_GROUP,
    EVENTS_STREAM,
    OUTCOMES_STREAM,
    SENTRY_STREAM,
    SOURCEMAPS_STREAM,
    decode_entry,
    payloads,
)
from tests.conftest import _service
from tests.helpers import Service, wait_until

REQUESTS = 100
EVENTS_PER_REQUEST = 50  # 5,000 events
#: Stream entries the consumer reads and commits together: 200 events, so 25 batches, about
#: a second of work: ample time to catch the consumer between two of its reads.
BATCH_ENTRIES = 4
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
#: A pause Redis lifts by itself if the test dies holding it.
PAUSE_MS = 30_000
STREAMS = (EVENTS_STREAM, OUTCOMES_STREAM, SENTRY_STREAM, SOURCEMAPS_STREAM)


class Analytics:
    """The analytics service as a subprocess that the test kills and starts again by its pid."""

    def __init__(self, data_dir: Path, redis_url: str) -> None:
        self.data_dir, self.redis_url = data_dir, redis_url
        self.service: Service | None = None

    def start(self) -> Service:
        env = {
            "VIGIL_REDIS_URL": self.redis_url,
            "VIGIL_ANALYTICS_BATCH_ENTRIES": str(BATCH_ENTRIES),
            "VIGIL_ANALYTICS_BLOCK_MS": "100",
            # The same name in every incarnation: a restarted consumer first finishes what it held.
            "VIGIL_ANALYTICS_CONSUMER": "analytics-crash-test",
        }
        self.service = _service("analytics", self.data_dir, env, "/healthz")
        return self.service

    def kill(self) -> None:
        """SIGKILL by pid: no shutdown code runs, as when the machine loses power or the OOM killer strikes."""
        assert self.service is not None
        assert self.service.process is not None
        os.kill(self.service.pid, signal.SIGKILL)
        self.service.process.wait(10)
        assert self.service.process.returncode == -signal.SIGKILL
        self.service.stop()  # the process is gone; this closes its log

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()

    def sql(self, statement: str) -> list[list[object]]:
        info = runfiles.read_live(self.data_dir, "analytics")
        assert info is not None
        with ReadClient(info["url"], token=info["token"]) as client:
            return client.sql(statement).rows


@pytest.fixture
def analytics_process(data_dir: Path, redis_url: str) -> Iterator[Analytics]:
    process = Analytics(data_dir, redis_url)
    yield process
    process.stop()


def send_events(collector: Service, project: Project) -> list[str]:
    """Every event through the collector's HTTP endpoint; returns the ids it answered 202 for."""
    sent: list[str] = []
    now = int(time.time() * 1000)
    with httpx.Client(timeout=10) as http:
        for n in range(REQUESTS):
            ids = [f"crash-{n}-{k}-{uuid.uuid4().hex[:8]}" for k in range(EVENTS_PER_REQUEST)]
            events = [
                {
                    "type": "error", "event_id": event_id, "ts": now - len(sent) - k,
                    "page_url": "https://shop.example/cart", "error_type": "TypeError", "message": f"boom {n}",
                    "stack": f"TypeError: boom {n}\n    at pay (https://shop.example/app.js:1:{n + 2})\n"
                             "    at https://shop.example/app.js:1:9",
                }
                for k, event_id in enumerate(ids)
            ]  # fmt: skip
            response = http.post(
                f"{collector.url}/api/{project.id}/events",
                params={"key": project.public_key},
                json={"v": 1, "batch_id": f"b{n}", "sent_at": now, "release": "shop@1.0", "events": events},
                headers={"User-Agent": CHROME},
            )
            assert (response.status_code, response.content) == (202, b"")
            sent += ids
    return sent


def events_in(client: redis.Redis, ids: set[bytes] | None = None) -> int:
    """Events in the entries of the events stream (all of them, or those with these ids)."""
    return sum(
        len(decode_entry(data).batch.events)
        for entry_id, fields in client.xrange(EVENTS_STREAM)
        if ids is None or entry_id in ids
        for data in payloads(fields)
    )


def held(client: redis.Redis) -> set[bytes]:
    """Ids of the events stream's entries read by the consumer and not acknowledged."""
    return {p["message_id"] for p in client.xpending_range(EVENTS_STREAM, CONSUMER_GROUP, "-", "+", 10_000)}


def pending(client: redis.Redis) -> list[int]:
    """Entries read and not acknowledged, stream by stream."""
    return [int(client.xpending(stream, CONSUMER_GROUP)["pending"]) for stream in STREAMS]


def oldest_batch(ids: set[bytes]) -> set[bytes]:
    """The first ``BATCH_ENTRIES`` of these entry ids in stream order: the batch the consumer stores first."""
    return set(sorted(ids, key=lambda entry_id: tuple(int(part) for part in entry_id.split(b"-")))[:BATCH_ENTRIES])


def pause_while_a_batch_is_held(
    client: redis.Redis,
    analytics: Analytics,
    progress_below: int,
    *,
    not_in: set[bytes] = frozenset(),
    more_than: int = 0,
) -> set[bytes]:
    """Pause Redis writes at a moment the consumer holds a batch, once fewer than ``progress_below`` entries wait.

    While writes are paused the consumer can neither acknowledge nor read, so what it
    holds stays held. Only a moment it holds more than ``more_than`` entries, none of
    ``not_in``, counts. Between tries it
    runs on; returns the ids it holds.
    """
    deadline = time.monotonic() + 20
    for _ in range(10_000):
        if client.xlen(EVENTS_STREAM) < progress_below:
            client.client_pause(PAUSE_MS, all=False)  # WRITE: reads still answer
            ids = held(client)
            if len(ids) > more_than and not ids & not_in:
                return ids
            client.client_unpause()
        output = analytics.service.output() if analytics.service else ""
        assert client.xlen(EVENTS_STREAM) > 0, f"the stream drained before the consumer was caught:\n{output}"
        assert time.monotonic() < deadline, f"timed out waiting for the consumer to hold a batch:\n{output}"
        time.sleep(0.002)
    raise AssertionError("never caught the consumer holding a batch")


def test_analytics_killed_mid_batch_loses_and_duplicates_nothing(
    data_dir: Path, demo_project: Project, redis_client: redis.Redis, redis_url: str, analytics_process: Analytics
) -> None:
    collector = _service(
        "collector",
        data_dir,
        {
            "VIGIL_REDIS_URL": redis_url,
            "VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0",
            "VIGIL_COLLECTOR_PROJECT_EVENTS_PER_SECOND": "0",
            "VIGIL_COLLECTOR_SPIKE_FACTOR": "0",
        },
        "/healthz",
    )
    try:
        sent = send_events(collector, demo_project)
    finally:
        collector.stop()
    total = len(sent)
    entries = redis_client.xlen(EVENTS_STREAM)
    assert events_in(redis_client) == total

    try:
        # 1. Killed while it processes a batch: the batch is read, maybe committed, not acknowledged.
        analytics_process.start()
        first = pause_while_a_batch_is_held(redis_client, analytics_process, progress_below=entries)
        analytics_process.kill()
        redis_client.client_unpause()
        assert held(redis_client) == first
        waiting = redis_client.xlen(EVENTS_STREAM)
        assert 0 < waiting < entries  # some stored, some not

        # 2. Killed after it committed a batch, before the acknowledgement reached Redis.
        analytics_process.start()
        second = pause_while_a_batch_is_held(
            redis_client, analytics_process, progress_below=waiting, not_in=first, more_than=BATCH_ENTRIES
        )
        with_second = total - events_in(redis_client) + events_in(redis_client, oldest_batch(second))
        wait_until(
            lambda: analytics_process.sql("SELECT count(*) FROM errors") == [[with_second]],
            timeout=20,
            what="the held batch committed",
        )
        analytics_process.kill()
        redis_client.client_unpause()
        assert held(redis_client) == second

        # 3. Started again: it finishes the committed batch without storing it twice, then the rest.
        analytics_process.start()
        wait_until(
            lambda: redis_client.xlen(EVENTS_STREAM) == 0 and pending(redis_client) == [0, 0, 0, 0],
            timeout=30,
            what="every entry stored and acknowledged",
        )
    finally:
        redis_client.client_unpause()
    analytics_process.stop()  # only the service may open the file; read it once it has closed it

    with duckdb.connect(str(data_dir / "vigil.duckdb"), read_only=True) as con:
        stored = collections.Counter(row[0] for row in con.execute("SELECT event_id FROM errors").fetchall())
        (counted,) = con.execute("SELECT sum(events)::INTEGER FROM issues").fetchone() or (None,)
    assert stored == collections.Counter(sent)  # every event, each once
    assert counted == total  # and counted once by its issue
    assert pending(redis_client) == [0, 0, 0, 0]
    assert redis_client.xlen(DEAD_LETTER_STREAM) == 0
