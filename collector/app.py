"""The collector's ASGI application: a dispatcher in front of the ingest endpoints and a Starlette app.

Ingest requests (``POST /api/{project_id}/{endpoint}``) go straight to the plain-ASGI
steps in ``collector/ingest.py``; everything else, the lifespan included, to Starlette.
The lifespan opens Redis, the projects, the spool and the background tasks, and closes
them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from collector import metrics
from collector.backlog import Backlog
from collector.beacon import BeaconEndpoint
from collector.cluster import REDIS_ERRORS, ReplicatedWriter, cluster_client
from collector.enqueue import Enqueuer
from collector.ingest import Endpoint, ingest
from collector.outcomes import Outcomes
from collector.reporting.endpoint import ReportsEndpoint
from collector.responses import error
from collector.routes import routes
from collector.scripts import DIST, load_scripts
from collector.sentry.endpoints import EnvelopeEndpoint, StoreEndpoint
from collector.settings import CollectorSettings
from collector.spool import import_segments
from collector.state import Limits, State
from contracts import runfiles
from contracts.projects import ProjectRegistry
from contracts.settings import ConfigError, data_dir_from_env, load
from contracts.spool import Spool
from contracts.stream import EVENTS_STREAM, LAYOUT_KEY, Streams, check_layout, cluster_nodes

log = logging.getLogger("vigil.collector")

#: The last path segment of ``/api/{project_id}/…`` → its endpoint.
ENDPOINTS: dict[str, Endpoint] = {
    "events": BeaconEndpoint(),
    "envelope": EnvelopeEndpoint(),
    "store": StoreEndpoint(),
    "reports": ReportsEndpoint(),
}


#: A client that fails fast when Redis is away, so requests go to the spool instead of hanging.
CLIENT_OPTIONS: dict[str, Any] = {"socket_timeout": 2.0, "socket_connect_timeout": 1.0, "health_check_interval": 10}


def redis_client(url: str) -> aioredis.Redis | aioredis.RedisCluster:
    """The client of one Redis, or of a Redis Cluster for a ``redis+cluster://`` URL."""
    nodes = cluster_nodes(url)
    if nodes is not None:
        return cluster_client(nodes, **CLIENT_OPTIONS)
    return aioredis.Redis.from_url(url, **CLIENT_OPTIONS)


async def _watch_projects(registry: ProjectRegistry, every: float) -> None:
    """Pick up projects created or changed while the collector runs."""
    while True:
        await asyncio.sleep(every)
        try:
            if registry.reload():
                log.info("projects reloaded: %d", len(registry.projects))
        except ConfigError as e:
            log.error("keeping the projects already loaded: %s", e)
        except Exception:
            # Never let the watcher die: a later fix of the file must still be picked up.
            log.exception("keeping the projects already loaded: unexpected error reading them")


async def _update_gauges(enqueuer: Enqueuer, backlog: Backlog) -> None:
    """Each second: the counts requests gathered, the spool's depth and the stream's backlog."""
    while True:
        metrics.fold()
        metrics.SPOOLED.set(enqueuer.spooled)
        metrics.BACKLOG.set(backlog.length)
        await asyncio.sleep(1.0)


def create_app(settings: CollectorSettings) -> ASGIApp:
    if not settings.redis_url:
        raise ConfigError("no Redis configured: set VIGIL_REDIS_URL (vigil up sets it for its own redis-server)")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, State]]:
        registry = ProjectRegistry(settings.data_dir)
        client = redis_client(settings.redis_url)
        streams = Streams.of(settings.stream_shards, settings.redis_url)
        writer = None
        if isinstance(client, aioredis.RedisCluster):
            writer = ReplicatedWriter(client, settings.redis_replicas, **CLIENT_OPTIONS)
        with contextlib.suppress(*REDIS_ERRORS):  # Redis away at start: the spool takes the entries meanwhile
            await client.set(LAYOUT_KEY, streams.layout, nx=True)
            check_layout(streams, await client.get(LAYOUT_KEY))
        scripts = load_scripts(Path(settings.scripts_dir) if settings.scripts_dir else DIST)
        events = [streams.name(EVENTS_STREAM, shard) for shard in range(streams.shards)]
        backlog = Backlog(client, events, settings.max_backlog, settings.max_backlog_bytes)
        outcomes = Outcomes(client, settings.outcomes_flush_seconds, streams)
        spool = Spool(settings.data_dir / "spool", settings.spool_max_bytes) if settings.spool_max_bytes else None
        if spool is not None:
            import_segments(spool.directory, spool)
        tasks: list[asyncio.Task[None]] = []
        try:
            spool_after = settings.spool_after_ms / 1000
            async with Enqueuer(client, spool, spool_after=spool_after, streams=streams, writer=writer) as enqueuer:
                tasks = [
                    asyncio.create_task(_watch_projects(registry, settings.project_reload_seconds)),
                    asyncio.create_task(backlog.watch()),
                    asyncio.create_task(outcomes.run()),
                    asyncio.create_task(_update_gauges(enqueuer, backlog)),
                ]
                limits = Limits.from_settings(settings)
                # Where browsers reach this collector, for `vigil project create` (its script tag and DSN).
                runfiles.write(settings.data_dir, "collector", {"url": settings.url})
                yield {"vigil": State(settings, registry, client, enqueuer, scripts, backlog, outcomes, limits)}
                # Stop: the tasks first (the outcome counter flushes its last counts), then the enqueuer.
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            metrics.fold()  # the last second's counts (the files outlive a worker with several)
        finally:
            runfiles.remove_own(settings.data_dir, "collector")
            for task in tasks:
                task.cancel()
            if spool is not None:
                spool.close()
            if writer is not None:
                await writer.aclose()
            await client.aclose()

    framework = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        """Ingest POSTs go straight to their endpoint; everything else (and the lifespan) to Starlette."""
        if scope["type"] == "http" and scope["method"] == "POST":
            route = ingest_route(scope["path"])
            if route is not None:
                return await ingest(scope, receive, send, route[0], route[1])
        await framework(scope, receive, send)

    return app


def ingest_route(path: str) -> tuple[int, Endpoint] | None:
    """``(project id, endpoint)`` for ``/api/{digits}/{endpoint}`` (a trailing slash allowed), else ``None``."""
    parts = path.rstrip("/").split("/")
    if len(parts) != 4 or parts[1] != "api":
        return None
    endpoint = ENDPOINTS.get(parts[3])
    digits = parts[2]
    if endpoint is None or not (digits.isascii() and digits.isdigit() and len(digits) < 11):
        return None
    return int(digits), endpoint


async def http_error(request: Request, exc: Exception) -> Response:
    """404, 405 and the like as JSON with a one-line reason, like every other answer."""
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, exc.detail, dict(exc.headers or {}))


def app_from_env() -> ASGIApp:
    """uvicorn factory: settings from ``VIGIL_*`` and the data directory's ``vigil.toml``."""
    app = create_app(load(CollectorSettings, "collector", data_dir_from_env()))
    # Each request allocates many short-lived objects and no reference cycles: the young
    # generation's default threshold (700) runs the collector every few requests. Move the
    # long-lived start-up objects out of its way and let it run less often.
    gc.freeze()
    gc.set_threshold(20_000, 50, 50)
    return app
