"""Property-based: whatever bytes, JSON or envelopes arrive, no endpoint answers 5xx or falls over."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.projects import Project
from tests.helpers import Service

# One collector serves every example of a test: these tests look for crashes, not state.
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ENDPOINTS = ["events", "envelope/", "store/", "reports"]
#: The answers docs/protocol.md, docs/sentry.md and docs/reporting.md document; anything else is a bug.
DOCUMENTED = {200, 202, 204, 400, 403, 413, 415, 429, 503}
CONTENT_TYPES = ["text/plain", "application/json", "application/x-sentry-envelope", "application/reports+json",
                 "application/csp-report", "", "multipart/form-data"]  # fmt: skip
ENCODINGS = ["", "gzip", "deflate", "br", "zstd", "identity", "lzma", "gzip, br"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)


@pytest.fixture
def collector(data_dir, demo_project, redis_url):  # type: ignore[no-untyped-def]
    """A collector without rate limits, so every example reaches the parsers."""
    from tests.conftest import _service

    env = {"VIGIL_REDIS_URL": redis_url, "VIGIL_COLLECTOR_ADDRESS_REQUESTS_PER_SECOND": "0",
           "VIGIL_COLLECTOR_PROJECT_EVENTS_PER_SECOND": "0", "VIGIL_COLLECTOR_SPIKE_FACTOR": "0"}  # fmt: skip
    service = _service("collector", data_dir, env, "/healthz")
    yield service
    assert http_ok(service)
    service.stop()


def http_ok(service: Service) -> bool:
    """After all examples, the collector still answers."""
    return httpx.get(f"{service.url}/healthz", timeout=5).json() == {"status": "ok"}


def send(http: httpx.Client, collector: Service, project: Project, endpoint: str, body: bytes, **headers: str) -> int:
    params = {"key": project.public_key, "sentry_key": project.public_key}
    response = http.post(
        f"{collector.url}/api/{project.id}/{endpoint}",
        params=params,
        content=body,
        headers={k.replace("_", "-"): v for k, v in headers.items() if v},
    )
    assert response.status_code in DOCUMENTED, (endpoint, body[:200], response.status_code, response.text[:200])
    assert response.status_code != 503 or "retry-after" in response.headers
    if response.content:  # 204, and a 202 with every event queued, have none
        assert isinstance(response.json(), dict)
    return response.status_code


@FUZZ
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=st.binary(max_size=2000),
    content_type=st.sampled_from(CONTENT_TYPES),
    encoding=st.sampled_from(ENCODINGS),
)
def test_arbitrary_bytes(http, collector, demo_project, endpoint, body, content_type, encoding):
    send(http, collector, demo_project, endpoint, body, content_type=content_type, content_encoding=encoding)


@FUZZ
@given(endpoint=st.sampled_from(ENDPOINTS), value=json_values, compress=st.booleans())
def test_arbitrary_json(http, collector, demo_project, endpoint, value, compress):
    body = json.dumps(value).encode()
    send(http, collector, demo_project, endpoint, gzip.compress(body) if compress else body,
         content_encoding="gzip" if compress else "")  # fmt: skip


event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["error", "resource", "network", "vital", "pageview", "csp", "report", "x"])},
    optional={
        "event_id": st.text(max_size=70), "ts": st.integers(), "page_url": st.text(max_size=40),
        "error_type": st.text(max_size=10), "message": st.text(max_size=40), "line": st.integers(),
        "breadcrumbs": st.lists(json_values, max_size=3), "attribution": json_values, "value": st.floats(),
        "name": st.sampled_from(["LCP", "INP", "CLS", "bogus"]), "rating": st.text(max_size=20),
    },
)  # fmt: skip


@FUZZ
@given(
    events=st.lists(event_like, max_size=5),
    extra=st.dictionaries(st.sampled_from(["v", "batch_id", "sent_at", "tags", "dropped", "release"]), json_values),
)
def test_batches_close_to_valid(http, collector, demo_project, events, extra):
    body = {"v": 1, "batch_id": "b", "sent_at": 1, "events": events, **extra}
    send(http, collector, demo_project, "events", json.dumps(body).encode(), content_type="text/plain")


item_types = st.sampled_from(["event", "session", "sessions", "client_report", "transaction", "attachment", "", "x"])


@FUZZ
@given(
    header=json_values,
    items=st.lists(
        st.tuples(item_types, st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=50)),
                  st.one_of(st.none(), st.integers(min_value=-5, max_value=200))),
        max_size=4,
    ),
)  # fmt: skip
def test_envelopes(http, collector, demo_project, header, items):
    lines = [json.dumps(header).encode()]
    for item_type, payload, length in items:
        item_header: dict[str, object] = {"type": item_type}
        if length is not None:
            item_header["length"] = length
        lines += [json.dumps(item_header).encode(), payload]
    send(http, collector, demo_project, "envelope/", b"\n".join(lines))


header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=300).map(str.strip)


@FUZZ
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    query=st.dictionaries(
        st.sampled_from(["key", "sentry_key", "sentry_version", "sentry_client", "x", ""]), header_values, max_size=4
    ),
    headers=st.dictionaries(
        st.sampled_from(["Origin", "X-Sentry-Auth", "User-Agent", "Content-Type", "Content-Encoding", "Referer",
                         "X-Forwarded-For", "CF-IPCountry", "Accept"]),
        header_values, max_size=5,
    ),
    valid_body=st.booleans(),
)  # fmt: skip
def test_arbitrary_query_and_headers(http, collector, demo_project, endpoint, query, headers, valid_body):
    """Keys, auth headers, origins and encodings of any shape: a documented answer, never a 5xx or a hang."""
    body = json.dumps({"v": 1, "batch_id": "b", "sent_at": 1, "events": []}).encode() if valid_body else b"{}"
    response = http.post(f"{collector.url}/api/{demo_project.id}/{endpoint}", params=query, content=body,
                         headers=headers)  # fmt: skip
    assert response.status_code in DOCUMENTED, (endpoint, query, headers, response.status_code, response.text[:200])
    if response.status_code >= 400:
        assert "\n" not in response.json()["error"]
