"""Whether the collector lets a batch in: Redis down, a backlog over its bounds, rate limits.

Each test starts its own collector (real uvicorn, real redis-server) with the setting it is about.
"""

from __future__ import annotations

from contracts.spool import Spool
from contracts.stream import EVENTS_STREAM, decode_entry
from tests.collector.test_routes import batch, post
from tests.conftest import _service
from tests.helpers import wait_until


def test_health_and_readiness(http, collector):
    assert http.get(f"{collector.url}/healthz").json() == {"status": "ok"}
    assert http.get(f"{collector.url}/readyz").json() == {"status": "ok"}


def test_without_redis_events_are_spooled_and_readiness_says_so(http, data_dir, demo_project):
    dead_redis = "unix://" + str(data_dir / "nothing-listens-here.sock")
    service = _service("collector", data_dir, {"VIGIL_REDIS_URL": dead_redis}, "/healthz")
    try:
        assert http.get(f"{service.url}/readyz").status_code == 503
        response = post(http, service, demo_project, batch())
        assert (response.status_code, response.content) == (202, b"")
    finally:
        service.stop()
    spool = Spool(data_dir / "spool", max_bytes=1_000_000)  # kept for the next collector to replay
    (record,) = spool.oldest(10)
    spool.close()
    assert record.topic == EVENTS_STREAM
    assert decode_entry(record.data).batch.events[0].event_id == "e1"


def test_without_redis_or_spool_it_answers_503(http, data_dir, demo_project):
    dead_redis = "unix://" + str(data_dir / "nothing-listens-here.sock")
    env = {"VIGIL_REDIS_URL": dead_redis, "VIGIL_COLLECTOR_SPOOL_MAX_BYTES": "0"}
    service = _service("collector", data_dir, env, "/healthz")
    try:
        response = post(http, service, demo_project, batch())
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json() == {"error": "queue unavailable, retry later"}
    finally:
        service.stop()


def test_a_backlog_over_its_bound_gets_503_until_analytics_catches_up(
    http, data_dir, demo_project, redis_url, redis_client
):
    service = _service(
        "collector", data_dir, {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_MAX_BACKLOG": "2"}, "/healthz"
    )
    try:
        for _ in range(3):
            assert post(http, service, demo_project, batch()).status_code == 202
        refused = wait_until(
            lambda: (r := post(http, service, demo_project, batch())).status_code == 503 and r, timeout=5, what="503"
        )
        assert (refused.json(), refused.headers["retry-after"]) == ({"error": "analytics is behind, retry later"}, "30")
        redis_client.delete(EVENTS_STREAM)  # analytics caught up
        wait_until(lambda: post(http, service, demo_project, batch()).status_code == 202, timeout=5, what="202 again")
    finally:
        service.stop()


def test_redis_memory_over_the_byte_bound_gets_503_too(http, data_dir, demo_project, redis_url, redis_client):
    used = int(redis_client.info("memory")["used_memory"])
    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_MAX_BACKLOG_BYTES": str(used + 2_000_000)}
    service = _service("collector", data_dir, env, "/healthz")
    try:
        assert post(http, service, demo_project, batch()).status_code == 202
        redis_client.set("ballast", b"x" * 3_000_000)  # Redis now uses more than the bound
        refused = wait_until(
            lambda: (r := post(http, service, demo_project, batch())).status_code == 503 and r, timeout=5, what="503"
        )
        assert refused.headers["retry-after"] == "30"
        redis_client.delete("ballast")
        wait_until(lambda: post(http, service, demo_project, batch()).status_code == 202, timeout=5, what="202 again")
    finally:
        service.stop()


def test_too_many_requests_from_one_address_get_429_with_retry_after(http, data_dir, demo_project, redis_url):
    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0.5",
           "VIGIL_COLLECTOR_ADDRESS_BURST": "3"}  # fmt: skip
    service = _service("collector", data_dir, env, "/healthz")
    try:
        statuses = [post(http, service, demo_project, batch()).status_code for _ in range(4)]
        refused = post(http, service, demo_project, batch())
    finally:
        service.stop()
    assert statuses == [202, 202, 202, 429]
    assert refused.json() == {"error": "too many requests from this address"}
    assert refused.headers["retry-after"] == "2"


def test_a_project_over_its_event_rate_gets_429(http, data_dir, demo_project, redis_url, redis_client):
    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_PROJECT_EVENTS_PER_SECOND": "1",
           "VIGIL_COLLECTOR_PROJECT_BURST": "2"}  # fmt: skip
    service = _service("collector", data_dir, env, "/healthz")
    events = [dict(batch()["events"][0], event_id=f"e{n}") for n in range(3)]  # type: ignore[call-overload]
    try:
        too_many = post(http, service, demo_project, batch(events=events))
        fits = post(http, service, demo_project, batch(events=events[:2]))
    finally:
        service.stop()
    assert (too_many.status_code, too_many.json()) == (429, {"error": "this project is over its rate limit"})
    assert fits.status_code == 202
    assert redis_client.xlen(EVENTS_STREAM) == 1
