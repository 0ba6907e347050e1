"""Nothing answered 2xx is lost or stored twice, while Redis goes away and comes back under load."""

from __future__ import annotations

import threading
import time

import httpx

from contracts import runfiles
from contracts.read_api import ReadClient
from tests.collector.test_routes import batch
from tests.conftest import _service
from tests.helpers import wait_until

SENDERS = 4
BATCHES = 40
EVENTS = 5


def test_redis_stopped_during_a_load_then_started_loses_and_duplicates_nothing(
    data_dir, demo_project, redis_server_process, analytics
):
    env = {
        "VIGIL_REDIS_URL": redis_server_process.url,
        "VIGIL_COLLECTOR_SPOOL_AFTER_MS": "200",
        "VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0",
    }
    collector = _service("collector", data_dir, env, "/healthz")
    acknowledged: list[str] = []
    refused: list[int] = []
    sent = threading.Semaphore(0)

    def send(sender: int) -> None:
        with httpx.Client(timeout=10) as http:
            for n in range(BATCHES):
                ids = [f"s{sender}-b{n}-e{k}" for k in range(EVENTS)]
                events = [dict(batch()["events"][0], event_id=i) for i in ids]  # type: ignore[call-overload]
                response = http.post(
                    f"{collector.url}/api/{demo_project.id}/events",
                    params={"key": demo_project.public_key},
                    json=batch(batch_id=f"s{sender}-b{n}", events=events),
                )
                if response.status_code == 202:
                    acknowledged.extend(ids)
                else:
                    refused.append(response.status_code)
                sent.release()
                time.sleep(0.01)

    senders = [threading.Thread(target=send, args=(s,)) for s in range(SENDERS)]
    try:
        for thread in senders:
            thread.start()
        for _ in range(SENDERS * BATCHES // 3):  # a third of the load, then Redis goes away
            assert sent.acquire(timeout=30)
        redis_server_process.stop()
        for _ in range(SENDERS * BATCHES // 3):  # the next third while it is away
            assert sent.acquire(timeout=30)
        redis_server_process.start()
        for thread in senders:
            thread.join(60)
        info = runfiles.read_live(data_dir, "analytics")
        assert info is not None
        statement = "SELECT count(*), count(DISTINCT event_id) FROM errors"
        with ReadClient(info["url"], token=info["token"]) as client:
            wait_until(
                lambda: client.sql(statement).rows[0][0] >= len(acknowledged), timeout=60, what="every event stored"
            )
            time.sleep(1)  # anything still on its way (a duplicate would show now)
            (counts,) = client.sql(statement).rows
            stored = {row[0] for row in client.sql("SELECT event_id FROM errors").rows}
    finally:
        collector.stop()

    assert "replayed" in collector.output()  # Redis really was away: the spool carried entries
    assert refused == []  # the spool took what Redis could not
    assert len(acknowledged) == SENDERS * BATCHES * EVENTS
    assert counts == [len(acknowledged), len(acknowledged)]  # each once
    assert stored == set(acknowledged)
