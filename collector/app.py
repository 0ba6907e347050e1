"""The collector's ASGI application: open Redis and the projects at start, close them at stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from collector.backlog import Backlog
from collector.enqueue import Enqueuer
from collector.ingest import events
from collector.projects import ProjectRegistry
from collector.responses import error
from collector.routes import routes
from collector.scripts import DIST, load_scripts
from collector.settings import CollectorSettings
from collector.spool import Spool
from collector.state import State
from collector.stream import EVENTS_STREAM
from vigil.config import ConfigError, data_dir_from_env, load

log = logging.getLogger("vigil.collector")


def redis_client(url: str) -> aioredis.Redis:
    """A client that fails fast when Redis is away, so a request answers 503 instead of hanging."""
    return aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=1.0, health_check_interval=10)


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


def create_app(settings: CollectorSettings) -> ASGIApp:
    if not settings.redis_url:
        raise ConfigError("no Redis configured: set VIGIL_REDIS_URL (vigil up sets it for its own redis-server)")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, State]]:
        registry = ProjectRegistry(settings.data_dir)
        client = redis_client(settings.redis_url)
        scripts = load_scripts(Path(settings.scripts_dir) if settings.scripts_dir else DIST)
        backlog = Backlog(client, EVENTS_STREAM, settings.max_backlog)
        watchers = [
            asyncio.create_task(_watch_projects(registry, settings.project_reload_seconds)),
            asyncio.create_task(backlog.watch()),
        ]
        try:
            spool = Spool(settings.data_dir / "spool", settings.spool_max_bytes) if settings.spool_max_bytes else None
            try:
                async with Enqueuer(client, spool, spool_after=settings.spool_after_ms / 1000) as enqueuer:
                    yield {"vigil": State(settings, registry, client, enqueuer, scripts, backlog)}
            finally:
                if spool is not None:
                    spool.close()
        finally:
            for watcher in watchers:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await client.aclose()

    framework = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        """Ingest POSTs go straight to their handler; everything else (and the lifespan) to Starlette."""
        if scope["type"] == "http" and scope["method"] == "POST":
            project_id = _ingest_project(scope["path"])
            if project_id is not None:
                return await events(scope, receive, send, project_id)
        await framework(scope, receive, send)

    return app


def _ingest_project(path: str) -> int | None:
    """The project id of ``/api/{digits}/events``, else ``None``."""
    parts = path.split("/")
    if (
        len(parts) == 4
        and parts[1] == "api"
        and parts[3] == "events"
        and parts[2].isascii()
        and parts[2].isdigit()
        and len(parts[2]) < 11
    ):
        return int(parts[2])
    return None


async def http_error(request: Request, exc: Exception) -> Response:
    """404, 405 and the like as JSON with a one-line reason, like every other answer."""
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, exc.detail, dict(exc.headers or {}))


def app_from_env() -> ASGIApp:
    """uvicorn factory: settings from ``VIGIL_*`` and the data directory's ``vigil.toml``."""
    return create_app(load(CollectorSettings, "collector", data_dir_from_env()))
