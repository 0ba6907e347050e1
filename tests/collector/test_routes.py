"""The collector's endpoints against a real uvicorn and a real redis-server."""

from __future__ import annotations

import gzip
import json
import time
import zlib

import httpx
import msgspec
import redis

from collector.scripts import DIST
from contracts.projects import Project, create_project
from contracts.stream import EVENTS_STREAM, decode_entry
from tests.helpers import Service, wait_until


def batch(**overrides: object) -> dict[str, object]:
    event = {
        "type": "error",
        "event_id": "e1",
        "ts": 1_764_072_000_000,
        "page_url": "https://shop.example/cart",
        "error_type": "TypeError",
        "message": "boom",
        "stack": "TypeError: boom\n    at f (https://shop.example/app.js:1:2)",
    }
    body: dict[str, object] = {"v": 1, "batch_id": "b1", "sent_at": 1_764_072_000_500, "events": [event]}
    body.update(overrides)
    return body


def post(
    http: httpx.Client, collector: Service, project: Project, body: bytes | dict[str, object], **kw: object
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": "test-agent/1.0", **kw.pop("headers", {})}  # type: ignore[dict-item]
    params = {"key": kw.pop("key", project.public_key)}
    project_id = kw.pop("project_id", project.id)
    return http.post(f"{collector.url}/api/{project_id}/events", params=params, content=content, headers=headers)


def test_a_valid_batch_is_queued_and_answered_202(http, collector, demo_project, redis_client: redis.Redis):
    response = post(http, collector, demo_project, batch(release="shop@1.0", environment="prod"))

    # Every event queued: nothing more to say, so no body (one write instead of two per answer).
    assert (response.status_code, response.content, response.headers["content-length"]) == (202, b"", "0")
    ((_, fields),) = redis_client.xrange(EVENTS_STREAM)
    entry = decode_entry(fields[b"e"])
    assert (entry.project_id, entry.project, entry.user_agent) == (demo_project.id, "demo", "test-agent/1.0")
    assert (entry.batch.release, entry.batch.environment) == ("shop@1.0", "prod")
    (event,) = entry.batch.events
    assert (event.event_id, event.error_type, event.message) == ("e1", "TypeError", "boom")
    assert abs(entry.received_at - time.time() * 1000) < 60_000


def test_application_json_is_accepted_too(http, collector, demo_project, redis_client):
    response = post(http, collector, demo_project, batch(), headers={"Content-Type": "application/json"})
    assert response.status_code == 202
    assert redis_client.xlen(EVENTS_STREAM) == 1


def assert_refused(response: httpx.Response, status: int, reason_part: str, redis_client: redis.Redis) -> None:
    assert response.status_code == status
    body = response.json()
    assert reason_part in body["error"]
    assert "\n" not in body["error"]
    assert redis_client.exists(EVENTS_STREAM) == 0


def test_malformed_json_is_400_and_nothing_is_written(http, collector, demo_project, redis_client):
    assert_refused(post(http, collector, demo_project, b'{"v": 1, "events": ['), 400, "malformed JSON", redis_client)


def test_a_schema_violation_names_the_field(http, collector, demo_project, redis_client):
    body = batch()
    body["events"][0]["event_id"] = "x" * 65  # type: ignore[index]
    assert_refused(post(http, collector, demo_project, body), 400, "$.events[0].event_id", redis_client)


def test_missing_fields_wrong_version_and_empty_batches_are_400(http, collector, demo_project, redis_client):
    deep = b'{"v": 1, "batch_id": "b", "sent_at": 1, "x": ' + b"[" * 5000 + b"]" * 5000 + b', "events": [{}]}'
    for body in (batch(v=2), batch(events=[]), {"v": 1}, batch(sent_at=-1), b"[]", b"\xff\xfe", deep):
        response = post(http, collector, demo_project, body)
        assert response.status_code == 400, body[:60]
        assert "\n" not in response.json()["error"]
    assert redis_client.exists(EVENTS_STREAM) == 0


def test_lone_surrogates_from_javascript_become_replacement_characters(http, collector, demo_project, redis_client):
    # JSON.stringify of a string holding half an emoji, as a browser writes it.
    text = "cut \\ud83d here, and \\ude00 there, whole \\ud83d\\ude00"
    body = json.dumps(batch()).replace("boom", text).encode()
    assert post(http, collector, demo_project, body).status_code == 202
    ((_, fields),) = redis_client.xrange(EVENTS_STREAM)
    assert decode_entry(fields[b"e"]).batch.events[0].message == "cut \ufffd here, and \ufffd there, whole \U0001f600"


def test_event_types_this_collector_does_not_know_are_skipped_and_counted(http, collector, demo_project, redis_client):
    body = batch()
    body["events"].append({"type": "from-the-future", "event_id": "f1", "anything": [1, 2]})  # type: ignore[attr-defined]
    response = post(http, collector, demo_project, body)

    assert (response.status_code, response.json()) == (202, {"accepted": 1, "skipped": 1})
    ((_, fields),) = redis_client.xrange(EVENTS_STREAM)
    assert [e.event_id for e in decode_entry(fields[b"e"]).batch.events] == ["e1"]


def test_only_what_the_schema_validated_reaches_the_stream(http, collector, demo_project, redis_client):
    """A 4 KB gzip body of unknown fields and padding once became a 4 MB stream entry."""
    body = batch(padding="x" * 2_000_000)
    body["events"][0]["unknown"] = ["y" * 1000] * 1000  # type: ignore[index]
    raw = json.dumps(body, indent=100).encode()  # whitespace too
    compressed = gzip.compress(raw)
    assert len(compressed) < 50_000 < 3_000_000 < len(raw)
    response = post(http, collector, demo_project, compressed, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 202
    ((_, fields),) = redis_client.xrange(EVENTS_STREAM)
    assert len(fields[b"e"]) < 1000
    assert b"padding" not in fields[b"e"]
    assert b"unknown" not in fields[b"e"]
    assert decode_entry(fields[b"e"]).batch.events[0].message == "boom"


def test_a_bad_event_is_named_by_its_index(http, collector, demo_project, redis_client):
    body = batch()
    body["events"].append({"type": "network", "event_id": "n1"})  # type: ignore[attr-defined]
    response = post(http, collector, demo_project, body)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid batch: Object missing required field `ts` - at `$.events[1]`"}


def test_a_wrong_key_is_403(http, collector, demo_project, redis_client):
    assert_refused(
        post(http, collector, demo_project, batch(), key="0" * 32), 403, "unknown project or key", redis_client
    )


def test_the_secret_token_is_not_a_public_key(http, collector, demo_project, redis_client):
    response = post(http, collector, demo_project, batch(), key=demo_project.secret_token)
    assert_refused(response, 403, "unknown project or key", redis_client)


def test_an_unknown_project_is_403(http, collector, demo_project, redis_client):
    assert_refused(post(http, collector, demo_project, batch(), project_id=999), 403, "unknown project", redis_client)


def test_an_oversized_body_is_413(http, collector, demo_project, redis_client):
    big = json.dumps(batch(release="x" * 1_100_000)).encode()
    assert_refused(post(http, collector, demo_project, big), 413, "larger than 1000000 bytes", redis_client)


def test_an_oversized_chunked_body_is_413(http, collector, demo_project, redis_client):
    def chunks():
        yield b'{"v": 1, "release": "'
        for _ in range(200):
            yield b"x" * 10_000

    response = http.post(
        f"{collector.url}/api/{demo_project.id}/events",
        params={"key": demo_project.public_key},
        content=chunks(),
    )
    assert_refused(response, 413, "larger than", redis_client)


def test_a_project_created_while_running_is_accepted_within_seconds(http, collector, data_dir, redis_client):
    shop = create_project(data_dir, "shop")
    response = wait_until(
        lambda: (r := post(http, collector, shop, batch())).status_code == 202 and r,
        timeout=5,
        what="the new project to be accepted",
        interval=0.1,
    )
    assert response.content == b""  # every event queued


def test_origins_are_enforced_for_projects_that_list_them(http, collector, data_dir, redis_client):
    shop = create_project(data_dir, "shop", ("https://shop.example",))
    wait_until(lambda: post(http, collector, shop, batch()).status_code == 202, timeout=5, what="project reload")

    allowed = post(http, collector, shop, batch(), headers={"Origin": "https://shop.example"})
    refused = post(http, collector, shop, batch(), headers={"Origin": "https://evil.example"})

    assert allowed.status_code == 202
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert (refused.status_code, refused.json()) == (403, {"error": "origin not allowed for this project"})


def test_preflight_is_answered_for_allowed_origins_only(http, collector, demo_project):
    url = f"{collector.url}/api/{demo_project.id}/events"
    ok = http.options(url, headers={"Origin": "https://any.example", "Access-Control-Request-Method": "POST"})
    unknown = http.options(f"{collector.url}/api/999/events", headers={"Origin": "https://any.example"})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert unknown.status_code == 403


def test_compressed_bodies_are_accepted_and_bombs_refused(http, collector, demo_project, redis_client):
    import gzip

    import brotli
    import zstandard

    raw = json.dumps(batch()).encode()
    for encoding, body in (
        ("gzip", gzip.compress(raw)),
        ("deflate", zlib.compress(raw)),
        ("br", brotli.compress(raw)),
        ("zstd", zstandard.ZstdCompressor().compress(raw)),
    ):
        response = post(http, collector, demo_project, body, headers={"Content-Encoding": encoding})
        assert (encoding, response.status_code) == (encoding, 202)
    assert redis_client.xlen(EVENTS_STREAM) == 4

    bomb = gzip.compress(b'{"v": 1, "release": "' + b"x" * 50_000_000)
    assert len(bomb) < 1_000_000
    response = post(http, collector, demo_project, bomb, headers={"Content-Encoding": "gzip"})
    assert (response.status_code, response.json()) == (413, {"error": "decompressed body is larger than 5000000 bytes"})
    garbage = post(http, collector, demo_project, b"not gzip", headers={"Content-Encoding": "gzip"})
    unknown = post(http, collector, demo_project, raw, headers={"Content-Encoding": "lzma"})
    assert garbage.status_code == 400
    assert unknown.status_code == 415
    assert redis_client.xlen(EVENTS_STREAM) == 4


def test_the_beacon_scripts_are_served_and_revalidated(http, collector):
    for path, built in (("/beacon.js", "vigil.js"), ("/loader.js", "loader.js")):
        response = http.get(f"{collector.url}{path}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/javascript")
        assert response.content == (DIST / built).read_bytes()
        again = http.get(f"{collector.url}{path}", headers={"If-None-Match": response.headers["etag"]})
        assert (again.status_code, again.content) == (304, b"")


def test_retry_after_is_readable_by_the_beacon(http, collector, demo_project):
    response = post(http, collector, demo_project, batch(), headers={"Origin": "https://shop.example"})
    assert "Retry-After" in response.headers["access-control-expose-headers"].split(", ")


def test_unknown_paths_methods_and_non_numeric_projects_are_json_errors(http, collector, demo_project):
    for response, status in (
        (http.post(f"{collector.url}/api/demo/events", content=b"{}"), 404),
        (http.get(f"{collector.url}/nope"), 404),
        (http.get(f"{collector.url}/api/1/events"), 405),
    ):
        assert response.status_code == status
        assert response.headers["content-type"] == "application/json"
        assert set(response.json()) == {"error"}


def test_an_overlong_key_is_refused_without_comparing_it(http, collector, demo_project, redis_client):
    assert_refused(post(http, collector, demo_project, batch(), key="k" * 10_000), 403, "unknown project", redis_client)


def test_entries_decode_to_the_same_batch_that_was_sent(http, collector, demo_project, redis_client):
    body = batch(session_id="s1", sdk="vigil.js/0.1.0")
    post(http, collector, demo_project, body)
    ((_, fields),) = redis_client.xrange(EVENTS_STREAM)
    sent = msgspec.json.decode(json.dumps(body))
    stored = msgspec.to_builtins(decode_entry(fields[b"e"]).batch)
    assert {k: stored[k] for k in sent if k != "events"} == {k: v for k, v in sent.items() if k != "events"}


def test_metrics_count_requests_outcomes_and_state(http, collector, demo_project):
    post(http, collector, demo_project, batch())
    post(http, collector, demo_project, b"{broken")
    text = http.get(f"{collector.url}/metrics").text

    assert 'vigil_collector_requests_total{route="events",status="202"} 1.0' in text
    assert 'vigil_collector_requests_total{route="events",status="400"} 1.0' in text
    assert 'vigil_collector_events_total{outcome="accepted",project="demo",reason="events",unit="event"} 1.0' in text
    assert (
        'vigil_collector_events_total{outcome="invalid",project="demo",reason="malformed",unit="request"} 1.0' in text
    )
    assert "vigil_collector_spooled_entries 0.0" in text
    assert "vigil_collector_redis_seconds_count 1.0" in text


def test_several_workers_share_the_port_and_their_metrics(http, data_dir, demo_project, redis_url, redis_client):
    from tests.conftest import _service

    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_WORKERS": "2"}
    service = _service("collector", data_dir, env, "/healthz")
    try:
        for _ in range(20):
            with httpx.Client(timeout=10) as fresh:  # new connections, so both workers get some
                assert post(fresh, service, demo_project, batch()).status_code == 202
        # Each worker adds its counts to the shared counters once a second.
        wait_until(
            lambda: (
                'vigil_collector_requests_total{route="events",status="202"} 20.0'
                in http.get(f"{service.url}/metrics").text
            ),
            timeout=10,
            what="both workers' counts",
        )
    finally:
        service.stop()
