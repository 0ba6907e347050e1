"""Outcome counts reach analytics once, even when Redis's answer to them is lost."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from analytics.pipeline import process_outcomes, to_tables
from analytics.store import insert, open_database
from collector.outcomes import Outcomes
from contracts.stream import OUTCOMES_STREAM, decode_outcomes


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class AnswerLostOnce(aioredis.Redis):
    """A real client whose first XADD reaches Redis but whose answer is lost (a timeout after the write)."""

    lost = 0

    async def xadd(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        entry_id = await super().xadd(*args, **kwargs)
        if AnswerLostOnce.lost == 0:
            AnswerLostOnce.lost += 1
            raise aioredis.TimeoutError("answer lost")
        return entry_id


@pytest.mark.anyio
async def test_a_batch_whose_answer_was_lost_is_sent_again_unchanged_and_stored_once(redis_url, tmp_path):
    AnswerLostOnce.lost = 0
    client = AnswerLostOnce.from_url(redis_url)
    outcomes = Outcomes(client)
    outcomes.count(1, "demo", "accepted", "events", 3)
    await outcomes.flush()  # reaches Redis; the collector cannot know
    outcomes.count(1, "demo", "accepted", "events", 2)  # counted meanwhile: the next batch
    await asyncio.sleep(0.002)
    await outcomes.flush()  # the same batch again, then the new one
    entries = await client.xrange(OUTCOMES_STREAM)
    await client.aclose()

    batches = [decode_outcomes(fields[b"e"]) for _, fields in entries]
    assert [b.id for b in batches] == [batches[0].id, batches[0].id, batches[2].id]
    assert batches[0] == batches[1]  # the retry is the same batch: id, window and counts
    assert [sum(r.count for r in b.rows) for b in batches] == [3, 3, 2]
    assert batches[2].start == batches[0].end

    con = open_database(tmp_path / "vigil.duckdb")
    for _, fields in entries:  # each entry in its own consumer batch, as when the retry lands in a later drain
        insert(con, "outcomes", to_tables([process_outcomes(fields[b"e"])])["outcomes"])
    assert con.execute("SELECT sum(count) FROM outcomes").fetchone() == (5,)  # not 8
    con.close()
