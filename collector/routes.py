"""The collector's other endpoints (not ingest): preflight, the beacon's scripts, health and readiness.

The ingest endpoints themselves are on the plain-ASGI hot path (``collector/ingest.py``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector import probes
from collector.cluster import REDIS_ERRORS
from collector.cors import preflight
from collector.metrics import metrics
from collector.responses import json_response
from collector.scripts import FILES, serve_script
from collector.sentry import api as sentry_api
from collector.sourcemaps import upload
from collector.state import State


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
    except REDIS_ERRORS:
        return json_response(503, {"status": "redis unreachable"}, {"Retry-After": "5"})
    return json_response(200, {"status": "ok"})


routes = [
    *sentry_api.routes,  # /api/0/…: Sentry's upload API, for sentry-cli and the bundler plugins
    Route("/metrics", metrics, methods=["GET"]),
    Route("/api/{project_id:int}/sourcemaps", upload, methods=["POST"]),
    Route("/api/{project_id:int}/probes", probes.receive, methods=["POST"]),
    Route("/api/{project_id:int}/probes/config", probes.config, methods=["GET"]),
    Route("/api/{project_id:int}/{endpoint}", events_preflight, methods=["OPTIONS"]),
    Route("/api/{project_id:int}/{endpoint}/", events_preflight, methods=["OPTIONS"]),
    *(Route(path, serve_script, methods=["GET", "HEAD"]) for path in FILES),
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
]
