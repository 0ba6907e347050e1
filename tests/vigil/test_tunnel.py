"""The WSGI tunnel a site mounts on its own origin, forwarding envelopes to a real collector; and what it refuses."""

from __future__ import annotations

import io
import json

from contracts.stream import EVENTS_STREAM
from vigil.tunnel import MAX_ENVELOPE, wsgi_tunnel


def call(app, body: bytes, method: str = "POST") -> tuple[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    environ = {"REQUEST_METHOD": method, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               "CONTENT_TYPE": "text/plain;charset=UTF-8", "HTTP_USER_AGENT": "Mozilla/5.0",
               "REMOTE_ADDR": "203.0.113.9"}  # fmt: skip
    answer = b"".join(app(environ, start_response))
    return seen["status"], json.loads(answer)


def envelope(dsn: str, event_id: str = "e" * 32) -> bytes:
    event = {"event_id": event_id, "exception": {"values": [{"type": "Error", "value": "boom"}]}}
    return "\n".join([json.dumps({"event_id": event_id, "dsn": dsn}), json.dumps({"type": "event"}),
                      json.dumps(event)]).encode()  # fmt: skip


def test_an_envelope_for_the_configured_project_is_forwarded(collector, demo_project, redis_client):
    dsn = collector.url.replace("http://", f"http://{demo_project.public_key}@") + f"/{demo_project.id}"
    app = wsgi_tunnel(collector.url, projects=[demo_project.id])

    status, answer = call(app, envelope(dsn))

    assert (status, answer) == ("200 OK", {"id": "e" * 32})
    assert redis_client.xlen(EVENTS_STREAM) == 1


def test_it_is_not_an_open_proxy(collector, demo_project):
    app = wsgi_tunnel(collector.url, projects=[demo_project.id])
    elsewhere = f"https://{demo_project.public_key}@sentry.example/{demo_project.id}"
    other_project = collector.url.replace("http://", "http://key@") + "/999"

    for body in (envelope(elsewhere), envelope(other_project), b"not an envelope"):
        status, answer = call(app, body)
        assert status.startswith("400")
        assert "DSN" in str(answer["error"])
    assert call(app, b"", method="GET")[0].startswith("405")
    statuses: list[str] = []
    for length in (str(MAX_ENVELOPE + 1), "-1", "many"):
        environ = {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": length, "wsgi.input": io.BytesIO(b"")}
        app(environ, lambda status, headers: statuses.append(status))
    assert [s[:3] for s in statuses] == ["413", "400", "400"]
