"""The beacon's events endpoint, on the plain-ASGI hot path.

``POST /api/{project_id}/events?key=…`` (docs/protocol.md): authenticate, check the
origin, read and decode the body, queue one stream entry, answer 202. Each step that
refuses answers at once with its status and a one-line reason.
"""

from __future__ import annotations

import time

from starlette.types import Receive, Scope, Send

from collector.asgi import BodyTooLarge, ClientGone, Headers, Request, refuse, respond
from collector.cors import allowed_origin, cors_headers
from collector.decompress import BadEncoding, TooLarge, UnknownEncoding, decompress
from collector.enqueue import EnqueueFailed
from collector.schema import InvalidBatch, decode_batch
from collector.state import State
from collector.stream import StreamEntry, encode_entry

MAX_USER_AGENT = 512
MAX_KEY = 128
RETRY_AFTER_SECONDS = "5"
BACKLOG_RETRY_AFTER = b"30"


def _raw(headers: dict[str, str]) -> Headers:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


async def events(scope: Scope, receive: Receive, send: Send, project_id: int) -> None:
    state: State = scope["state"]["vigil"]
    request = Request(scope, receive)
    origin = request.headers.get(b"origin")
    origin_text = origin.decode("latin-1") if origin is not None else None
    # Even refusals carry CORS headers: a browser sender must see the 403 (and stop
    # retrying) rather than an opaque network error.
    headers = _raw(cors_headers(origin_text))
    key = request.query("key")
    project = state.registry.authenticate(project_id, key) if len(key) <= MAX_KEY else None
    if project is None:
        return await refuse(send, 403, "unknown project or key", headers)
    if not allowed_origin(project, origin_text):
        return await refuse(send, 403, "origin not allowed for this project", headers)
    if state.backlog.over:
        reason = "analytics is behind, retry later"
        return await refuse(send, 503, reason, [*headers, (b"retry-after", BACKLOG_RETRY_AFTER)])
    settings = state.settings
    try:
        body = await request.body(settings.max_body_bytes)
        encoding = request.header(b"content-encoding")
        if encoding:
            body = decompress(body, encoding, settings.max_decompressed_bytes)
        decoded = decode_batch(body)
    except (BodyTooLarge, TooLarge) as e:
        return await refuse(send, 413, str(e), headers)
    except UnknownEncoding as e:
        return await refuse(send, 415, str(e), headers)
    except (InvalidBatch, BadEncoding) as e:
        return await refuse(send, 400, str(e), headers)
    except ClientGone:
        return None
    entry = StreamEntry(
        project_id=project.id,
        project=project.name,
        received_at=time.time_ns() // 1_000_000,
        user_agent=request.header(b"user-agent")[:MAX_USER_AGENT],
        batch=decoded.batch,
    )
    try:
        await state.enqueuer.put(encode_entry(entry, decoded.raw))
    except EnqueueFailed:
        return await refuse(send, 503, "queue unavailable, retry later", [*headers, (b"retry-after", b"5")])
    answer: dict[str, object] = {"accepted": len(decoded.batch.events)}
    if decoded.skipped:
        answer["skipped"] = decoded.skipped
    await respond(send, 202, answer, headers)
