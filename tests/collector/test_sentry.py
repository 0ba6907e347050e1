"""Sentry compatibility: the official Python SDK, and envelopes as SDKs frame them, against the real collector."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope, Item, PayloadRef

from analytics.sentry.convert import stream_entry
from contracts import runfiles
from contracts.projects import Project, load_projects
from contracts.read_api import ReadClient
from contracts.stream import (
    EVENTS_STREAM,
    SENTRY_STREAM,
    SentryEventEntry,
    decode_events_entry,
    decode_sentry_entry,
    payloads,
)
from tests.helpers import Service, wait_until


def dsn(collector: Service, project: Project) -> str:
    return collector.url.replace("http://", f"http://{project.public_key}@") + f"/{project.id}"


def envelope_url(collector: Service, project: Project) -> str:
    return f"{collector.url}/api/{project.id}/envelope/"


def stream(redis_client, name: str) -> list[bytes]:
    return [p for _, fields in redis_client.xrange(name) for p in payloads(fields)]


@pytest.fixture
def sdk(collector: Service, demo_project: Project):
    """The real sentry-sdk, pointed at the collector like any app would be."""
    sentry_sdk.init(dsn=dsn(collector, demo_project), release="shop-api@2.1.0", environment="test",
                    default_integrations=False, auto_session_tracking=False)  # fmt: skip
    yield sentry_sdk
    sentry_sdk.get_client().close(timeout=5)


def test_the_python_sdk_reports_an_exception_with_its_cause_and_it_is_stored(sdk, analytics, data_dir, redis_client):
    def checkout() -> float:
        try:
            return 1 / 0
        except ZeroDivisionError as e:
            raise ValueError("cart total failed") from e

    try:
        checkout()
    except ValueError:
        event_id = sdk.capture_exception()
    sdk.set_user({"id": "alice@example.com"})
    sdk.capture_message("disk almost full", level="warning")
    sdk.flush(timeout=5)

    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(info["url"], token=info["token"]) as client:
        statement = (
            "SELECT event_id, error_type, message, level, release, environment, mechanism, causes, stack, user_id "
            "FROM errors ORDER BY error_type DESC"
        )
        rows = wait_until(lambda: len(r := client.sql(statement).rows) == 2 and r, timeout=10, what="2 stored events")
    error, message = rows
    assert error[:7] == [event_id, "ValueError", "cart total failed", "error", "shop-api@2.1.0", "test", "generic"]
    assert [(c["error_type"], c["message"]) for c in json.loads(error[7])] == [
        ("ZeroDivisionError", "division by zero")
    ]
    assert error[8].startswith("ValueError: cart total failed\n    at checkout (")
    assert message[1:4] == ["Message", "disk almost full", "warning"]
    # The user's id, keyed with the project's secret token: the public key (in every DSN) cannot rebuild it.
    info_project = next(iter(load_projects(data_dir).values()))
    expected = hmac.new(info_project.secret_token.encode(), b"alice@example.com", hashlib.sha256).hexdigest()
    assert message[9] == expected
    assert hashlib.sha256(f"{info_project.public_key}:alice@example.com".encode()).hexdigest() != expected


def test_sessions_and_client_reports_as_the_sdk_frames_them(http, collector, demo_project, redis_client):
    envelope = Envelope(headers={"sdk": {"name": "sentry.python", "version": "2.75.0"}})
    envelope.add_session(sentry_sdk.session.Session(release="shop-api@2.1.0", environment="test"))
    envelope.add_item(Item(payload=PayloadRef(json={
        "attrs": {"release": "shop-api@2.1.0", "environment": "test"},
        "aggregates": [{"started": "2026-11-25T12:00:00Z", "exited": 5, "errored": 2}],
    }), type="sessions"))  # fmt: skip
    dropped = [{"reason": "queue_overflow", "category": "error", "quantity": 3}]
    report = {"timestamp": 1764072000.5, "discarded_events": dropped}
    envelope.add_item(Item(payload=PayloadRef(json=report), type="client_report"))
    envelope.add_item(Item(payload=PayloadRef(bytes=b"\x00binary"), type="attachment"))

    response = http.post(
        envelope_url(collector, demo_project),
        content=gzip.compress(envelope.serialize()),
        headers={"X-Sentry-Auth": f"Sentry sentry_key={demo_project.public_key}, sentry_version=7",
                 "Content-Type": "application/x-sentry-envelope", "Content-Encoding": "gzip"},
    )  # fmt: skip

    assert (response.status_code, response.json()) == (200, {"id": None})
    assert stream(redis_client, EVENTS_STREAM) == []
    (raw,) = stream(redis_client, SENTRY_STREAM)
    entry = decode_sentry_entry(raw)
    assert [(s.status, s.quantity, s.release) for s in entry.sessions] == [
        ("ok", 1, "shop-api@2.1.0"), ("exited", 5, "shop-api@2.1.0"), ("errored", 2, "shop-api@2.1.0"),
    ]  # fmt: skip
    assert [(d.reason, d.category, d.quantity) for d in entry.drops] == [("queue_overflow", "error", 3)]
    assert entry.sdk == "sentry.python"


def envelope_body(project: Project, event: dict[str, object], *, with_length: bool, dsn_text: str | None) -> bytes:
    header: dict[str, object] = {"event_id": event["event_id"]}
    if dsn_text:
        header["dsn"] = dsn_text
    payload = json.dumps(event).encode()
    item = {"type": "event", **({"length": len(payload)} if with_length else {})}
    return b"\n".join([json.dumps(header).encode(), json.dumps(item).encode(), payload]) + b"\n"


EVENT = {
    "event_id": "a" * 32,
    "timestamp": 1764072000.0,
    "platform": "javascript",
    "exception": {"values": [{"type": "TypeError", "value": "x is undefined", "mechanism": {"type": "onerror"},
                              "stacktrace": {"frames": [{"filename": "https://shop.example/app.js", "function": "pay",
                                                         "lineno": 1, "colno": 99}]}}]},
    "request": {"url": "https://shop.example/cart",
                "headers": {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}},
    "tags": {"plan": "pro"},
}  # fmt: skip


@pytest.mark.parametrize("with_length", [True, False])
def test_an_envelope_authenticated_by_its_dsn_alone(http, collector, demo_project, redis_client, with_length):
    body = envelope_body(demo_project, EVENT, with_length=with_length, dsn_text=dsn(collector, demo_project))
    response = http.post(envelope_url(collector, demo_project), content=body, headers={"Content-Type": "text/plain"})

    assert (response.status_code, response.json()) == (200, {"id": "a" * 32})
    (raw,) = stream(redis_client, EVENTS_STREAM)
    record = decode_events_entry(raw)
    # Queued as the SDK sent it but its user and its request's secrets, for analytics to convert.
    assert isinstance(record, SentryEventEntry)
    queued = json.loads(bytes(record.event))
    assert (record.event_id, queued["exception"], queued["tags"]) == ("a" * 32, EVENT["exception"], EVENT["tags"])
    entry = stream_entry(record, str)
    (event,) = entry.batch.events
    assert (event.error_type, event.message, event.mechanism, event.page_url) == (
        "TypeError", "x is undefined", "onerror", "https://shop.example/cart",
    )  # fmt: skip
    assert (event.file, event.line, event.column) == ("https://shop.example/app.js", 1, 99)
    assert entry.user_agent.endswith("Firefox/133.0")
    assert entry.batch.tags == {"plan": "pro"}


def test_the_users_identity_and_the_requests_secrets_never_reach_the_stream(
    http, collector, demo_project, redis_client
):
    event = {
        **EVENT,
        "user": {"id": "u-42", "email": "ann@example.com", "username": "ann", "ip_address": "203.0.113.77"},
        "request": {
            "url": "https://shop.example/cart", "method": "POST", "data": {"card": "4111111111111111"},
            "cookies": {"session": "s3cr3t-cookie"}, "env": {"REMOTE_ADDR": "203.0.113.77"},
            "query_string": "token=qs-secret", "fragment": "access_token=frag-secret",
            "headers": {"User-Agent": "Mozilla/5.0 Firefox/133.0", "Accept-Language": "de", "Cookie": "a=s3cr3t-cookie",
                        "Authorization": "Bearer bearer-secret", "X-Forwarded-For": "203.0.113.77"},
        },
    }  # fmt: skip
    response = http.post(envelope_url(collector, demo_project), params={"sentry_key": demo_project.public_key},
                         content=envelope_body(demo_project, event, with_length=True, dsn_text=None))  # fmt: skip
    assert response.status_code == 200

    (raw,) = stream(redis_client, EVENTS_STREAM)
    for secret in (b"u-42", b"ann@example.com", b'"ann"', b"203.0.113.77", b"s3cr3t-cookie", b"bearer-secret",
                   b"4111111111111111", b"qs-secret", b"frag-secret", b"REMOTE_ADDR"):  # fmt: skip
        assert secret not in raw, secret
    record = decode_events_entry(raw)
    assert isinstance(record, SentryEventEntry)
    assert record.client_ip == "203.0.113.0"  # the user's address, anonymized: the project keeps none
    assert len(record.user_id) == 64  # the id keyed with the project's secret
    assert json.loads(bytes(record.event))["request"] == {
        "url": "https://shop.example/cart", "method": "POST",
        "headers": {"User-Agent": "Mozilla/5.0 Firefox/133.0", "Accept-Language": "de"},
    }  # fmt: skip


def test_the_store_endpoint_takes_one_event(http, collector, demo_project, redis_client):
    response = http.post(
        f"{collector.url}/api/{demo_project.id}/store/", params={"sentry_key": demo_project.public_key}, json=EVENT
    )
    assert (response.status_code, response.json()) == (200, {"id": "a" * 32})
    assert len(stream(redis_client, EVENTS_STREAM)) == 1


def test_auth_is_required_and_must_agree(http, collector, demo_project, data_dir, redis_client):
    from contracts.projects import create_project

    other = create_project(data_dir, "other")
    url = envelope_url(collector, demo_project)
    wait_until(
        lambda: http.post(f"{collector.url}/api/{other.id}/store/", params={"sentry_key": other.public_key},
                          json=EVENT).status_code == 200,
        timeout=5, what="the new project",
    )  # fmt: skip
    redis_client.delete(EVENTS_STREAM)
    # The demo project's id with the other project's key.
    crossed = dsn(collector, other).replace(f"/{other.id}", f"/{demo_project.id}")
    cases = {
        "none": http.post(url, content=envelope_body(demo_project, EVENT, with_length=True, dsn_text=None)),
        "wrong query key": http.post(url, params={"sentry_key": other.public_key},
                                     content=envelope_body(demo_project, EVENT, with_length=True, dsn_text=None)),
        "dsn of another project": http.post(url, content=envelope_body(
            demo_project, EVENT, with_length=True, dsn_text=dsn(collector, other))),
        "query and dsn disagree": http.post(
            url, params={"sentry_key": demo_project.public_key},
            content=envelope_body(demo_project, EVENT, with_length=True, dsn_text=crossed)),
        "secret token": http.post(url, params={"sentry_key": demo_project.secret_token},
                                  content=envelope_body(demo_project, EVENT, with_length=True, dsn_text=None)),
    }  # fmt: skip
    for name, response in cases.items():
        assert response.status_code == 403, name
        assert response.headers["x-sentry-error"], name
    assert stream(redis_client, EVENTS_STREAM) == []


def test_unknown_items_are_skipped_and_counted(http, collector, demo_project, redis_client):
    body = envelope_body(demo_project, EVENT, with_length=True, dsn_text=dsn(collector, demo_project))
    body += b'{"type":"replay_event","length":2}\n{}\n{"type":"transaction"}\n{"type":"transaction"}\n'
    response = http.post(envelope_url(collector, demo_project), content=body)
    assert response.status_code == 200
    assert len(stream(redis_client, EVENTS_STREAM)) == 1
    metrics = http.get(f"{collector.url}/metrics").text
    assert 'outcome="skipped",project="demo",reason="sentry_replay_event",unit="event"} 1.0' in metrics
    assert 'outcome="skipped",project="demo",reason="sentry_transaction",unit="event"} 1.0' in metrics


def test_bad_envelopes_are_400_with_the_reason(http, collector, demo_project, redis_client):
    key = {"sentry_key": demo_project.public_key}
    url = envelope_url(collector, demo_project)
    bodies = (
        b"not json\n", b'{}\n{"type":"event","length":500}\n{}', b'{}\n{"type":"event"}\n{"exception": 5\n',
        b'{}\n{"type":"event"}\n[1]\n', b'{}\n{"type":"event"}\n{"user": "alice"}\n',
        b'{}\n{"type":"event"}\n{"a": 1} trailing\n',
        b"", b"\n", b"   \n\n", b"\x00\x01\xff garbage", b'"just a string"', b"[1, 2]",
    )  # fmt: skip
    for body in bodies:
        response = http.post(url, params=key, content=body)
        assert response.status_code == 400, body
        assert "\n" not in response.json()["error"]
        assert response.headers["x-sentry-error"]
    assert stream(redis_client, EVENTS_STREAM) == []
    # A valid envelope that holds no event is still fine, as with Relay.
    empty = http.post(url, params=key, content=b"{}\n")
    assert (empty.status_code, empty.json()) == (200, {"id": None})
    # JSON whose fields further in have the wrong types is queued: analytics counts it as invalid
    # (tests/analytics/test_sentry_convert.py): the collector reads only the event's top level.
    typed = http.post(url, params=key, content=b'{}\n{"type":"event"}\n{"event_id": "b", "exception": 5}\n')
    assert (typed.status_code, typed.json()) == (200, {"id": "b"})
    assert len(stream(redis_client, EVENTS_STREAM)) == 1


def test_a_dsn_in_the_header_line_authenticates_before_the_rest_is_decompressed(
    http, collector, demo_project, redis_client
):
    url = envelope_url(collector, demo_project)
    good = gzip.compress(envelope_body(demo_project, EVENT, with_length=True, dsn_text=dsn(collector, demo_project)))
    response = http.post(url, content=good, headers={"Content-Encoding": "gzip"})
    assert (response.status_code, response.json()) == (200, {"id": "a" * 32})
    # A wrong DSN followed by a decompression bomb: refused for the DSN (403), not for the bomb (413):
    # only the header line was decoded.
    wrong = json.dumps({"dsn": dsn(collector, demo_project).replace(demo_project.public_key, "0" * 32)}).encode()
    bomb = gzip.compress(wrong + b"\n" + b"{" * 50_000_000)
    assert len(bomb) < 1_000_000
    refused = http.post(url, content=bomb, headers={"Content-Encoding": "gzip"})
    assert refused.status_code == 403
    assert len(stream(redis_client, EVENTS_STREAM)) == 1


def test_cors_lets_the_browser_sdk_read_rate_limits(http, collector, demo_project):
    preflight = http.options(envelope_url(collector, demo_project), headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})  # fmt: skip
    response = http.post(
        envelope_url(collector, demo_project), params={"sentry_key": demo_project.public_key},
        content=envelope_body(demo_project, EVENT, with_length=True, dsn_text=None),
        headers={"Origin": "https://shop.example", "Content-Type": "text/plain;charset=UTF-8"},
    )  # fmt: skip
    assert preflight.status_code == 204
    assert "X-Sentry-Auth" in preflight.headers["access-control-allow-headers"]
    assert response.headers["access-control-allow-origin"] == "https://shop.example"
    assert "X-Sentry-Rate-Limits" in response.headers["access-control-expose-headers"]


def test_a_rate_limited_sdk_is_told_how_long_to_wait(http, data_dir, demo_project, redis_url):
    from tests.conftest import _service

    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_PROJECT_EVENTS_PER_SECOND": "0.1",
           "VIGIL_COLLECTOR_PROJECT_BURST": "1"}  # fmt: skip
    service = _service("collector", data_dir, env, "/healthz")
    try:
        url = f"{service.url}/api/{demo_project.id}/store/"
        statuses = [http.post(url, params={"sentry_key": demo_project.public_key}, json=EVENT) for _ in range(2)]
    finally:
        service.stop()
    assert [r.status_code for r in statuses] == [200, 429]
    assert statuses[1].headers["x-sentry-rate-limits"] == "10::project"
    assert statuses[1].headers["retry-after"] == "10"


def _stored(data_dir, statement: str, rows: int) -> list[list[object]]:
    info = runfiles.read_live(data_dir, "analytics")
    assert info is not None
    with ReadClient(info["url"], token=info["token"]) as client:
        return wait_until(lambda: len(r := client.sql(statement).rows) == rows and r, timeout=10,
                          what=f"{rows} stored rows")  # fmt: skip


def test_the_sdks_in_app_frames_and_source_lines_make_the_culprit(sdk, analytics, data_dir):
    def load_cart() -> dict[str, int]:
        raise KeyError("cart-17")

    try:
        json.loads("{}", object_hook=lambda _: load_cart())  # through the standard library's frames
    except KeyError:
        sdk.capture_exception()
    sdk.flush(timeout=5)

    [[culprit, frames]] = _stored(data_dir, "SELECT culprit, frames FROM errors", 1)
    # The SDK says which frames are the application's (this file's, not the json module's): Vigil keeps its word.
    assert culprit == "load_cart (test_sentry.py)"
    stored = json.loads(frames)
    assert {f["in_app"] for f in stored if "/json/" in f["url"]} == {False}
    innermost = stored[0]
    assert (innermost["function"], innermost["in_app"]) == ("load_cart", True)
    assert innermost["url"].endswith("tests/collector/test_sentry.py")
    assert innermost["context"].strip() == 'raise KeyError("cart-17")'
    assert innermost["pre_context"][-1].strip() == "def load_cart() -> dict[str, int]:"


def test_messages_with_a_synthetic_stack_or_a_template_are_messages_grouped_by_template(
    http, collector, demo_project, analytics, data_dir
):
    frames = [{"function": "pay", "abs_path": "https://shop.example/app.js", "lineno": 1, "colno": 200,
               "in_app": True}]  # fmt: skip
    synthetic = {
        "event_id": "a" * 32, "level": "info", "platform": "javascript", "message": "Checkout took 9 s",
        "exception": {"values": [{"value": "Checkout took 9 s", "stacktrace": {"frames": frames},
                                  "mechanism": {"type": "generic", "synthetic": True, "handled": True}}]},
    }  # fmt: skip
    logged = [
        {"event_id": f"{n}" * 32, "level": "error", "platform": "python",
         "logentry": {"message": "Payment %s failed", "params": [who], "formatted": f"Payment {who} failed"}}
        for n, who in ((1, "alice"), (2, "bob"))
    ]  # fmt: skip
    for event in (synthetic, *logged):
        body = json.dumps({"event_id": event["event_id"]}) + "\n" + json.dumps({"type": "event"}) + "\n"
        body += json.dumps(event) + "\n"
        answer = http.post(envelope_url(collector, demo_project), content=body,
                           headers={"X-Sentry-Auth": f"Sentry sentry_key={demo_project.public_key}"})  # fmt: skip
        assert answer.status_code == 200, answer.text

    statement = (
        "SELECT e.error_type, e.message, e.mechanism, e.issue_id, i.title, e.stack <> '' FROM errors e "
        "JOIN issues i USING (issue_id) ORDER BY e.event_id"
    )
    [alice, bob, checkout] = _stored(data_dir, statement, 3)
    assert checkout[:3] == ["Message", "Checkout took 9 s", "message"]
    assert (checkout[4], checkout[5]) == ("Checkout took 9 s", True)  # titled by the message; its stack kept
    assert alice[:3] == ["Message", "Payment alice failed", "message"]
    assert bob[3] == alice[3]  # one issue: the same template
    assert alice[4] == "Payment alice failed"


def test_extra_contexts_request_and_the_users_address_are_kept_within_bounds(
    sdk, http, collector, demo_project, analytics, data_dir
):
    sdk.set_extra("cart", {"lines": 3, "coupon": "WINTER", "deep": {"a": {"b": {"c": {"d": {"e": "cut"}}}}}})
    sdk.set_context("runtime", {"name": "CPython", "version": "3.11.7"})
    sdk.capture_event({
        "message": "checkout failed", "level": "error",
        "user": {"id": "u-7", "ip_address": "203.0.113.77"},
        "request": {"method": "POST", "url": "https://api.shop.example/checkout",
                    "headers": {"Content-Type": "application/json", "Cookie": "session=abc",
                                "Authorization": "Bearer xyz", "X-Api-Key": "k", "Accept-Language": "de",
                                "X-Forwarded-For": "203.0.113.77", "X-Real-IP": "203.0.113.77"}},
    })  # fmt: skip
    sdk.flush(timeout=5)
    # The user's own address, as a server SDK sends it with send_default_pii (the SDK leaves it out otherwise).
    event = {"event_id": "f" * 32, "message": "payment failed", "user": {"id": "u-8", "ip_address": "203.0.113.77"}}
    body = "\n".join([json.dumps({"event_id": event["event_id"]}), json.dumps({"type": "event"}), json.dumps(event)])
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={demo_project.public_key}"}
    assert http.post(envelope_url(collector, demo_project), content=body, headers=auth).status_code == 200

    where = "FROM errors WHERE message ="
    [[extra, contexts, request, page]] = _stored(data_dir, f"SELECT extra, contexts, request, page_url {where} "
                                                           "'checkout failed'", 1)  # fmt: skip
    [[address]] = _stored(data_dir, f"SELECT client_ip {where} 'payment failed'", 1)
    cart = json.loads(extra)["cart"]
    assert (cart["lines"], cart["coupon"]) == (3, "WINTER")
    assert json.loads(contexts)["runtime"] == {"name": "CPython", "version": "3.11.7"}
    # Cookies, credentials and the user's address (kept only as client_ip) never kept; the method and the rest are.
    assert json.loads(request) == {"method": "POST", "headers": {"Content-Type": "application/json",
                                                                  "Accept-Language": "de"}}  # fmt: skip
    assert page == "https://api.shop.example/checkout"
    assert address == "203.0.113.0"  # the user's, anonymized as the project does not keep addresses
