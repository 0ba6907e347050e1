"""The steps every ingest endpoint takes, on the plain-ASGI hot path.

    address limit → authenticate → origin → backlog → body → decompress → parse
    → project limit → spike protection → queue → answer

Each protocol (the beacon's events, Sentry envelopes, the browser's Reporting API)
supplies what differs: how a sender proves its project, how a body becomes stream
entries, how answers look. A step that refuses raises ``Refused`` with its status, a
one-line reason and the outcome it counts; every request ends in exactly one answer and
its events in exactly one outcome.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import time
from typing import Any, Protocol

from starlette.types import Receive, Scope, Send

from collector import metrics
from collector.anonymize import anonymize_ip
from collector.asgi import BodyTooLarge, ClientGone, Headers, Request, respond
from collector.cors import allowed_origin, cors_headers
from collector.enqueue import EnqueueFailed
from collector.refused import Refused, decoded
from collector.state import State
from contracts.projects import Project

log = logging.getLogger("vigil.collector")

MAX_USER_AGENT = 512
QUEUE_RETRY_AFTER = 5
#: A wait that long (or a batch that can never fit a project's burst) is told as this many seconds.
MAX_RETRY_AFTER = 60
BACKLOG_RETRY_AFTER = 30


@dataclasses.dataclass
class Context:
    """What every protocol's parser gets besides the body."""

    project: Project
    request: Request
    received_at: int  # ms since the epoch
    user_agent: str
    client_ip: str  # anonymized unless the project keeps addresses
    max_event_bytes: int
    country: str = ""  # from the trusted CDN header, when one is configured


@dataclasses.dataclass
class Parsed:
    """A body turned into stream entries."""

    entries: list[tuple[str, bytes]]  # (stream, entry)
    events: int
    # Events or items this collector does not store, by kind (counted as outcome "skipped").
    skipped: dict[str, int] = dataclasses.field(default_factory=dict)
    answer: dict[str, Any] = dataclasses.field(default_factory=dict)


class Endpoint(Protocol):
    name: str
    status: int  # the status of an accepted request
    #: Whether a sender may prove its project inside the body (a Sentry envelope's DSN).
    body_authenticates: bool

    def authenticate(self, state: State, request: Request, project_id: int) -> Project | None: ...

    def authenticate_body(self, state: State, request: Request, project_id: int, raw: bytes) -> Project | None:
        """The project proven inside the body as sent (still compressed); only what proves it is read."""

    def parse(self, body: bytes, context: Context) -> Parsed: ...

    def refusal_headers(self, refused: Refused) -> Headers: ...


COUNTRY = re.compile(r"[A-Z]{2}")
#: Codes CDNs send for "unknown" and "Tor exit node": no country.
NOT_A_COUNTRY = frozenset({"XX", "T1"})


def country(request: Request, header: str) -> str:
    """The client's country from the configured CDN header: two capital letters, or ``""``."""
    if not header:
        return ""
    value = request.header(header.lower().encode("latin-1"))[:8].strip().upper()
    return value if COUNTRY.fullmatch(value) and value not in NOT_A_COUNTRY else ""


async def ingest(scope: Scope, receive: Receive, send: Send, project_id: int, endpoint: Endpoint) -> None:
    state: State = scope["state"]["vigil"]
    request = Request(scope, receive)
    origin = request.headers.get(b"origin")
    origin_text = origin.decode("latin-1") if origin is not None else None
    # Even refusals carry CORS headers: a browser sender must see the status (and stop
    # retrying) rather than an opaque network error.
    headers = [(k.lower().encode(), v.encode()) for k, v in cors_headers(origin_text).items()]
    try:
        status, answer = await _steps(state, request, project_id, endpoint, origin_text)
    except Refused as refused:
        status, answer = refused.status, {"error": " ".join(refused.reason.split())[:300]}
        project = refused.project
        unit = "event" if refused.events else "request"
        state.outcomes.count(
            project.id if project else 0, project.name if project else "", refused.outcome, refused.why,
            refused.events or 1, unit,
        )  # fmt: skip
        if refused.retry_after is not None:
            seconds = max(1, math.ceil(min(refused.retry_after, MAX_RETRY_AFTER)))
            headers.append((b"retry-after", str(seconds).encode()))
        headers.extend(endpoint.refusal_headers(refused))
    except ClientGone:
        return
    except Exception:
        # A bug, not the client's fault: logged with its trace, answered without one.
        log.exception("ingest failed")
        status, answer = 500, {"error": "internal error"}
    metrics.add(metrics.REQUESTS, (endpoint.name, str(status)))
    await respond(send, status, answer, headers)


async def _read_raw(state: State, request: Request, endpoint: Endpoint) -> bytes:
    """The body as sent (compressed or not), within ``max_body_bytes``."""
    try:
        raw = await request.body(state.settings.max_body_bytes)
    except BodyTooLarge as e:
        raise Refused(413, str(e), "too_large", "body") from None
    metrics.add(metrics.BYTES, (endpoint.name,), len(raw))
    return raw


async def _steps(
    state: State, request: Request, project_id: int, endpoint: Endpoint, origin: str | None
) -> tuple[int, dict[str, Any]]:
    limits = state.limits
    host = request.client_host
    wait = limits.per_address.take(host)
    if wait:
        raise Refused(429, "too many requests from this address", "rate_limited", "address", wait)
    project = endpoint.authenticate(state, request, project_id)
    raw: bytes | None = None
    if project is None and endpoint.body_authenticates:
        # Some senders prove their project only inside the body (a Sentry envelope's DSN):
        # the endpoint reads just that part; the rest is decoded once the sender is known.
        raw = await _read_raw(state, request, endpoint)
        project = endpoint.authenticate_body(state, request, project_id, raw)
    if project is None:
        raise Refused(403, "unknown project or key", "forbidden", "unknown_key")
    try:
        if not allowed_origin(project, origin):
            raise Refused(403, "origin not allowed for this project", "forbidden", "origin")
        if state.backlog.over:
            raise Refused(503, "analytics is behind, retry later", "unavailable", "backlog", BACKLOG_RETRY_AFTER)
        if raw is None:
            raw = await _read_raw(state, request, endpoint)
        body = decoded(raw, request.header(b"content-encoding"), state.settings.max_decompressed_bytes)
        context = Context(
            project=project,
            request=request,
            received_at=time.time_ns() // 1_000_000,
            user_agent=request.header(b"user-agent")[:MAX_USER_AGENT],
            client_ip=host if project.store_ip else anonymize_ip(host),
            max_event_bytes=state.settings.max_event_bytes,
            country=country(request, state.settings.country_header),
        )
        parsed = endpoint.parse(body, context)
        wait = limits.per_project.take(project.id, parsed.events)
        if wait:
            why = "project"
            raise Refused(429, "this project is over its rate limit", "rate_limited", why, wait, parsed.events)
        if parsed.events and not limits.spikes.admit(project.id, parsed.events):
            state.outcomes.count(project.id, project.name, "spike_sampled", "spike", parsed.events)
            return endpoint.status, {**parsed.answer, "sampled_out": parsed.events}
        for stream, entry in parsed.entries:
            await state.enqueuer.put(entry, stream, project.id)
    except EnqueueFailed:
        raise Refused(503, "queue unavailable, retry later", "unavailable", "queue", QUEUE_RETRY_AFTER) from None
    except Refused as refused:
        refused.project = project
        raise
    state.outcomes.count(project.id, project.name, "accepted", endpoint.name, parsed.events)
    for why, count in parsed.skipped.items():
        state.outcomes.count(project.id, project.name, "skipped", why, count)
    return endpoint.status, parsed.answer
