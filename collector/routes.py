"""The collector's endpoints: the beacon's events, the beacon's scripts, health and readiness."""

from __future__ import annotations

import dataclasses
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.body import BodyTooLarge, read_body
from collector.cors import allowed_origin, cors_headers, preflight
from collector.enqueue import EnqueueFailed, Enqueuer
from collector.projects import ProjectRegistry
from collector.responses import error, json_response
from collector.schema import InvalidBatch, decode_batch
from collector.scripts import FILES, Script, serve_script
from collector.settings import CollectorSettings
from collector.stream import StreamEntry, encode_entry

MAX_USER_AGENT = 512
MAX_KEY = 128
RETRY_AFTER_SECONDS = "5"


@dataclasses.dataclass
class State:
    """What the lifespan opens and every request reads (``request.state``)."""

    settings: CollectorSettings
    registry: ProjectRegistry
    redis: aioredis.Redis
    enqueuer: Enqueuer
    scripts: dict[str, Script]


async def events(request: Request) -> Response:
    """``POST /api/{project_id}/events?key=…``: one batch from the beacon (docs/protocol.md)."""
    state: State = request.state.vigil
    origin = request.headers.get("origin")
    key = request.query_params.get("key", "")
    project = state.registry.authenticate(request.path_params["project_id"], key) if len(key) <= MAX_KEY else None
    # Even refusals carry CORS headers: a browser sender must see the 403 (and stop
    # retrying) rather than an opaque network error.
    headers = cors_headers(origin)
    if project is None:
        return error(403, "unknown project or key", headers)
    if not allowed_origin(project, origin):
        return error(403, "origin not allowed for this project", headers)
    try:
        body = await read_body(request, state.settings.max_body_bytes)
        decoded = decode_batch(body)
    except BodyTooLarge as e:
        return error(413, str(e), headers)
    except InvalidBatch as e:
        return error(400, str(e), headers)
    entry = StreamEntry(
        project_id=project.id,
        project=project.name,
        received_at=time.time_ns() // 1_000_000,
        user_agent=request.headers.get("user-agent", "")[:MAX_USER_AGENT],
        batch=decoded.batch,
    )
    try:
        await state.enqueuer.put(encode_entry(entry))
    except EnqueueFailed:
        return error(503, "queue unavailable, retry later", {**headers, "Retry-After": RETRY_AFTER_SECONDS})
    answer: dict[str, object] = {"accepted": len(decoded.batch.events)}
    if decoded.skipped:
        answer["skipped"] = decoded.skipped
    return json_response(202, answer, headers)


async def events_preflight(request: Request) -> Response:
    state: State = request.state.vigil
    project = state.registry.projects.get(request.path_params["project_id"])
    return preflight(project, request.headers.get("origin"))


async def healthz(request: Request) -> Response:
    """The process is alive."""
    return json_response(200, {"status": "ok"})


async def readyz(request: Request) -> Response:
    """The process can take events: Redis answers."""
    state: State = request.state.vigil
    try:
        await state.redis.ping()
    except (RedisError, OSError):
        return json_response(503, {"status": "redis unreachable"}, {"Retry-After": RETRY_AFTER_SECONDS})
    return json_response(200, {"status": "ok"})


routes = [
    Route("/api/{project_id:int}/events", events, methods=["POST"]),
    Route("/api/{project_id:int}/events", events_preflight, methods=["OPTIONS"]),
    *(Route(path, serve_script, methods=["GET", "HEAD"]) for path in FILES),
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
]
