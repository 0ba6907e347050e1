"""The consumer loop: read the events stream as group ``ingest``, commit to DuckDB, then acknowledge.

The skeleton every Vigil loop shares: a tick, an exit flag, burst mode for tests, a
heartbeat (``last_tick``), and an ordered stop (stop reading, finish the batch in hand,
commit, ack). An entry is acknowledged only after the transaction holding its rows has
committed, so a crash at any point leaves it pending, and a restarted consumer of the
same name reads its own pending entries first.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import cast

import duckdb
import redis
from redis.exceptions import RedisError, ResponseError

from analytics.pipeline import process
from analytics.store import insert
from collector.stream import CONSUMER_GROUP, ENTRY_FIELD, EVENTS_STREAM

log = logging.getLogger("vigil.analytics")

#: Entries that cannot be processed, with the reason; never silently dropped.
DEAD_LETTER_STREAM = "vigil:dead"
MAX_BACKOFF_SECONDS = 5.0


class Consumer:
    def __init__(
        self,
        client: redis.Redis,
        con: duckdb.DuckDBPyConnection,
        *,
        name: str,
        batch_entries: int = 500,
        block_ms: int = 1000,
        stream: str = EVENTS_STREAM,
        group: str = CONSUMER_GROUP,
    ) -> None:
        self.client, self.con = client, con
        self.name, self.batch_entries, self.block_ms = name, batch_entries, block_ms
        self.stream, self.group = stream, group
        self.stopping = threading.Event()
        self.last_tick = 0.0  # heartbeat: wall-clock time of the last loop turn
        self.committed_entries = 0
        self.committed_rows = 0
        self.dead_entries = 0

    def ensure_group(self) -> None:
        """Create the group reading from the start of the stream, so nothing queued earlier is skipped."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    def run(self, *, burst: bool = False) -> None:
        """Consume until ``stopping`` is set; with ``burst``, return once the stream is drained."""
        own_pending = True  # after a start or a failure, re-read what this consumer holds unacked
        backoff = 0.0
        while not self.stopping.is_set():
            self.last_tick = time.time()
            try:
                if own_pending:
                    self.ensure_group()
                entries = self._read(own_pending)
                if own_pending and not entries:
                    own_pending = False
                    continue
                if not entries:
                    if burst:
                        return
                    continue
                self.handle(entries)
                backoff = 0.0
            except (RedisError, OSError, duckdb.Error) as e:
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2 or 0.1)
                log.warning("consumer: %s; retrying in %.1fs", e, backoff)
                own_pending = True
                self.stopping.wait(backoff)

    def _read(self, own_pending: bool) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
        response = self.client.xreadgroup(
            self.group,
            self.name,
            {self.stream: "0" if own_pending else ">"},
            count=self.batch_entries,
            block=None if own_pending else self.block_ms,
        )
        if not response:
            return []
        # redis-py answers a list for RESP2 and a dict for RESP3.
        entries = next(iter(response.values()))[0] if isinstance(response, dict) else response[0][1]
        return cast(list[tuple[bytes, dict[bytes, bytes] | None]], entries)

    def handle(self, entries: list[tuple[bytes, dict[bytes, bytes] | None]]) -> None:
        """Process, commit, dead-letter the unprocessable, then acknowledge all of them."""
        raw: list[tuple[bytes, bytes]] = []
        dead: list[tuple[bytes, bytes, str]] = []
        for entry_id, fields in entries:
            data = (fields or {}).get(ENTRY_FIELD)
            if data is None:
                dead.append((entry_id, b"", "entry has no 'e' field"))
            else:
                raw.append((entry_id, data))
        processed = process(raw)
        dead.extend(processed.dead)
        self.con.begin()
        try:
            insert(self.con, "errors", processed.errors)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        pipe = self.client.pipeline(transaction=True)
        for entry_id, data, reason in dead:
            pipe.xadd(DEAD_LETTER_STREAM, {b"id": entry_id, b"stream": self.stream, b"reason": reason, b"e": data})
        pipe.xack(self.stream, self.group, *[entry_id for entry_id, _ in entries])
        pipe.execute()
        if dead:
            log.error("consumer: %d entries moved to %s", len(dead), DEAD_LETTER_STREAM)
        self.committed_entries += len(entries)
        self.committed_rows += processed.errors.num_rows
        self.dead_entries += len(dead)
