"""The browser's own reports: Reporting API and legacy CSP reports."""

from __future__ import annotations

import json
import time

import pytest

from contracts.stream import EVENTS_STREAM, decode_entry
from tests.helpers import Service


def reports_url(collector: Service, project) -> str:  # type: ignore[no-untyped-def]
    return f"{collector.url}/api/{project.id}/reports?key={project.public_key}"


REPORTS = [
    {"type": "csp-violation", "age": 1200, "url": "https://shop.example/cart", "user_agent": "Mozilla/5.0",
     "body": {"documentURL": "https://shop.example/cart", "blockedURL": "https://evil.example/x.js",
              "effectiveDirective": "script-src-elem", "originalPolicy": "script-src 'self'; report-to vigil",
              "disposition": "enforce", "statusCode": 200, "lineNumber": 12, "columnNumber": 3, "sample": ""}},
    {"type": "network-error", "age": 0, "url": "https://api.shop.example/pay", "user_agent": "Mozilla/5.0",
     "body": {"type": "tcp.timed_out", "phase": "connection", "elapsed_time": 10023, "method": "POST",
              "status_code": 0, "referrer": "https://shop.example/cart", "sampling_fraction": 1.0}},
    {"type": "network-error", "age": 0, "url": "https://api.shop.example/ok", "user_agent": "Mozilla/5.0",
     "body": {"type": "ok", "phase": "application", "elapsed_time": 20, "status_code": 200}},
    {"type": "deprecation", "age": 50, "url": "https://shop.example/", "user_agent": "Mozilla/5.0",
     "body": {"id": "UnloadHandler", "message": "Unload event listeners are deprecated",
              "sourceFile": "https://shop.example/app.js", "lineNumber": 7, "columnNumber": 9}},
    {"type": "crash", "age": 0, "url": "https://shop.example/heavy", "user_agent": "Mozilla/5.0",
     "body": {"reason": "oom"}},
    {"type": "permissions-policy-violation", "age": 0, "url": "https://shop.example/", "user_agent": "Mozilla/5.0",
     "body": {"featureId": "camera", "disposition": "enforce"}},
]  # fmt: skip


def test_reporting_api_reports_become_events_with_their_age_subtracted(http, collector, demo_project, redis_client):
    sent = time.time() * 1000
    response = http.post(
        reports_url(collector, demo_project),
        content=json.dumps(REPORTS),
        headers={"Content-Type": "application/reports+json"},
    )
    assert response.status_code == 204
    ((_, fields),) = redis_client.xrange(EVENTS_STREAM)
    entry = decode_entry(fields[b"e"])
    assert entry.source == "reporting_api"
    csp, nel, deprecation, crash, unknown = entry.batch.events
    assert (csp.blocked_uri, csp.effective_directive, csp.line, csp.status_code) == (
        "https://evil.example/x.js", "script-src-elem", 12, 200,
    )  # fmt: skip
    assert abs(csp.ts - (sent - 1200)) < 2000
    assert (nel.api, nel.method, nel.url, nel.failure, nel.nel_phase, nel.nel_type, nel.duration) == (
        "nel", "POST", "https://api.shop.example/pay", "timeout", "connection", "tcp.timed_out", 10023.0,
    )  # fmt: skip
    assert (deprecation.report_type, deprecation.report_id, deprecation.line) == ("deprecation", "UnloadHandler", 7)
    assert (crash.report_type, crash.message) == ("crash", "oom")
    assert (unknown.report_type, json.loads(unknown.message)) == (
        "permissions-policy-violation", {"featureId": "camera", "disposition": "enforce"},
    )  # fmt: skip
    metrics = http.get(f"{collector.url}/metrics").text
    assert 'outcome="skipped",project="demo",reason="nel_ok",unit="event"} 1.0' in metrics


def test_legacy_csp_reports_are_taken(http, collector, demo_project, redis_client):
    body = {"csp-report": {"document-uri": "https://shop.example/", "blocked-uri": "inline",
                           "violated-directive": "script-src", "effective-directive": "script-src-elem",
                           "original-policy": "script-src 'self'", "line-number": 4}}  # fmt: skip
    response = http.post(
        reports_url(collector, demo_project),
        content=json.dumps(body),
        headers={"Content-Type": "application/csp-report"},
    )
    assert response.status_code == 204
    ((_, fields),) = redis_client.xrange(EVENTS_STREAM)
    (event,) = decode_entry(fields[b"e"]).batch.events
    assert (event.page_url, event.blocked_uri, event.violated_directive, event.line) == (
        "https://shop.example/", "inline", "script-src", 4,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [(b"{nope", "application/reports+json", 400), (b'{"x": 1}', "application/csp-report", 400),
     (json.dumps([REPORTS[0]] * 101).encode(), "application/reports+json", 400)],
)  # fmt: skip
def test_bad_report_bodies_are_400(http, collector, demo_project, redis_client, body, content_type, status):
    response = http.post(reports_url(collector, demo_project), content=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert redis_client.exists(EVENTS_STREAM) == 0


def test_reports_need_the_public_key_and_get_a_preflight(http, collector, demo_project):
    refused = http.post(f"{collector.url}/api/{demo_project.id}/reports?key=nope", content=b"[]")
    preflight = http.options(
        f"{collector.url}/api/{demo_project.id}/reports",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )  # fmt: skip
    assert refused.status_code == 403
    assert preflight.status_code == 204
