"""``POST /api/{project_id}/envelope/`` and ``POST /api/{project_id}/store/``, as Sentry's SDKs call them.

Both answer ``200 {"id": event_id}``. Refusals carry ``X-Sentry-Error`` (the reason) and,
for 429, ``X-Sentry-Rate-Limits`` so the SDKs back off as they would from Sentry.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec

from collector.asgi import Headers, Request
from collector.decompress import BadEncoding, UnknownEncoding, decompress_prefix
from collector.ingest import Context, Parsed
from collector.refused import Refused
from collector.sentry import schema
from collector.sentry.auth import authenticate, dsn_parts
from collector.sentry.convert import (
    aggregate_rows,
    drop_rows,
    hashed_user,
    kept_request,
    session_rows,
    user_address,
)
from collector.sentry.envelope import MAX_HEADER_BYTES, EnvelopeError, Item, parse_envelope, parse_header
from collector.state import State
from contracts.beacon import MAX_ID, cut
from contracts.projects import Project
from contracts.sentry import to_ms
from contracts.stream import (
    EVENTS_STREAM,
    SENTRY_STREAM,
    DropRow,
    SentryEntry,
    SentryEventEntry,
    SessionRow,
    encode_record,
)

_encode = msgspec.json.Encoder().encode
#: Item types that are stored; others (attachments, transactions, replays…) are counted as skipped.
STORED = {"event", "session", "sessions", "client_report"}


def _refusal_headers(refused: Refused) -> Headers:
    headers = [(b"x-sentry-error", refused.reason[:200].encode("latin-1", "replace"))]
    if refused.status == 429 and refused.retry_after is not None:
        seconds = max(1, min(60, int(refused.retry_after + 0.999)))
        headers.append((b"x-sentry-rate-limits", f"{seconds}::project".encode()))
    return headers


def _event_entry(
    payload: bytes, n: int, header_event_id: str, context: Context, sent_at: int | None = None
) -> tuple[bytes, str]:
    """An ``event`` item as an entry of the events stream, and its event id.

    Only the event's top level is decoded (each field's JSON checked, not built), and of it
    the id, the user and the request: the user's id is keyed with the project's secret and
    its address anonymized here, and the user and the request's secrets are left out of what
    is queued. Analytics converts the rest in its workers; a field of the wrong type there
    is counted as an ``invalid`` outcome.
    """
    try:
        fields = schema.event_fields_decoder.decode(payload)
        found_id = schema.event_id_decoder.decode(fields["event_id"]) if "event_id" in fields else None
        user = schema.user_decoder.decode(fields.pop("user")) if "user" in fields else None
        if "request" in fields:
            fields["request"] = msgspec.Raw(_encode(kept_request(schema.request_decoder.decode(fields["request"]))))
    except (msgspec.DecodeError, RecursionError) as e:
        raise Refused(400, f"item {n} (event) is not a valid event: {e}", "invalid", "sentry_event") from None
    event_id = cut(found_id or header_event_id or secrets.token_hex(16), MAX_ID)
    project = context.project
    entry = SentryEventEntry(
        project_id=project.id,
        project=project.name,
        received_at=context.received_at,
        event_id=event_id,
        user_agent=context.user_agent,
        event=msgspec.Raw(_encode(fields)),
        sent_at=sent_at,
        user_id=hashed_user(project.secret_token, user),
        client_ip=user_address(user, context.client_ip, project.store_ip),
        country=context.country,
    )
    return encode_record(entry), event_id


def _items(items: list[Item], header: dict[str, Any], context: Context) -> Parsed:
    header_event_id = header.get("event_id") if isinstance(header.get("event_id"), str) else ""
    entries: list[tuple[str, bytes]] = []
    sessions: list[SessionRow] = []
    drops: list[DropRow] = []
    skipped: dict[str, int] = {}
    event_id: str | None = header_event_id or None
    raw_sent_at = header.get("sent_at")
    sent_at = to_ms(raw_sent_at, context.received_at) if isinstance(raw_sent_at, str | int | float) else None
    stored = 0
    for n, item in enumerate(items):
        try:
            if item.type == "event":
                entry, event_id = _event_entry(item.payload, n, header_event_id or "", context, sent_at)
                entries.append((EVENTS_STREAM, entry))
            elif item.type == "session":
                sessions.extend(session_rows(schema.session_decoder.decode(item.payload), context.received_at))
            elif item.type == "sessions":
                sessions.extend(aggregate_rows(schema.sessions_decoder.decode(item.payload), context.received_at))
            elif item.type == "client_report":
                drops.extend(drop_rows(schema.client_report_decoder.decode(item.payload)))
            else:
                key = f"sentry_{item.type or 'untyped'}"[:64]
                skipped[key] = skipped.get(key, 0) + 1
                continue
        except (msgspec.DecodeError, RecursionError) as e:
            raise Refused(400, f"item {n} ({item.type}) is not valid: {e}", "invalid", "sentry_item") from None
        stored += 1
    if sessions or drops:  # most envelopes hold one event and neither
        sdk = header.get("sdk")
        sentry = SentryEntry(
            id=secrets.token_hex(16), project_id=context.project.id, project=context.project.name,
            received_at=context.received_at, sdk=str(sdk.get("name", ""))[:64] if isinstance(sdk, dict) else "",
            sessions=sessions, drops=drops,
        )  # fmt: skip
        entries.append((SENTRY_STREAM, encode_record(sentry)))
    return Parsed(entries, stored, skipped, {"id": event_id})


class EnvelopeEndpoint:
    name = "envelope"
    status = 200
    body_authenticates = True

    def authenticate(self, state: State, request: Request, project_id: int) -> Project | None:
        # A DSN in the envelope's header must agree too; that is checked once the body is read.
        if request.query("sentry_key") or request.header(b"x-sentry-auth"):
            return authenticate(state, request, project_id)
        return None

    def authenticate_body(self, state: State, request: Request, project_id: int, raw: bytes) -> Project | None:
        """The DSN of the envelope's header line: only that line is decoded and parsed, before anything else."""
        try:
            head = decompress_prefix(raw, request.header(b"content-encoding"), MAX_HEADER_BYTES + 1)
            header = parse_header(head.split(b"\n", 1)[0])
        except (BadEncoding, UnknownEncoding, EnvelopeError):
            return None
        return authenticate(state, request, project_id, header)

    def parse(self, body: bytes, context: Context) -> Parsed:
        try:
            header, items = parse_envelope(body, context.max_event_bytes)
        except EnvelopeError as e:
            raise Refused(400, f"invalid envelope: {e}", "invalid", "envelope") from None
        dsn = header.get("dsn")
        if isinstance(dsn, str) and dsn:
            parts = dsn_parts(dsn)
            if parts != (context.project.public_key, str(context.project.id)):
                raise Refused(403, "the envelope's DSN does not match the project or key", "forbidden", "dsn")
        return _items(items, header, context)

    def refusal_headers(self, refused: Refused) -> Headers:
        return _refusal_headers(refused)


class StoreEndpoint:
    """The older single-event endpoint (``/store/``): the body is one event."""

    name = "store"
    status = 200
    body_authenticates = False

    def authenticate(self, state: State, request: Request, project_id: int) -> Project | None:
        return authenticate(state, request, project_id)

    def authenticate_body(self, state: State, request: Request, project_id: int, raw: bytes) -> Project | None:
        return None

    def parse(self, body: bytes, context: Context) -> Parsed:
        if len(body) > context.max_event_bytes:
            raise Refused(413, f"event is larger than {context.max_event_bytes} bytes", "too_large", "event")
        return _items([Item("event", body)], {}, context)

    def refusal_headers(self, refused: Refused) -> Headers:
        return _refusal_headers(refused)
